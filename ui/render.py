"""Answer → HTML, as pure functions (no Gradio here, so they are easy to test).

Everything that comes from a question, a document or the assistant is escaped with
``html.escape``; the only markup in the output is the markup written in this file.
Offsets (``Citation.spans``) index the raw passage text, so the passage is cut at
the span boundaries first and each piece escaped afterwards.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from assistant.models import DISCLAIMER, Answer, Citation
from ui import texts


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


# -- passages ---------------------------------------------------------------------
def quote_spans(citation: Citation) -> list[tuple[int, int]]:
    """The quoted spans of a citation, clamped to its text, sorted and merged.

    ``spans`` lists every quoted sentence; older answers only carry
    ``quote_start``/``quote_end``, which are used when ``spans`` is empty.
    """
    raw: Iterable[tuple[int, int]] = citation.spans or [(citation.quote_start, citation.quote_end)]
    n = len(citation.text)
    clean = sorted((max(0, min(s, n)), max(0, min(e, n))) for s, e in raw)
    merged: list[tuple[int, int]] = []
    for start, end in clean:
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """Escaped ``text`` with each (start, end) span wrapped in ``<mark>``.

    ``spans`` must be sorted and non-overlapping (see ``quote_spans``).
    """
    out: list[str] = []
    pos = 0
    for start, end in spans:
        out.append(esc(text[pos:start]))
        out.append(f"<mark>{esc(text[start:end])}</mark>")
        pos = end
    out.append(esc(text[pos:]))
    return "".join(out)


def source_id(anchor: str, number: int) -> str:
    return f"{anchor}-src-{number}"


def render_citation(citation: Citation, anchor: str) -> str:
    meta = [
        texts.YEAR.format(year=citation.year) if citation.year else texts.NO_YEAR,
        citation.category_label,
        citation.authority_label,
    ]
    meta_html = "".join(f'<span class="zy-meta-item">{esc(m)}</span>' for m in meta if m)
    section = (
        f'<div class="zy-src-line"><span class="zy-src-key">{esc(texts.SECTION)}：</span>'
        f'<span class="zy-src-section">{esc(citation.section)}</span></div>'
        if citation.section
        else ""
    )
    original = (
        f'<div class="zy-src-line"><span class="zy-src-key">{esc(texts.ORIGINAL)}：</span>'
        f'<span class="zy-src-original">{esc(citation.original)}</span></div>'
        if citation.original and citation.original != citation.title
        else ""
    )
    lang = ' lang="en"' if citation.lang == "en" else ""
    return (
        f'<article class="zy-source" id="{esc(source_id(anchor, citation.id))}" data-n="{citation.id}">'
        f'<header class="zy-src-head"><span class="zy-src-n">[{citation.id}]</span>'
        f'<span class="zy-src-title">{esc(citation.title)}</span></header>'
        f'<div class="zy-src-meta">{meta_html}</div>'
        f"{original}{section}"
        f'<div class="zy-src-line"><span class="zy-src-key">{esc(texts.FILE)}：</span>'
        f'<span class="zy-src-file">{esc(citation.source)}</span></div>'
        f'<blockquote class="zy-passage"{lang}>{highlight(citation.text, quote_spans(citation))}</blockquote>'
        "</article>"
    )


# -- answers ------------------------------------------------------------------------
def render_marker(number: int, anchor: str, title: str = "") -> str:
    tip = f' title="{esc(title)}"' if title else ""
    return (
        f'<sup class="zy-cite"><a href="#{esc(source_id(anchor, number))}"{tip}>[{number}]</a></sup>'
    )


def render_disclaimer(text: str | None = None) -> str:
    return f'<div class="zy-disclaimer" role="note">⚠ {esc(text or DISCLAIMER)}</div>'


def render_feedback(answer_id: str) -> str:
    """有用/有错 (plain words: old clinic PCs have no emoji font) and an optional comment under
    an answer; the page's script sends them."""
    return (
        f'<div class="zy-feedback" data-answer="{esc(answer_id)}">'
        f'<button type="button" class="zy-fb" data-rating="up">{esc(texts.FEEDBACK_UP)}</button>'
        f'<button type="button" class="zy-fb" data-rating="down">{esc(texts.FEEDBACK_DOWN)}</button>'
        f'<input class="zy-fb-comment" maxlength="500" placeholder="{esc(texts.FEEDBACK_PLACEHOLDER)}" '
        f'aria-label="{esc(texts.FEEDBACK_PLACEHOLDER)}">'
        '<span class="zy-fb-done" role="status"></span></div>'
    )


