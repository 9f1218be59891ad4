"""Citing: one citation per passage, numbered in order of first use; every answer
sentence carries the marker of the passage it was taken from (or, for a model's sentence,
of the passage the verifier found it in)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant import texts
from assistant.answer.candidates import Candidate
from assistant.models import AUTHORITY_LABELS, CATEGORY_LABELS, Answer, AnswerSentence, Chunk, Citation
from assistant.textnorm import display_text

if TYPE_CHECKING:  # only for the annotation: generate imports this module
    from assistant.answer.verify import Passage, Verified


def _citation(number: int, chunk: Chunk, score: float) -> Citation:
    return Citation(
        id=number,
        chunk_id=chunk.id,
        title=chunk.doc.title,
        original=chunk.doc.original,
        section=display_text(chunk.section),
        source=chunk.doc.source,
        category=chunk.doc.category,
        category_label=CATEGORY_LABELS[chunk.doc.category],
        authority=chunk.doc.authority,
        authority_label=AUTHORITY_LABELS.get(chunk.doc.authority, ""),
        year=chunk.doc.year,
        text=chunk.text,
        quote_start=0,
        quote_end=0,
        doc_start=chunk.start,
        doc_end=chunk.end,
        lang=chunk.lang,
        score=round(score, 5),
    )


def _finish(answer: Answer, citations: dict[str, Citation], spans: dict[str, list[tuple[int, int]]]) -> None:
    """Each citation quotes its spans; several documents get the note that they may differ."""
    for cid, citation in citations.items():
        citation.spans = sorted(set(spans[cid]))
        citation.quote_start = citation.spans[0][0]
        citation.quote_end = citation.spans[-1][1]
    answer.citations = sorted(citations.values(), key=lambda c: c.id)
    answer.refused = False
    answer.message = ""
    if len({c.title for c in answer.citations}) > 1:
        years = sorted({c.year for c in answer.citations if c.year})
        answer.message = texts.SEVERAL_SOURCES.format(years="、".join(f"{y}年" for y in years) if years else "不同年份")


def cite(answer: Answer, chosen: list[Candidate]) -> None:
    citations: dict[str, Citation] = {}
    spans: dict[str, list[tuple[int, int]]] = {}
    for cand in chosen:
        if cand.chunk.id not in citations:
            citations[cand.chunk.id] = _citation(len(citations) + 1, cand.chunk, cand.hit.score)
        spans.setdefault(cand.chunk.id, []).append((cand.start, cand.end))
    _finish(answer, citations, spans)
    # Reading order: by citation, then by place in the passage (a list stays in its order).
    ordered = sorted(dict.fromkeys(chosen), key=lambda c: (citations[c.chunk.id].id, c.start))
    answer.sentences = [AnswerSentence(text=c.display, citations=[citations[c.chunk.id].id]) for c in ordered]


def cite_generated(answer: Answer, kept: list["Verified"], given: list[tuple[Chunk, "Passage"]]) -> None:
    """A model's kept sentences in the order written, each citing the passage that supports
    it and quoting the sentence of that passage it rests on."""
    citations: dict[str, Citation] = {}
    spans: dict[str, list[tuple[int, int]]] = {}
    sentences = []
    for sentence in kept:
        marks = []
        for number, start, end in sentence.support:
            chunk, passage = given[number - 1]
            if chunk.id not in citations:
                citations[chunk.id] = _citation(len(citations) + 1, chunk, 0.0)
            # The verifier's span is in the passage as given (a title line, then the text).
            spans.setdefault(chunk.id, []).append((start - passage.body_start, end - passage.body_start))
            marks.append(citations[chunk.id].id)
        sentences.append(AnswerSentence(text=sentence.text, citations=marks))
    if citations:
        _finish(answer, citations, spans)
    answer.sentences = sentences
