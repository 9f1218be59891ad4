"""Extractive answers: the sentences of the retrieved passages that answer the question,
each cited to its passage, or a plain refusal when the evidence does not cover it.

No sentence is ever written here: every answer sentence is a sentence of a passage
(script-normalised for reading), so every claim has the passage behind it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from assistant.config import Settings
from assistant.models import CATEGORY_LABELS, Answer, AnswerSentence, Citation
from assistant.retrieve import Hit, Query, Retriever
from assistant.sentences import split_sentences
from assistant.textnorm import display_text, normalize
from assistant.tokenize import tokenize_normalized
from assistant import texts

_WANTS_QUANTITY = re.compile(
    r"多少|几[次个年月天周岁项类种级分小]|多久|多长|多大|多高|多低|哪年|哪一年|何时|什么时候|啥时候|比例|频次|频率|次数|时限|标准是|目标|剂量|"
    r"how (many|much|often|long|soon)|when|what percentage|target|threshold"
)
_QUANTITY = re.compile(r"\d|[一二两三四五六七八九十百千万半]+\s*(次|个|年|月|周|天|日|小时|分钟|岁|倍|项|类|级|成|%|％|人|元|台)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass
class Candidate:
    hit: Hit
    start: int  # span within hit.chunk.text
    end: int
    display: str
    score: float
    coverage: float


def _coverage(query: Query, tokens: set[str], text: str, retriever: Retriever, alternatives: dict[str, list[str]]) -> float:
    """IDF-weighted share of the question's words found in `tokens` (a synonym counts)."""
    total = covered = 0.0
    for tok in set(query.core_tokens):
        weight = retriever.idf(tok)
        total += weight
        if tok in tokens or tok in text or any(alt in text for alt in alternatives.get(tok, ())):
            covered += weight
    return covered / total if total else 0.0


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def confidence(coverage: float, dense_z: float, dense: float, cross_lingual: bool) -> float:
    """How sure we are that the evidence answers the question, in [0, 1].

    Lexical coverage decides for same-language evidence; for an English passage under a
    Chinese question (no shared words) the dense score's standing (z) has to carry it.
    The weights are fitted on eval/dev.jsonl (see README, 拒答阈值).
    """
    if cross_lingual:
        return _sigmoid(1.6 * (dense_z - 2.2) + 25 * (dense - 0.80))
    return _sigmoid(7.0 * (coverage - 0.55) + 0.6 * (dense_z - 1.5))


def compose(
    question: str,
    query: Query,
    hits: list[Hit],
    retriever: Retriever,
    settings: Settings,
    alternatives: dict[str, list[str]],
) -> Answer:
    answer = Answer(question=question, refused=True)
    if not hits:
        answer.message = texts.NOT_FOUND
        return answer
    query_lang = "zh" if re.search(r"[\u4e00-\u9fff]", question) else "en"
    wants_quantity = bool(_WANTS_QUANTITY.search(query.text))
    passages = hits[: settings.top_k]

    candidates: list[Candidate] = []
    for hit in passages:
        chunk = hit.chunk
        cross = chunk.lang != query_lang
        for start, end in split_sentences(chunk.text, max_chars=settings.max_sentence_chars):
            raw = chunk.text[start:end]
            norm = normalize(raw)
            if len(norm) < 6:
                continue
            tokens = set(tokenize_normalized(norm))
            cov = _coverage(query, tokens, norm, retriever, alternatives)
            score = cov + 0.15 / (hit.rank + 1)
            if cross:
                score = 0.3 + 0.1 * hit.dense_z / (hit.rank + 1)
            if wants_quantity and _QUANTITY.search(norm):
                score += 0.2
            candidates.append(Candidate(hit, start, end, display_text(raw).strip(), score, cov))
    if not candidates:
        answer.message = texts.NOT_FOUND
        return answer

    candidates.sort(key=lambda c: c.score, reverse=True)
    best = candidates[0]
    passage_cov = max(
        _coverage(query, retriever.chunk_tokens[retriever.by_id[h.chunk.id]], h.chunk.search_text, retriever, alternatives)
        for h in passages[:3]
    )
    top = passages[0]
    cross_lingual = top.chunk.lang != query_lang and passage_cov < 0.3
    conf = confidence(max(passage_cov, best.coverage), top.dense_z, top.dense, cross_lingual)
    answer.confidence = round(conf, 4)
    answer.signals = {
        "coverage": round(max(passage_cov, best.coverage), 4),
        "dense": round(top.dense, 4),
        "dense_z": round(top.dense_z, 4),
        "cross_lingual": float(cross_lingual),
    }

    missing = _missing_constraints(query, [h.chunk.search_text for h in passages])
    if missing:
        answer.message = texts.NOT_FOUND_TERM.format(term="、".join(missing))
        return answer
    if conf < settings.refusal_threshold:
        answer.message = texts.NOT_FOUND
        return answer
    if wants_quantity and not any(_QUANTITY.search(normalize(c.display)) for c in candidates[:3]):
        answer.message = texts.NOT_FOUND
        return answer

    chosen = [best]
    for cand in candidates[1:]:
        if len(chosen) >= settings.max_sentences:
            break
        if cand.score >= 0.75 * best.score and cand.display not in {c.display for c in chosen}:
            chosen.append(cand)

    # One citation per passage, numbered in order of first use.
    citations: dict[str, Citation] = {}
    spans: dict[str, list[tuple[int, int]]] = {}
    for cand in chosen:
        chunk = cand.hit.chunk
        if chunk.id not in citations:
            citations[chunk.id] = Citation(
                id=len(citations) + 1,
                chunk_id=chunk.id,
                title=chunk.doc.title,
                section=display_text(chunk.section),
                source=chunk.doc.source,
                category=chunk.doc.category,
                category_label=CATEGORY_LABELS[chunk.doc.category],
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
        citation.quote_start = min(s for s, _ in spans[cid])
        citation.quote_end = max(e for _, e in spans[cid])
        citation.spans = sorted(spans[cid])

    # Read in document order within a passage, passages in order of relevance.
    chosen.sort(key=lambda c: (citations[c.hit.chunk.id].id, c.start))
    answer.sentences = [AnswerSentence(text=c.display, citations=[citations[c.hit.chunk.id].id]) for c in chosen]
    answer.citations = sorted(citations.values(), key=lambda c: c.id)
    answer.refused = False
    years = sorted({c.year for c in answer.citations if c.year})
    titles = {c.title for c in answer.citations}
    if len(titles) > 1:
        answer.message = texts.SEVERAL_SOURCES.format(
            years="、".join(f"{y}年" for y in years) if years else "不同年份"
        )
    return answer


def _missing_constraints(query: Query, passages: list[str]) -> list[str]:
    """Numbers, years and place names the question insists on but no passage mentions.

    "2023年…" or "杭州…" asked of documents that never say 2023 or 杭州 is a question
    the knowledge base cannot answer, however similar the rest of the wording.
    """
    evidence = " ".join(passages)
    missing = []
    for number in _NUMBER.findall(query.core_text):
        if number not in evidence:
            missing.append(number)
    for place in query.places:
        if place not in evidence:
            missing.append(place)
    return missing