def render_answer(answer: Answer, anchor: str = "a", answer_id: str = "", streaming: bool = False) -> str:
    """One answer: note, sentences with [n] markers, source cards, disclaimer, and the
    feedback buttons when the answer was logged (``answer_id``).

    ``anchor`` makes the card ids unique when several answers share a page.
    """
    parts: list[str] = []
    if answer.refused:
        message = answer.message or texts.REFUSED_HINT
        parts.append(f'<div class="zy-refusal">{esc(message)}</div>')
    else:
        if answer.backend == "llm":  # a model worded it: said before anything else
            parts.append(f'<div class="zy-llm">{esc(texts.LLM_BADGE)}</div>')
        if answer.message:
            parts.append(f'<div class="zy-note">{esc(answer.message)}</div>')
        titles = {c.id: c.title for c in answer.citations}
        sentences = []
        for sentence in answer.sentences:
            marks = "".join(render_marker(n, anchor, titles.get(n, "")) for n in sentence.citations)
            # A digest sentence its verifier could not check against the original says so.
            flag = f'<span class="zy-unverified">{esc(texts.UNVERIFIED_HINT)}</span>' if texts.UNVERIFIED in sentence.text else ""
            sentences.append(f'<p class="zy-sentence">{esc(sentence.text)}{marks}{flag}</p>')
        parts.append(f'<div class="zy-sentences">{"".join(sentences)}</div>')
        if answer.citations:
            cards = "".join(render_citation(c, anchor) for c in answer.citations)
            parts.append(
                f'<section class="zy-sources"><h4 class="zy-sources-title">{esc(texts.SOURCES)}</h4>{cards}</section>'
            )
    parts.append(render_disclaimer(answer.disclaimer))
    if answer_id:
        parts.append(render_feedback(answer_id))
    if streaming:
        parts.append(f'<div class="zy-pending">{esc(texts.CHECKING)}</div>')
    state = "streaming" if streaming else "refused" if answer.refused else "answered"
    return f'<div class="zy-answer" data-state="{state}" data-backend="{answer.backend}">{"".join(parts)}</div>'


def render_error(message: str) -> str:
    return (
        f'<div class="zy-answer" data-state="error"><div class="zy-error" role="alert">{esc(message)}</div>'
        f"{render_disclaimer()}</div>"
    )


def render_pending() -> str:
    return f'<div class="zy-answer" data-state="pending"><div class="zy-pending">{esc(texts.THINKING)}</div></div>'


# -- the conversation -------------------------------------------------------------
def render_turn(question: str, answer_html: str, number: int) -> str:
    """A question and its (already rendered) answer."""
    return (
        f'<div class="zy-turn" data-turn="{number}">'
        f'<div class="zy-q"><span class="zy-who zy-who-q">{esc(texts.YOU)}</span>'
        f'<div class="zy-q-text">{esc(question)}</div></div>'
        f'<div class="zy-a"><span class="zy-who zy-who-a">{esc(texts.ASSISTANT)}</span>{answer_html}</div>'
        "</div>"
    )


def render_conversation(turns: Sequence[dict]) -> str:
    """The whole chat; ``turns`` are ``{"question": str, "html": str, "n": int}`` in order
    (``n``, the turn's number in the conversation, defaults to its position)."""
    if not turns:
        body = f'<div class="zy-welcome">{esc(texts.WELCOME)}</div>'
    else:
        body = "".join(render_turn(t["question"], t["html"], int(t.get("n", i))) for i, t in enumerate(turns, 1))
    return f'<div class="zy-chat" lang="zh-CN">{body}</div>'


def render_status(message: str, kind: str = "ok") -> str:
    """The banner above the chat: index ready, missing, or broken."""
    if not message:
        return ""
    return f'<div class="zy-status zy-status-{esc(kind)}" role="status">{esc(message)}</div>'
