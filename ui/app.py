"""The browser chat: ``zhiyi serve`` → ``serve(settings)``.

Made for weak PCs on a clinic LAN with no internet: no analytics, no web fonts (system
fonts only), no external JS/CSS, one light ``gr.HTML`` area for the conversation (the
answers are our own escaped HTML, see ``ui.render``) instead of the heavier Chatbot.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator

# Must be set before gradio is imported: gradio reads it at import and at Blocks().
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import gradio as gr  # noqa: E402

from assistant.config import Settings  # noqa: E402
from assistant.models import CATEGORY_LABELS  # noqa: E402
from assistant.pipeline import Assistant, IndexMissing  # noqa: E402
from ui import render, texts  # noqa: E402
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


def answer_html(
    assistant: Assistant, question: str, history: list[str], categories: list[str] | None, anchor: str,
    feedback: FeedbackStore | None = None, user: str = "local",
) -> str:
    """Ask and render; never raises: any failure becomes a Chinese message. With a
    feedback store the answer is logged and gets 👍/👎 buttons."""
    try:
        answer = assistant.ask(question, history=history or None, categories=categories)
        answer_id = feedback.log_answer(answer, user) if feedback is not None else ""
        return render.render_answer(answer, anchor=anchor, answer_id=answer_id)
    except IndexMissing:
        return render.render_error(texts.INDEX_MISSING)
    except Exception as exc:
        log.exception("answering %r failed", question)
        return render.render_error(texts.ERROR_ANSWER.format(kind=type(exc).__name__))


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


def build_app(assistant: Assistant, feedback: FeedbackStore | None = None) -> gr.Blocks:
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
            html_ = answer_html(assistant, text, previous, _categories(selected), anchor=f"t{number}", feedback=feedback, user=user)
            # A long day's conversation stays light: only the latest turns are kept.
            done = [*history_turns, {"question": text, "html": html_, "n": number}][-MAX_TURNS:]
            yield done, render.render_conversation(done), gr.skip(), index_status(assistant)

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
