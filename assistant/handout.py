"""Handouts (讲义) for trainers: a topic in, a structured, cited handout out.

Built from the knowledge base only, the same way answers are: the topic is searched like a
question, passages that are not about it are left out, and every statement is a sentence of
a passage, cited to it. Sections follow the source documents' own headings, one document
after another (newest first), so where a 2017 规范 and a 2020 指南 differ both appear under
their own title and year. Sentences stating an interval, threshold, target or dose are
also gathered into a key-numbers table. A topic the base does not cover is refused.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from assistant import texts
from assistant.models import AUTHORITY_LABELS, CATEGORY_LABELS, DISCLAIMER, Chunk
from assistant.pipeline import Assistant
from assistant.sentences import WITHHELD, answer_spans
from assistant.textnorm import display_text
from assistant.topic import QUICK_REFERENCE, heading_parts, topic_passages

# A value a trainer teaches (not the "×100%" of a rate's formula): a number with a unit of time, pressure, glucose, dose, age or share.
KEY_NUMBER = re.compile(
    r"(?<![×*/\d.])[<>≤≥＜＞]?\s*\d+(?:\.\d+)?(?:\s*[~～\-–/]\s*\d+(?:\.\d+)?)?\s*"
    r"(?:mmHg|mmol/L|μmol/L|mg/d|mg|g/d|g|kg/m²|%|次/年|次|周|个月|月|天|日|小时|分钟|岁|年|倍)"
)


# A digest's remarks about itself ("本摘要……", "要点未规定……时限"): no teaching content.
DIGEST_NOTE = re.compile(r"本摘要|本库|本身没有列出")


class HandoutStatement(BaseModel):
    text: str
    source: int  # number in Handout.sources
    unverified: bool = False


class HandoutSection(BaseModel):
    heading: str  # the source document's own section path
    source: int
    statements: list[HandoutStatement]


class KeyNumber(BaseModel):
    values: list[str]
    statement: str
    source: int


class HandoutSource(BaseModel):
    number: int
    title: str
    original: str = ""
    year: int | None = None
    authority: str = ""
    category: str = ""
    file: str
    sections: list[str] = Field(default_factory=list)


class Handout(BaseModel):
    topic: str
    covered: bool
    message: str = ""
    sections: list[HandoutSection] = Field(default_factory=list)
    key_numbers: list[KeyNumber] = Field(default_factory=list)
    sources: list[HandoutSource] = Field(default_factory=list)
    disclaimer: str = DISCLAIMER


def _heading(section: str, fallback: str) -> str:
    """The section's headings; a path that is all numbered lines keeps its first."""
    parts = heading_parts(section) or [p.strip() for p in display_text(section).split(">") if p.strip()][:1]
    return " > ".join(parts) or fallback


def build_handout(assistant: Assistant, topic: str, categories: list[str] | None = None) -> Handout:
    topic = (topic or "").strip()
    if not topic:
        return Handout(topic=topic, covered=False, message=texts.HANDOUT_EMPTY)
    settings = assistant.settings
    found = topic_passages(assistant, topic, categories, settings.handout_passages)
    if found is None:
        return Handout(topic=topic, covered=False, message=texts.HANDOUT_NOT_COVERED.format(topic=topic))
    # A document whose title says the whole topic is taught whole (all 18 核心制度, not the 13
    # the search happened to rank); a handout keeps no sentence filter, so half a title is not enough.
    retriever, kept = found.retriever, found.with_documents(1.0)
    listed: set[str] = set()  # passages brought in as the list a colon announced

    by_doc: dict[str, list[Chunk]] = {}
    for chunk in kept:
        by_doc.setdefault(chunk.doc.source, []).append(chunk)
    # A passage that ends by announcing a list ("……分两级管理：") brings the passage after it,
    # where the list is (a reviewer found such lines cut off after the colon).
    for source, chunks in by_doc.items():
        ids = {c.id for c in chunks}
        document = retriever.document_chunks(source)
        for i, chunk in enumerate(document[:-1]):
            if chunk.id in ids and chunk.text.rstrip().endswith(("：", ":")) and document[i + 1].id not in ids:
                chunks.append(document[i + 1])
                ids.add(document[i + 1].id)
                listed.add(document[i + 1].id)
    # Stronger and newer documents first; within one, the document's own order.
    order = sorted(by_doc, key=lambda s: (-settings.authority_weight(by_doc[s][0].doc.authority), -(by_doc[s][0].doc.year or 0), s))
    handout = Handout(topic=topic, covered=True)
    seen: set[str] = set()
    for source in order:
        chunks = sorted(by_doc[source], key=lambda c: c.start)
        doc = chunks[0].doc
        number = len(handout.sources) + 1
        entry = HandoutSource(number=number, title=doc.title, original=doc.original, year=doc.year,
                              authority=AUTHORITY_LABELS.get(doc.authority, ""), category=CATEGORY_LABELS.get(doc.category, ""),
                              file=doc.source)
        for chunk in chunks:
            if QUICK_REFERENCE.search(chunk.section):
                continue  # a digest's 速查 appendix repeats its body (the key-numbers table is the quick reference)
            statements = []
            for start, end, _ in answer_spans(chunk.text, settings.max_sentence_chars):
                text = display_text(chunk.text[start:end]).strip()
                key = re.sub(r"\s+", "", text)
                if len(key) < 6 or key in seen or WITHHELD.search(text) or DIGEST_NOTE.search(text):
                    continue  # a fragment, a repeat, or a digest's note about itself
                if chunk.id not in listed and not found.says_topic(chunk, text, settings.quiz_coverage):
                    continue  # off the topic (a trainer found retinopathy intervals in 糖尿病转诊)
                seen.add(key)
                statements.append(HandoutStatement(text=text, source=number, unverified=texts.UNVERIFIED_MARK in text))
                values = list(dict.fromkeys(m.group(0).strip() for m in KEY_NUMBER.finditer(text)))
                if values:
                    handout.key_numbers.append(KeyNumber(values=values, statement=text, source=number))
            if not statements:
                continue
            heading = _heading(chunk.section, doc.title)
            last = handout.sections[-1] if handout.sections else None
            if last is not None and last.source == number and last.heading == heading:
                last.statements.extend(statements)
            else:
                handout.sections.append(HandoutSection(heading=heading, source=number, statements=statements))
            if heading not in entry.sections:
                entry.sections.append(heading)
        if entry.sections:
            handout.sources.append(entry)
    if not handout.sections:
        return Handout(topic=topic, covered=False, message=texts.HANDOUT_NOT_COVERED.format(topic=topic))
    return handout
