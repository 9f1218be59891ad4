"""Cut clean lines into passages along the document's own structure.

Headings (篇N, 一、, （一）, 1. / 1、, ①, Markdown #, English "First," / "I.") start a
new passage and set the section path every passage carries. Paragraphs are packed up
to ``chunk_size`` characters; an over-long line is split at sentence ends. A passage
never spans two sections, so unrelated items inside one page stay apart.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from assistant.config import Settings
from assistant.models import Chunk, DocumentInfo
from assistant.sentences import split_sentences
from assistant.textnorm import detect_language, normalize
from ingest.clean import Line

_CN_NUM = "一二三四五六七八九十百零〇两"
_EN_ORDINALS = "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth"
# (level, pattern) — lower level = higher in the hierarchy. Matched on the raw line.
_HEADINGS: list[tuple[int, re.Pattern]] = [
    (0, re.compile(r"^.{2,60}\s*篇\s*[0-9" + _CN_NUM + r"]+$")),
    (0, re.compile(r"^第[0-9" + _CN_NUM + r"]+[篇章]")),
    (1, re.compile(r"^第[0-9" + _CN_NUM + r"]+[节条]")),
    (1, re.compile(r"^[" + _CN_NUM + r"]+\s*[、.．]")),
    (1, re.compile(r"^(?:" + _EN_ORDINALS + r")\s*[,，、:：.]", re.I)),
    (1, re.compile(r"^[IVX]{1,5}\s*[.、]\s")),
    (2, re.compile(r"^[(（]\s*[" + _CN_NUM + r"]+\s*[)）]")),
    (3, re.compile(r"^\d{1,2}\s*[、.．](?!\d)")),
    (3, re.compile(r"^[(（]\d{1,2}[)）]")),
    (4, re.compile(r"^[①②③④⑤⑥⑦⑧⑨⑩⑪⑫]")),
]
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_MD_LIST = re.compile(r"^(?:[-*+]\s+)")
_LABEL_END = re.compile(r"[。：:；;!！?？]")


@dataclass
class _Piece:
    start: int
    end: int
    text: str
    line: int  # index of the source line


def _heading(line: str) -> tuple[int, str, bool] | None:
    """(level, label, line_is_only_a_heading) if the line opens a section."""
    md = _MD_HEADING.match(line)
    if md:
        return len(md.group(1)) - 1, md.group(2).strip(), True
    for level, pattern in _HEADINGS:
        if pattern.match(line):
            end = _LABEL_END.search(line)
            label = line[: end.start()] if end and end.start() <= 40 else line[:40]
            label = label.strip()
            only = len(line) <= 40 and not re.search(r"[。；;]$", line)
            return level, label, only
    return None


def _is_title_like(line: str) -> bool:
    """A short line with no sentence punctuation: a title or a sub-heading."""
    return 4 <= len(line) <= 30 and not re.search(r"[。，,；;：:！!？?]", line)


def _content_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def chunk_document(lines: list[Line], doc: DocumentInfo, settings: Settings) -> list[Chunk]:
    chunks: list[Chunk] = []
    path: dict[int, str] = {}
    pending: list[_Piece] = []
    pending_len = 0

    def section() -> str:
        return " > ".join(path[level] for level in sorted(path))

    def flush() -> None:
        nonlocal pending, pending_len
        if pending:
            text = pending[0].text
            for prev, piece in zip(pending, pending[1:]):
                # Sentences cut from one long line are rejoined as the document had them.
                if piece.line != prev.line:
                    text += "\n"
                elif piece.start > prev.end:
                    text += " "
                text += piece.text
            if len(normalize(text)) >= settings.chunk_min or not chunks:
                search = normalize(text)
                chunks.append(
                    Chunk(
                        id=f"{doc.source}#{len(chunks)}",
                        doc=doc,
                        section=section(),
                        start=pending[0].start,
                        end=pending[-1].end,
                        text=text,
                        search_text=search,
                        lang=detect_language(text),  # type: ignore[arg-type]
                        content_hash=_content_hash(section() + "\n" + search),
                    )
                )
        pending, pending_len = [], 0

    def add(piece: _Piece) -> None:
        nonlocal pending_len
        # Latin script carries less per character: English passages may be longer.
        limit = settings.chunk_size * (2 if detect_language(piece.text) == "en" else 1)
        if pending and pending_len + len(piece.text) > limit:
            flush()
        pending.append(piece)
        pending_len += len(piece.text)

    for number, line in enumerate(lines):
        text = _MD_LIST.sub("", line.text)
        head = _heading(text)
        if head is None and _is_title_like(text) and not pending:
            head = (5, text, True)
        if head is not None:
            level, label, only = head
            flush()
            for deeper in [lvl for lvl in path if lvl >= level]:
                del path[deeper]
            path[level] = label
            if only:
                continue
        limit = settings.chunk_max * (2 if detect_language(text) == "en" else 1)
        if len(text) <= limit:
            add(_Piece(line.start, line.end, text, number))
            continue
        # An over-long line (scraped pages often put a whole article on one line):
        # pack its sentences, never cutting one in half.
        # `text` is the line's display text, less a list marker at its head: each sentence's
        # offsets are those of its first and last characters in the document.
        lead = len(line.text) - len(text)
        for s, e in split_sentences(text, max_chars=settings.chunk_size):
            add(_Piece(line.source_offset(lead + s), line.source_offset(lead + e - 1) + 1, text[s:e], number))
    flush()
    return chunks
