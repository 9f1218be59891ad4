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
from assistant.textnorm import detect_language, display_text, normalize
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


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, x))))


def same_language_confidence(coverage: float, dense_z: float) -> float:
    """Evidence in the question's language: lexical coverage decides, dense standing helps.

    Weights fitted on eval/dev.jsonl (see README, 拒答阈值)."""
    return _sigmoid(7.0 * (coverage - 0.55) + 0.6 * (dense_z - 1.5))


def cross_language_confidence(dense_z: float, dense: float) -> float:
    """Evidence in the other language shares no words with the question: how far the
    passage stands out among its own language (z) has to carry the decision."""
    return _sigmoid(1.6 * (dense_z - 2.2) + 25 * (dense - 0.80))


def _lexical_candidates(
    query: Query, passages: list[Hit], retriever: Retriever, settings: Settings,
    wants_quantity: bool,
) -> list[Candidate]:
    out: list[Candidate] = []
    for hit in passages:
        text = hit.chunk.text
        for start, end in split_sentences(text, max_chars=settings.max_sentence_chars):
            norm = normalize(text[start:end])
            if len(norm) < 6:
                continue
            cov = retriever.coverage(query, set(tokenize_normalized(norm)), norm)
            score = cov + 0.15 / (hit.rank + 1)
            if wants_quantity and _QUANTITY.search(norm):
                score += 0.2
            out.append(Candidate(hit, start, end, display_text(text[start:end]).strip(), score, cov))
    out.sort(key=lambda c: c.score, reverse=True)
    return out


def _semantic_candidates(query: Query, hit: Hit, retriever: Retriever, settings: Settings, wants_quantity: bool) -> list[Candidate]:
    """Sentences of an other-language passage, ranked by embedding similarity (no shared words to count)."""
    text = hit.chunk.text
    spans = [(s, e) for s, e in split_sentences(text, max_chars=settings.max_sentence_chars) if len(text[s:e].strip()) >= 12]
    if not spans or query.vector is None:
        return []
    vectors = retriever.embedder.passages([normalize(text[s:e]) for s, e in spans])
    sims = vectors @ query.vector
    out = []
    for (start, end), sim in zip(spans, sims):
        score = float(sim)
        if wants_quantity and _QUANTITY.search(text[start:end]):
            score += 0.02
        out.append(Candidate(hit, start, end, display_text(text[start:end]).strip(), score, 0.0))
    out.sort(key=lambda c: c.score, reverse=True)
    return out


def compose(
    question: str,
    query: Query,
    hits: list[Hit],
    retriever: Retriever,
    settings: Settings,
) -> Answer:
    answer = Answer(question=question, refused=True, message=texts.NOT_FOUND)
    if not hits:
        return answer
    query_lang = detect_language(query.core_text)
    wants_quantity = bool(_WANTS_QUANTITY.search(query.text))
    passages = hits[: settings.top_k]
    same = [h for h in passages if h.chunk.lang == query_lang]
    other = sorted((h for h in passages if h.chunk.lang != query_lang), key=lambda h: h.dense_z, reverse=True)

    candidates = _lexical_candidates(query, same, retriever, settings, wants_quantity)
    coverage = max((c.coverage for c in candidates[:5]), default=0.0)
    coverage = max(
        [coverage]
        + [retriever.coverage(query, retriever.chunk_tokens[retriever.by_id[h.chunk.id]], h.chunk.search_text) for h in same[:3]]
    )
    conf_same = same_language_confidence(coverage, same[0].dense_z) if same else 0.0
    conf_other = cross_language_confidence(other[0].dense_z, other[0].dense) if other else 0.0
    answer.signals = {
        "coverage": round(coverage, 4),
        "dense_z": round(same[0].dense_z, 4) if same else 0.0,
        "dense": round(same[0].dense, 4) if same else 0.0,
        "x_dense_z": round(other[0].dense_z, 4) if other else 0.0,
        "x_dense": round(other[0].dense, 4) if other else 0.0,
        "conf_same": round(conf_same, 4),
        "conf_other": round(conf_other, 4),
    }
    cross = conf_other > conf_same
    if cross:
        candidates = _semantic_candidates(query, other[0], retriever, settings, wants_quantity)
    answer.confidence = round(max(conf_same, conf_other), 4)
    if not candidates:
        return answer

    missing = _missing_constraints(query, [h.chunk.search_text for h in passages])
    if missing:
        answer.message = texts.NOT_FOUND_TERM.format(term="、".join(missing))
        return answer
    if answer.confidence < settings.refusal_threshold:
        return answer
    if wants_quantity and not any(_QUANTITY.search(normalize(c.display)) for c in candidates[:3]):
        return answer

    best = candidates[0]
    chosen = [best]
    ratio = 0.97 if cross else 0.75
    for cand in candidates[1:]:
        if len(chosen) >= settings.max_sentences:
            break
        if cand.score >= ratio * best.score and cand.display not in {c.display for c in chosen}:
            chosen.append(cand)
    answer.message = ""
    _cite(answer, chosen)
    return answer


def _cite(answer: Answer, chosen: list[Candidate]) -> None:
    """One citation per passage, numbered in order of first use; sentences in reading order."""
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
        citation.spans = sorted(spans[cid])
        citation.quote_start = citation.spans[0][0]
        citation.quote_end = citation.spans[-1][1]
    chosen.sort(key=lambda c: (citations[c.hit.chunk.id].id, c.start))
    answer.sentences = [AnswerSentence(text=c.display, citations=[citations[c.hit.chunk.id].id]) for c in chosen]
    answer.citations = sorted(citations.values(), key=lambda c: c.id)
    answer.refused = False
    titles = {c.title for c in answer.citations}
    if len(titles) > 1:
        years = sorted({c.year for c in answer.citations if c.year})
        answer.message = texts.SEVERAL_SOURCES.format(years="、".join(f"{y}年" for y in years) if years else "不同年份")


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
