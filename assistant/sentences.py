"""Sentence spans in Chinese and English text (offsets, so quotes can be highlighted)."""

from __future__ import annotations

import re

# A sentence ends at a terminator, plus any closing quotes/brackets after it. Semicolons
# join the items of one enumerating sentence, so they only split an over-long one.
_END_ZH = re.compile(r"[。！？!?…]+[”’」』）)\]]*|\n+")
_SEMICOLON = re.compile(r"[；;]")
_END_EN = re.compile(r"(?<=[a-z0-9\)”\"'])[.!?]+[\"”’)]*(?=\s+[A-Z“\"(0-9])")
_SOFT_BREAK = re.compile(r"[，,、：:]")
# A digest's own statement that it withholds a figure it could not verify against the
# original ("具体界值未能对照原文核实，本摘要不列出"): the sentence is a pointer to the
# original, never the answer; another verified document may state the figure.
WITHHELD = re.compile(r"(数值|界值|目标值?|剂量|时限|间隔|指标)[^。；]{0,8}未能(对照[^。；，]{0,10})?核实")


def split_sentences(text: str, max_chars: int = 220) -> list[tuple[int, int]]:
    """(start, end) spans covering the non-blank sentences of `text`, each at most ~max_chars."""
    cuts = {m.end() for m in _END_ZH.finditer(text)} | {m.end() for m in _END_EN.finditer(text)}
    spans: list[tuple[int, int]] = []
    start = 0
    for cut in sorted(cuts) + [len(text)]:
        if cut <= start:
            continue
        spans.extend(_hard_wrap(text, start, cut, max_chars))
        start = cut
    return [(s, e) for s, e in (_trim(text, s, e) for s, e in spans) if e > s]


def _hard_wrap(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Split an over-long run at the last semicolon, else comma, before the limit."""
    out = []
    while end - start > max_chars:
        window = text[start : start + max_chars]
        breaks = [m.end() for m in _SEMICOLON.finditer(window) if m.end() > max_chars // 3]
        breaks = breaks or [m.end() for m in _SOFT_BREAK.finditer(window) if m.end() > max_chars // 3]
        cut = start + (breaks[-1] if breaks else max_chars)
        out.append((start, cut))
        start = cut
    out.append((start, end))
    return out


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


# A list number at the head of a sentence ("1. ", "（二）", "③", "- ").
LIST_NUMBER = re.compile(
    r"\s*(?:\d{1,2}\s*[.、．](?!\d)|[(（]\s*[0-9一二三四五六七八九十]{1,3}\s*[)）]|[①-⑳]|[一二三四五六七八九十]{1,3}\s*[、.．]|[-*•·]\s)\s*(?=\S)"
)


def answer_spans(text: str, max_chars: int) -> list[tuple[int, int, bool]]:
    """The sentences an answer may quote: (start, end, began_with_a_list_number), the list
    number left out of the span. Ingest encodes exactly these, candidates read exactly these."""
    out = []
    for start, end in split_sentences(text, max_chars=max_chars):
        number = LIST_NUMBER.match(text, start)
        if number:
            start = number.end()
        if end > start:
            out.append((start, end, bool(number)))
    return out
