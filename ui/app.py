"""The browser chat: ``zhiyi serve`` → ``serve(settings)``.

Made for weak PCs on a clinic LAN with no internet: no analytics, no web fonts (system
fonts only), no external JS/CSS, one light ``gr.HTML`` area for the conversation (the
answers are our own escaped HTML, see ``ui.render``) instead of the heavier Chatbot.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

# Must be set before gradio is imported: gradio reads it at import and at Blocks().
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import gradio as gr  # noqa: E402

from assistant.config import Settings  # noqa: E402
from assistant.models import CATEGORY_LABELS  # noqa: E402
from assistant.pipeline import Assistant, IndexMissing, IndexUnavailable  # noqa: E402
from ui import render, texts  # noqa: E402
from ui.admin import UPLOAD_TYPES, Admin, safe_name  # noqa: E402
from ui.feedback import FeedbackStore  # noqa: E402

log = logging.getLogger("zhiyi.ui")

# System fonts only: a plain string is a font-family name, never a download.
SANS_FONTS = [
    "Microsoft YaHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Arial",
    "sans-serif",
]
MONO_FONTS = ["Consolas", "Menlo", "DejaVu Sans Mono", "monospace"]

# Larger than Gradio's defaults: Chinese characters need the size to be read comfortably.
TEXT_SIZE = gr.themes.Size(
    name="zhiyi_text", xxs="12px", xs="13px", sm="15px", md="18px", lg="20px", xl="24px", xxl="30px"
)


def make_theme() -> gr.themes.Base:
    theme = gr.themes.Default(
        primary_hue="teal",
        neutral_hue="slate",
        text_size=TEXT_SIZE,
        font=SANS_FONTS,
        font_mono=MONO_FONTS,
    )
    # Darker primary buttons: white on teal-500 is hard to read on a dim clinic screen.
    return theme.set(
        button_primary_background_fill="*primary_700",
        button_primary_background_fill_hover="*primary_800",
        button_primary_text_color="white",
        button_primary_background_fill_dark="*primary_600",
        button_primary_background_fill_hover_dark="*primary_700",
    )


CSS = """
.gradio-container { max-width: 1100px !important; margin: 0 auto !important; }
#zy-header h1 { font-size: 28px; margin: 4px 0 2px; }
#zy-header p { margin: 0; color: var(--body-text-color-subdued); font-size: 16px; }
#zy-header .zy-header-disclaimer { color: #9a3412; font-weight: 600; }
.zy-status { padding: 8px 12px; border-radius: 6px; font-size: 15px; }
.zy-status-ok { color: var(--body-text-color-subdued); background: var(--background-fill-secondary); }
.zy-status-missing, .zy-status-error { color: #7c2d12; background: #ffedd5; border: 1px solid #fdba74; font-size: 18px; }

#zy-head > .html-container, #zy-status > .html-container, #zy-chat > .html-container { padding: 0 !important; }
.zy-chat { position: relative; max-height: max(320px, calc(100vh - 300px)); overflow-y: auto; padding: 4px 8px;
  border: 1px solid var(--border-color-primary); border-radius: 8px;
  background: var(--background-fill-primary); font-size: 18px; line-height: 1.8; }
.zy-welcome { color: var(--body-text-color-subdued); padding: 16px 8px; }
.zy-turn { padding: 12px 0; border-bottom: 1px dashed var(--border-color-primary); }
.zy-turn:last-child { border-bottom: none; }
.zy-q, .zy-a { display: flex; gap: 10px; align-items: flex-start; }
.zy-q { margin-bottom: 8px; }
.zy-q-text { font-weight: 600; }
.zy-who { flex: 0 0 auto; display: inline-block; width: 30px; height: 30px; border-radius: 50%;
  text-align: center; line-height: 30px; font-size: 16px; color: #fff; margin-top: 1px; }
.zy-who-q { background: #475569; }
.zy-who-a { background: #0f766e; }
.zy-answer { flex: 1 1 auto; min-width: 0; }
.zy-sentence { margin: 0 0 6px; }
.zy-cite { font-size: 14px; line-height: 0; margin-left: 1px; }
.zy-cite a { color: #0f766e; text-decoration: none; font-weight: 700; padding: 0 1px; }
.zy-cite a:hover, .zy-cite a:focus { text-decoration: underline; }
.zy-note { color: #854d0e; background: #fef9c3; border-left: 4px solid #eab308; padding: 6px 10px; margin: 0 0 8px; border-radius: 4px; }
.zy-llm { display: inline-block; font-size: 0.85em; color: #1e3a8a; background: #dbeafe; border: 1px solid #93c5fd; padding: 1px 8px; margin: 0 0 6px; border-radius: 10px; }
.zy-unverified { display: inline-block; margin-left: 6px; font-size: 0.85em; color: #9a3412; background: #ffedd5; border-radius: 4px; padding: 0 6px; }
.zy-refusal { padding: 4px 0; }
.zy-error { color: #991b1b; background: #fee2e2; border-left: 4px solid #dc2626; padding: 6px 10px; border-radius: 4px; }
.zy-pending { color: var(--body-text-color-subdued); font-style: italic; }
.zy-sources { margin-top: 10px; }
.zy-sources-title { font-size: 16px; margin: 0 0 6px; color: var(--body-text-color-subdued); font-weight: 700; }
.zy-source { border: 1px solid var(--border-color-primary); border-radius: 6px; padding: 8px 12px; margin: 0 0 8px;
  background: var(--background-fill-secondary); font-size: 16px; line-height: 1.7; scroll-margin-top: 8px; }
.zy-source:target { outline: 3px solid #14b8a6; }
.zy-src-head { font-weight: 700; font-size: 17px; }
.zy-src-n { color: #0f766e; margin-right: 6px; }
.zy-src-meta { color: var(--body-text-color-subdued); font-size: 15px; }
.zy-meta-item + .zy-meta-item::before { content: " · "; }
.zy-src-line { font-size: 15px; color: var(--body-text-color-subdued); overflow-wrap: anywhere; }
.zy-src-key { font-weight: 600; }
.zy-passage { margin: 6px 0 0 !important; padding: 6px 10px; border-left: 3px solid #94a3b8; white-space: pre-line;
  background: var(--background-fill-primary); overflow-wrap: anywhere; }
.zy-passage mark { background: #fde68a; color: #1c1917; padding: 0 1px; border-radius: 2px; }
.zy-disclaimer { margin-top: 8px; color: #9a3412; font-size: 15px; }
#zy-examples { gap: 6px; flex-wrap: wrap; }
#zy-examples button { flex: 0 1 auto; min-width: 0; font-size: 16px; }
#zy-question textarea { font-size: 18px; }
#zy-ask { font-size: 20px; min-height: 52px; }
footer { display: none !important; }
.zy-hidden { display: none !important; }
.zy-kb { overflow-x: auto; }
.zy-kb-table { border-collapse: collapse; font-size: 15px; width: 100%; }
.zy-kb-table th, .zy-kb-table td { border: 1px solid var(--border-color-primary); padding: 4px 8px; text-align: left; vertical-align: top; }
.zy-kb-problem { color: #991b1b; }
.zy-kb-verdict { font-weight: 600; }
.zy-handout { font-size: 16px; line-height: 1.7; max-height: 70vh; overflow-y: auto; padding: 0 8px; }
.zy-quiz-item { margin-bottom: 10px; } .zy-quiz-option { padding-left: 1.5em; }
.zy-handout table { border-collapse: collapse; } .zy-handout th, .zy-handout td { border: 1px solid var(--border-color-primary); padding: 2px 6px; }
.zy-feedback { margin-top: 8px; display: flex; flex-wrap: wrap; gap: 6px; align-items: center; font-size: 15px; }
.zy-fb { border: 1px solid var(--border-color-primary); border-radius: 6px; padding: 2px 10px; background: var(--background-fill-secondary); cursor: pointer; }
.zy-fb:disabled { opacity: 0.5; cursor: default; }
.zy-fb-comment { flex: 1 1 160px; min-width: 0; border: 1px solid var(--border-color-primary); border-radius: 6px; padding: 2px 8px; font-size: 15px; }
.zy-fb-done { color: #0f766e; }
"""

# After every re-render of the chat, show the start of the newest turn (the answer
# may be longer than the box; reading starts at the question, not at the bottom).
CHAT_JS = """
const show = () => {
  const box = element.querySelector('.zy-chat');
  const last = box && box.querySelector('.zy-turn:last-child');
  if (box && last) box.scrollTop = Math.max(0, last.offsetTop - 4);
};
watch('value', show);
// 👍/👎: hand the rating to the hidden Gradio textbox and button (see build_app).
element.addEventListener('click', (event) => {
  const button = event.target.closest('.zy-fb');
  if (!button) return;
  const box = button.closest('.zy-feedback');
  const comment = box.querySelector('.zy-fb-comment');
  const payload = JSON.stringify({answer: box.dataset.answer, rating: button.dataset.rating, comment: comment ? comment.value : ''});
  const field = document.querySelector('#zy-fb-box textarea');
  const send = document.querySelector('#zy-fb-send');
  if (!field || !send) return;
  field.value = payload;
  field.dispatchEvent(new Event('input', {bubbles: true}));
  setTimeout(() => send.click(), 50);
  box.querySelectorAll('.zy-fb').forEach((b) => { b.disabled = true; });
  box.querySelector('.zy-fb-done').textContent = button.dataset.rating === 'up' ? '已记录：有用' : '已记录：有错';
});
"""

MAX_TURNS = 30  # turns kept on the page (and as follow-up context)

PAGE_JS = "() => { document.documentElement.lang = 'zh-CN'; }"


# -- answering -----------------------------------------------------------------------
def index_status(assistant: Assistant) -> str:
    """Banner HTML: the index is ready / missing / unusable."""
    try:
        retriever = assistant.retriever()
    except IndexUnavailable as exc:  # its message says why and what to do
        return render.render_status(str(exc), "error")
    except IndexMissing:
        return render.render_status(texts.INDEX_MISSING, "missing")
    except Exception as exc:  # e.g. built with another embedding model: its message is Chinese
        log.exception("index could not be opened")
        return render.render_status(str(exc) or texts.ERROR_ANSWER.format(kind=type(exc).__name__), "error")
    manifest = getattr(retriever, "manifest", {}) or {}
    documents = manifest.get("documents", "?")
    chunks = manifest.get("chunks", len(getattr(retriever, "chunks", [])))
    return render.render_status(texts.INDEX_READY.format(documents=documents, chunks=chunks), "ok")


def _categories(selected: list[str] | None) -> list[str] | None:
    """The filter as Assistant.ask wants it: None when nothing (or everything) is ticked."""
    chosen = [c for c in (selected or []) if c in CATEGORY_LABELS]
    if not chosen or set(chosen) == set(CATEGORY_LABELS):
        return None
    return chosen


def answer_htmls(
    assistant: Assistant, question: str, history: list[str], categories: list[str] | None, anchor: str,
    feedback: FeedbackStore | None = None, user: str = "local",
) -> Iterator[str]:
    """Ask and render as the answer grows (a model's verified sentences one by one); the last
    page yielded is the final answer. Never raises: any failure becomes a Chinese message.
    With a feedback store the final answer is logged and gets 有用/有错 buttons."""
    try:
        answer = None
        for answer in assistant.ask_stream(question, history=history or None, categories=categories):
            if answer.generation is not None and not answer.generation.done:  # still being written
                yield render.render_answer(answer, anchor=anchor, streaming=True)
        answer_id = feedback.log_answer(answer, user) if feedback is not None else ""
        yield render.render_answer(answer, anchor=anchor, answer_id=answer_id)
    except IndexUnavailable as exc:
        yield render.render_error(str(exc))
    except IndexMissing:
        yield render.render_error(texts.INDEX_MISSING)
    except Exception as exc:
        log.exception("answering %r failed", question)
        yield render.render_error(texts.ERROR_ANSWER.format(kind=type(exc).__name__))


def answer_html(*args, **kwargs) -> str:
    """The final page of `answer_htmls`."""
    page = ""
    for page in answer_htmls(*args, **kwargs):
        pass
    return page


# -- the page --------------------------------------------------------------------------
def _example_handler(respond, example: str):
    def ask_example(selected: list[str], history_turns: list[dict], request: gr.Request) -> Iterator[tuple]:
        yield from respond(example, selected, history_turns, request)

    return ask_example


def save_feedback(feedback: FeedbackStore, payload: str, user: str) -> bool:
    """A rating the page sent as JSON {answer, rating, comment}; False when unusable."""
    import json

    try:
        data = json.loads(payload)
        logged = feedback.answer(str(data["answer"]))
        if logged is None or data.get("rating") not in ("up", "down"):
            return False
        feedback.add(user=user, question=logged["question"], rating=data["rating"],
                     comment=str(data.get("comment", ""))[:2000], answer_id=str(data["answer"]))
        return True
    except (ValueError, KeyError, TypeError):
        return False


def build_app(
    assistant: Assistant, feedback: FeedbackStore | None = None, role_of: Callable[[str | None], str | None] | None = None
) -> gr.Blocks:
    """The page. `role_of(user name)` says who is an admin (on loopback there is no login,
    the user name is None and the one person at the PC is the admin)."""
    admin = Admin(assistant)

    def is_admin(request: gr.Request | None) -> bool:
        user = getattr(request, "username", None)
        return user is None or (role_of is not None and role_of(user) == "admin")

    settings = assistant.settings
    default_categories = [c for c in settings.categories if c in CATEGORY_LABELS] or list(CATEGORY_LABELS)

    with gr.Blocks(title=texts.TITLE, analytics_enabled=False) as app:
        gr.HTML(
            f'<div id="zy-header"><h1>{render.esc(texts.TITLE)}</h1>'
            f"<p>{render.esc(texts.SUBTITLE)}"
            f'<span class="zy-header-disclaimer">「{render.esc(texts.DISCLAIMER_TEXT)}」</span></p></div>',
            elem_id="zy-head",
            js_on_load=None,
        )
        status = gr.HTML("", elem_id="zy-status", js_on_load=None)
        turns = gr.State([])
        with gr.Tab(texts.CHAT_TAB, elem_id="zy-chat-tab"):
            chat = gr.HTML(
                render.render_conversation([]),
                elem_id="zy-chat",
                js_on_load=CHAT_JS,
                show_label=False,
            )
            with gr.Row(equal_height=True):
                question = gr.Textbox(
                    label=texts.QUESTION_LABEL,
                    show_label=False,
                    placeholder=texts.PLACEHOLDER,
                    lines=1,
                    max_lines=4,
                    scale=5,
                    elem_id="zy-question",
                    autofocus=True,
                )
                ask = gr.Button(texts.ASK_BUTTON, variant="primary", scale=1, min_width=110, elem_id="zy-ask")
            gr.Markdown(texts.EXAMPLES_LABEL)
            with gr.Row(elem_id="zy-examples"):
                example_buttons = [gr.Button(q, size="sm", variant="secondary") for q in texts.EXAMPLE_QUESTIONS]
            with gr.Row(equal_height=False):
                categories = gr.CheckboxGroup(
                    choices=texts.CATEGORY_CHOICES,
                    value=default_categories,
                    label=texts.CATEGORY_FILTER_LABEL,
                    info=texts.CATEGORY_FILTER_INFO,
                    scale=5,
                    elem_id="zy-categories",
                )
                clear = gr.Button(texts.CLEAR_BUTTON, variant="secondary", scale=1, min_width=110, elem_id="zy-clear")

        # Handouts for trainers (issue 14): a topic in, a cited handout to read and download.
        with gr.Tab(texts.HANDOUT_TAB, elem_id="zy-handout-tab"):
            gr.Markdown(texts.HANDOUT_HEADING)
            with gr.Row():
                handout_topic = gr.Textbox(label=texts.HANDOUT_TOPIC_LABEL, placeholder=texts.HANDOUT_TOPIC_PLACEHOLDER,
                                           elem_id="zy-handout-topic", scale=4)
                handout_format = gr.Radio(choices=[("Word", ".docx"), ("网页", ".html"), ("Markdown", ".md")], value=".docx",
                                          label=texts.HANDOUT_FORMAT_LABEL, elem_id="zy-handout-format", scale=2)
                handout_button = gr.Button(texts.HANDOUT_BUTTON, variant="primary", elem_id="zy-handout-make", scale=1)
            handout_file = gr.File(label=texts.HANDOUT_DOWNLOAD, interactive=False, elem_id="zy-handout-file")
            handout_preview = gr.HTML("", elem_id="zy-handout-preview")
            # Quiz banks: the same topic box idea, plus how many questions, which types, a seed.
            gr.Markdown(texts.QUIZ_HEADING)
            with gr.Row():
                quiz_topic = gr.Textbox(label=texts.QUIZ_TOPIC_LABEL, placeholder=texts.QUIZ_TOPIC_PLACEHOLDER,
                                        elem_id="zy-quiz-topic", scale=3)
                quiz_count = gr.Number(value=20, minimum=1, maximum=100, precision=0, label=texts.QUIZ_COUNT_LABEL,
                                       elem_id="zy-quiz-count", scale=1, min_width=90)
                quiz_seed = gr.Number(value=0, minimum=0, precision=0, label=texts.QUIZ_SEED_LABEL, elem_id="zy-quiz-seed",
                                      scale=1, min_width=90)
            with gr.Row():
                quiz_types = gr.CheckboxGroup(choices=texts.QUIZ_TYPE_CHOICES, value=[v for _, v in texts.QUIZ_TYPE_CHOICES],
                                              label=texts.QUIZ_TYPES_LABEL, elem_id="zy-quiz-types", scale=3)
                quiz_format = gr.Radio(choices=texts.QUIZ_FORMAT_CHOICES, value=".xlsx", label=texts.QUIZ_FORMAT_LABEL,
                                       elem_id="zy-quiz-format", scale=3)
                quiz_button = gr.Button(texts.QUIZ_BUTTON, variant="primary", elem_id="zy-quiz-make", scale=1)
            quiz_file = gr.File(label=texts.QUIZ_DOWNLOAD, interactive=False, elem_id="zy-quiz-file")
            quiz_preview = gr.HTML("", elem_id="zy-quiz-preview")

        def training_material(build, label: str, suffix: str, formats: tuple[str, ...], write, html_body):
            """Build a handout or a quiz bank, write it as a file to download, and preview it;
            or say why not (no index, or a topic the base does not cover)."""
            import tempfile

            try:
                material = build()
            except IndexMissing:
                return None, render.render_status(texts.INDEX_MISSING, "missing")
            if not material.covered:
                return None, render.render_status(material.message, "missing")
            name = safe_name(material.topic)[:40] or "zhiyi"
            path = Path(tempfile.mkdtemp(prefix="zhiyi-")) / f"{name}-{label}{suffix if suffix in formats else formats[0]}"
            write(material, path)
            return str(path), f'<div class="zy-handout">{html_body(material)}</div>'

        def make_handout(topic: str, suffix: str):
            from assistant.handout import build_handout
            from ui.handout_export import html_body, write

            return training_material(lambda: build_handout(assistant, topic), "讲义", suffix, (".docx", ".html", ".md"), write, html_body)

        handout_button.click(make_handout, inputs=[handout_topic, handout_format], outputs=[handout_file, handout_preview],
                             concurrency_id="ask")
        handout_topic.submit(make_handout, inputs=[handout_topic, handout_format], outputs=[handout_file, handout_preview],
                             concurrency_id="ask")

        def make_quiz(topic: str, count, types: list[str], seed, suffix: str):
            from assistant.quiz import build_quiz
            from ui.quiz_export import html_body, write

            if not types:
                return None, render.render_status(texts.QUIZ_NO_TYPES, "missing")
            # A cleared number box arrives as None; out-of-range values are held to the range.
            n = min(max(int(count or 20), 1), 100)
            return training_material(lambda: build_quiz(assistant, topic, n, types, int(seed or 0)), "题库", suffix,
                                     (".xlsx", ".docx", ".json"), write, html_body)

        quiz_inputs = [quiz_topic, quiz_count, quiz_types, quiz_seed, quiz_format]
        quiz_button.click(make_quiz, inputs=quiz_inputs, outputs=[quiz_file, quiz_preview], concurrency_id="ask")
        quiz_topic.submit(make_quiz, inputs=quiz_inputs, outputs=[quiz_file, quiz_preview], concurrency_id="ask")

        # Knowledge-base page: shown to admins only (see is_admin), and every handler
        # checks the role again, since a hidden tab is no protection by itself.
        with gr.Tab(texts.KB_TAB, elem_id="zy-kb-tab", visible=False) as kb_tab:
            kb_progress = gr.HTML("", elem_id="zy-kb-progress")
            gr.Markdown(f"### {texts.KB_DOCUMENTS}")
            kb_documents = gr.HTML("", elem_id="zy-kb-documents")
            with gr.Row():
                kb_upload = gr.File(label=texts.KB_UPLOAD_LABEL, file_count="multiple", file_types=list(UPLOAD_TYPES),
                                    elem_id="zy-kb-upload", scale=3)
                with gr.Column(scale=1):
                    kb_category = gr.Dropdown(label=texts.KB_CATEGORY_LABEL, choices=texts.CATEGORY_CHOICES, value="chronic",
                                              elem_id="zy-kb-category")
                    kb_year = gr.Number(label=texts.KB_YEAR_LABEL, value=None, precision=0, elem_id="zy-kb-year")
                    kb_upload_button = gr.Button(texts.KB_UPLOAD_BUTTON, variant="primary", elem_id="zy-kb-upload-button")
            with gr.Row():
                kb_remove = gr.Dropdown(label=texts.KB_REMOVE_LABEL, choices=[], elem_id="zy-kb-remove", scale=3)
                kb_remove_button = gr.Button(texts.KB_REMOVE_BUTTON, variant="stop", elem_id="zy-kb-remove-button", scale=1)
                kb_rebuild_button = gr.Button(texts.KB_REBUILD_BUTTON, elem_id="zy-kb-rebuild", scale=1)
            with gr.Row():
                kb_query = gr.Textbox(label=texts.KB_SEARCH_LABEL, elem_id="zy-kb-query", scale=4)
                kb_search_button = gr.Button(texts.KB_SEARCH_BUTTON, elem_id="zy-kb-search", scale=1)
            kb_search = gr.HTML("", elem_id="zy-kb-search-result")
            gr.Markdown(f"### {texts.KB_FEEDBACK}")
            kb_feedback = gr.HTML("", elem_id="zy-kb-feedback")
            kb_timer = gr.Timer(1.0, active=False)

        def kb_view(request: gr.Request):
            if not is_admin(request):
                return gr.update(visible=False), "", "", gr.update(), ""
            return (gr.update(visible=True), admin.documents_html(), admin.recent_down_html(feedback),
                    gr.update(choices=admin.files(), value=None), admin.progress_html())

        kb_outputs = [kb_tab, kb_documents, kb_feedback, kb_remove, kb_progress]

        def kb_rebuild_started(request: gr.Request, lines: list[str] | None = None):
            if not is_admin(request):
                raise gr.Error(texts.KB_ADMIN_ONLY)
            for line in lines or []:
                gr.Info(line)
            if not admin.start_rebuild():
                gr.Warning(texts.KB_REBUILD_BUSY)
            return admin.progress_html(), gr.Timer(active=True)

        def kb_add(files, category: str, year, request: gr.Request):
            if not is_admin(request):
                raise gr.Error(texts.KB_ADMIN_ONLY)
            paths = [getattr(f, "name", f) for f in (files or [])]
            names = [getattr(f, "orig_name", None) or Path(p).name for f, p in zip(files or [], paths)]
            year = int(year) if year and 1949 <= year <= 2100 else None  # empty (0) or not a year: none
            lines = admin.add_files(paths, names, category or "", year)
            return (*kb_rebuild_started(request, lines), None)

        def kb_remove_file(name: str, request: gr.Request):
            if not is_admin(request):
                raise gr.Error(texts.KB_ADMIN_ONLY)
            return kb_rebuild_started(request, [admin.remove_file(name or "")])

        def kb_tick(request: gr.Request):
            if not is_admin(request):
                return "", gr.Timer(active=False), gr.update(), gr.update(), gr.update()
            if admin.rebuild.running:
                return admin.progress_html(), gr.Timer(active=True), gr.update(), gr.update(), gr.update()
            return (admin.progress_html(), gr.Timer(active=False), admin.documents_html(),
                    gr.update(choices=admin.files(), value=None), admin.recent_down_html(feedback))

        def kb_test(query: str, request: gr.Request) -> str:
            if not is_admin(request):
                raise gr.Error(texts.KB_ADMIN_ONLY)
            return admin.search_test(query)

        kb_upload_button.click(kb_add, inputs=[kb_upload, kb_category, kb_year], outputs=[kb_progress, kb_timer, kb_upload], show_progress="hidden")
        kb_remove_button.click(kb_remove_file, inputs=[kb_remove], outputs=[kb_progress, kb_timer], show_progress="hidden")
        kb_rebuild_button.click(kb_rebuild_started, outputs=[kb_progress, kb_timer], show_progress="hidden")
        kb_timer.tick(kb_tick, outputs=[kb_progress, kb_timer, kb_documents, kb_remove, kb_feedback], show_progress="hidden")
        kb_search_button.click(kb_test, inputs=[kb_query], outputs=[kb_search], concurrency_id="ask")
        kb_query.submit(kb_test, inputs=[kb_query], outputs=[kb_search], concurrency_id="ask")

        # The feedback buttons live in our own answer HTML; the page script hands a click
        # to these two hidden components, which reach Python as a normal Gradio event.
        feedback_box = gr.Textbox(visible=True, elem_id="zy-fb-box", elem_classes=["zy-hidden"], show_label=False)
        feedback_send = gr.Button("feedback", elem_id="zy-fb-send", elem_classes=["zy-hidden"])

        def send_feedback(payload: str, request: gr.Request) -> str:
            if feedback is None:
                return ""
            if save_feedback(feedback, payload, getattr(request, "username", None) or "local"):
                gr.Info(texts.FEEDBACK_THANKS)
            else:
                gr.Warning(texts.FEEDBACK_FAILED)
            return ""

        feedback_send.click(send_feedback, inputs=[feedback_box], outputs=[feedback_box], show_progress="hidden", queue=False)

        def respond(text: str, selected: list[str], history_turns: list[dict], request: gr.Request) -> Iterator[tuple]:
            text = (text or "").strip()
            history_turns = list(history_turns or [])
            if not text:
                gr.Info(texts.EMPTY_QUESTION)
                yield history_turns, gr.skip(), gr.skip(), gr.skip()
                return
            number = history_turns[-1]["n"] + 1 if history_turns else 1  # keeps anchors unique
            pending = [*history_turns, {"question": text, "html": render.render_pending(), "n": number}]
            yield history_turns, render.render_conversation(pending), "", gr.skip()
            previous = [t["question"] for t in history_turns]
            user = getattr(request, "username", None) or "local"
            for html_ in answer_htmls(assistant, text, previous, _categories(selected), anchor=f"t{number}", feedback=feedback, user=user):
                # A long day's conversation stays light: only the latest turns are kept.
                done = [*history_turns, {"question": text, "html": html_, "n": number}][-MAX_TURNS:]
                yield done, render.render_conversation(done), gr.skip(), gr.skip()
            yield gr.skip(), gr.skip(), gr.skip(), index_status(assistant)

        outputs = [turns, chat, question, status]
        common = dict(outputs=outputs, show_progress="hidden", concurrency_id="ask")
        ask.click(respond, inputs=[question, categories, turns], api_name="ask", **common)
        question.submit(respond, inputs=[question, categories, turns], **common)
        for button, example in zip(example_buttons, texts.EXAMPLE_QUESTIONS):
            button.click(_example_handler(respond, example), inputs=[categories, turns], **common)
        clear.click(
            lambda: ([], render.render_conversation([]), ""),
            outputs=[turns, chat, question],
            show_progress="hidden",
            queue=False,
        )
        app.load(lambda: index_status(assistant), outputs=status, show_progress="hidden", queue=False)
        app.load(kb_view, outputs=kb_outputs, show_progress="hidden", queue=False)
    return app


# -- serving (ui/server.py mounts build_app under FastAPI) ---------------------------------
def preload(assistant: Assistant) -> bool:
    """Open the index (and warm the tokenizers) so the first question is fast."""
    try:
        assistant.retriever()
    except IndexMissing:
        print(texts.INDEX_MISSING, file=sys.stderr)
        return False
    except Exception as exc:
        print(f"{texts.ERROR_ANSWER.format(kind=type(exc).__name__)} {exc}", file=sys.stderr)
        return False
    try:
        assistant.ask(texts.EXAMPLE_QUESTIONS[1])  # loads jieba and the query encoder
    except Exception:  # warming up is best effort
        log.debug("warm-up question failed", exc_info=True)
    return True
