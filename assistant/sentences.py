"""Sentence spans in Chinese and English text (offsets, so quotes can be highlighted)."""

from __future__ import annotations

import re

# A sentence ends at a terminator, plus any closing quotes/brackets after it. Semicolons
# join the items of one enumerating sentence, so they only split an over-long one.
_END_ZH = re.compile(r"[。！？!?…]+[”’」』）)\]]*|\n+")
_SEMICOLON = re.compile(r"[；;]")
_END_EN = re.compile(r"(?<=[a-z0-9\)”\"'])[.!?]+[\"”’)]*(?=\s+[A-Z“\"(0-9])")
_SOFT_BREAK = re.compile(r"[，,、：:]")


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
