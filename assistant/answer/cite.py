"""Citing: one citation per passage, numbered in order of first use; every answer
sentence carries the marker of the passage it was taken from."""

from __future__ import annotations

from assistant import texts
from assistant.answer.candidates import Candidate
from assistant.models import AUTHORITY_LABELS, CATEGORY_LABELS, Answer, AnswerSentence, Citation
from assistant.textnorm import display_text


def cite(answer: Answer, chosen: list[Candidate]) -> None:
    citations: dict[str, Citation] = {}
    spans: dict[str, list[tuple[int, int]]] = {}
    for cand in chosen:
        chunk = cand.chunk
        if chunk.id not in citations:
            citations[chunk.id] = Citation(
                id=len(citations) + 1,
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
                quote_start=cand.start,
                quote_end=cand.end,
                doc_start=chunk.start,
                doc_end=chunk.end,
                lang=chunk.lang,
                score=round(cand.hit.score, 5),
            )
        spans.setdefault(chunk.id, []).append((cand.start, cand.end))
    for cid, citation in citations.items():
        citation.spans = sorted(set(spans[cid]))
        citation.quote_start = citation.spans[0][0]
        citation.quote_end = citation.spans[-1][1]
    # Reading order: by citation, then by place in the passage (a list stays in its order).
    ordered = sorted(dict.fromkeys(chosen), key=lambda c: (citations[c.chunk.id].id, c.start))
    answer.sentences = [AnswerSentence(text=c.display, citations=[citations[c.chunk.id].id]) for c in ordered]
    answer.citations = sorted(citations.values(), key=lambda c: c.id)
    answer.refused = False
    if len({c.title for c in answer.citations}) > 1:
        years = sorted({c.year for c in answer.citations if c.year})
        answer.message = texts.SEVERAL_SOURCES.format(years="、".join(f"{y}年" for y in years) if years else "不同年份")
