"""Scoring: one ``ItemResult`` per item, then aggregate metrics over any subset.

Every comparison of text goes through ``match_form`` (the assistant's own ``normalize``
plus removal of all whitespace), so traditional vs simplified script, full vs half width
and line breaks inside a passage never decide whether something counts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
from pydantic import BaseModel, Field

from assistant.models import Answer
from assistant.textnorm import normalize
from evaluation.items import EvalItem

_WHITESPACE = re.compile(r"\s+")


def match_form(text: str) -> str:
    return _WHITESPACE.sub("", normalize(text or ""))


class CitedPassage(BaseModel):
    """What the report shows of one citation."""

    id: int
    title: str
    section: str
    quote: str


class ItemResult(BaseModel):
    id: str
    category: str
    kind: str = ""
    question: str
    expect_refusal: bool
    answer_keywords: list[list[str]] = Field(default_factory=list)
    evidence: str | None = None
    refused: bool
    message: str = ""
    answer_text: str = ""
    citations: list[CitedPassage] = Field(default_factory=list)
    retrieved: list[str] = Field(default_factory=list)
    latency_ms: float = 0.0
    confidence: float = 0.0  # the answerability model's probability
    refused_by: str = ""  # the check that refused
    signals: dict[str, float] = Field(default_factory=dict)  # what the checks read (for fitting)
    keywords_matched: bool = False  # every keyword group found in the answer text
    missing_keywords: list[list[str]] = Field(default_factory=list)
    evidence_rank: int | None = None  # 1-based rank of the first retrieved passage holding the evidence
    sentences: int = 0  # answer sentences (non-refused answers only)
    supported_sentences: int = 0  # …of which the cited passage contains the sentence
    error: str = ""  # the question raised instead of answering
    # A site's language model (Settings.llm_url): who wrote the answer, what the model wrote
    # and what the verifier dropped of it, and why the extractive answer was served if it was.
    backend: str = "extractive"
    generated: int = 0
    dropped: dict[str, int] = Field(default_factory=dict)  # reason → sentences
    fallback: str = ""

    @property
    def passed(self) -> bool:
        """The item's own verdict: right answer, or a refusal where one was expected."""
        if self.error:
            return False
        if self.expect_refusal:
            return self.refused
        return not self.refused and self.keywords_matched


def missing_groups(keywords: list[list[str]], answer_text: str) -> list[list[str]]:
    """Keyword groups none of whose alternatives appear in the answer."""
    haystack = match_form(answer_text)
    return [group for group in keywords if not any(match_form(alt) and match_form(alt) in haystack for alt in group)]


def evidence_rank(evidence: str | None, passages: Sequence[str]) -> int | None:
    if not evidence or not match_form(evidence):
        return None
    needle = match_form(evidence)
    for rank, text in enumerate(passages, start=1):
        if needle in match_form(text):
            return rank
    return None


def score_item(item: EvalItem, answer: Answer, passage_text: Mapping[str, str] | None = None) -> ItemResult:
    """`passage_text` maps retrieved chunk ids to the passage text (the retriever's chunks)."""
    passage_text = passage_text or {}
    answer_text = "".join(s.text for s in answer.sentences)
    by_id = {c.id: c for c in answer.citations}
    supported = 0
    if not answer.refused:
        for sentence in answer.sentences:
            target = match_form(sentence.text)
            cited = [match_form(by_id[i].text) for i in sentence.citations if i in by_id]
            if target and any(target in passage for passage in cited):
                supported += 1
    missing = missing_groups(item.answer_keywords, answer_text)
    ranked = [passage_text.get(cid, "") for cid in answer.retrieved]
    return ItemResult(
        **_item_fields(item),
        refused=answer.refused,
        message=answer.message,
        answer_text=answer_text,
        citations=[
            CitedPassage(id=c.id, title=c.title, section=c.section, quote=c.text[c.quote_start : c.quote_end])
            for c in answer.citations
        ],
        retrieved=list(answer.retrieved),
        latency_ms=answer.latency_ms,
        confidence=answer.confidence,
        refused_by=answer.refused_by,
        signals=answer.signals,
        keywords_matched=not answer.refused and not missing,
        missing_keywords=missing,
        evidence_rank=evidence_rank(item.evidence, ranked),
        sentences=0 if answer.refused else len(answer.sentences),
        supported_sentences=supported,
        **_generation_fields(answer),
    )


def _generation_fields(answer: Answer) -> dict:
    report = answer.generation
    if report is None:
        return {"backend": answer.backend}
    dropped: dict[str, int] = {}
    for d in report.dropped:
        dropped[d.reason] = dropped.get(d.reason, 0) + 1
    return {"backend": answer.backend, "generated": report.generated, "dropped": dropped, "fallback": report.fallback}


def _generation_summary(results: list[ItemResult]) -> dict | None:
    """How the language model fared, when one was asked: the share of its sentences the
    verifier dropped (and why), and how often the extractive answer was served instead."""
    asked = [r for r in results if r.generated or r.fallback or r.backend == "llm"]
    if not asked:
        return None
    generated = sum(r.generated for r in asked)
    reasons: dict[str, int] = {}
    for r in asked:
        for reason, count in r.dropped.items():
            reasons[reason] = reasons.get(reason, 0) + count
    fallbacks: dict[str, int] = {}
    for r in asked:
        if r.fallback:
            key = r.fallback.split(":")[0]
            fallbacks[key] = fallbacks.get(key, 0) + 1
    return {
        "asked": len(asked),
        "llm_answers": sum(r.backend == "llm" for r in asked),
        "fallback_rate": _ratio(sum(bool(r.fallback) for r in asked), len(asked)),
        "fallbacks": fallbacks,
        "generated_sentences": generated,
        "dropped_share": _ratio(sum(reasons.values()), generated),
        "dropped_by_reason": dict(sorted(reasons.items(), key=lambda kv: -kv[1])),
    }


def _item_fields(item: EvalItem) -> dict:
    """What every result repeats from its item."""
    return {
        "id": item.id,
        "category": item.category,
        "kind": item.kind,
        "question": item.question,
        "expect_refusal": item.expect_refusal,
        "answer_keywords": item.answer_keywords,
        "evidence": item.evidence,
    }


def failed_result(item: EvalItem, error: Exception) -> ItemResult:
    """An item whose question raised: counted as wrong, never silently dropped."""
    return ItemResult(
        **_item_fields(item),
        refused=False,
        missing_keywords=item.answer_keywords,
        error=f"{type(error).__name__}: {error}",
    )


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 2) if values else None


def summarize(results: list[ItemResult], ks: Sequence[int]) -> dict:
    """The metrics of one set of results (the whole run, or one category)."""
    answerable = [r for r in results if not r.expect_refusal]
    refusable = [r for r in results if r.expect_refusal]
    with_evidence = [r for r in results if r.evidence and match_form(r.evidence)]
    sentences = sum(r.sentences for r in results)
    latencies = [r.latency_ms for r in results if not r.error]
    return {
        "n": len(results),
        "answer_accuracy": _ratio(sum(r.keywords_matched for r in answerable), len(answerable)),
        "false_refusal_rate": _ratio(sum(r.refused for r in answerable), len(answerable)),
        # Answered, but without the asked fact: worse than a refusal for a doctor.
        "wrong_answer_rate": _ratio(sum(not r.refused and not r.keywords_matched for r in answerable), len(answerable)),
        "refusal_accuracy": _ratio(sum(r.refused for r in refusable), len(refusable)),
        "evidence_recall": {
            str(k): _ratio(sum(r.evidence_rank is not None and r.evidence_rank <= k for r in with_evidence), len(with_evidence))
            for k in ks
        },
        "citation_support": _ratio(sum(r.supported_sentences for r in results), sentences),
        "latency_ms": {"p50": _percentile(latencies, 50), "p95": _percentile(latencies, 95)},
        "llm": _generation_summary(results),
        # The denominators, so a rate can be read as "x of y".
        "counts": {
            "answerable": len(answerable),
            "answered_right": sum(r.keywords_matched for r in answerable),
            "false_refusals": sum(r.refused for r in answerable),
            "expect_refusal": len(refusable),
            "refused_right": sum(r.refused for r in refusable),
            "with_evidence": len(with_evidence),
            "evidence_hits": {
                str(k): sum(r.evidence_rank is not None and r.evidence_rank <= k for r in with_evidence) for k in ks
            },
            "sentences": sentences,
            "supported_sentences": sum(r.supported_sentences for r in results),
            "errors": sum(bool(r.error) for r in results),
        },
    }


def aggregate(results: list[ItemResult], ks: Sequence[int]) -> dict:
    metrics = summarize(results, ks)
    categories = sorted({r.category for r in results})
    metrics["by_category"] = {c: summarize([r for r in results if r.category == c], ks) for c in categories}
    kinds = sorted({r.kind for r in results if r.kind})
    metrics["by_kind"] = {k: summarize([r for r in results if r.kind == k], ks) for k in kinds}
    refusals: dict[str, int] = {}
    for r in results:
        if r.refused:
            refusals[r.refused_by or "other"] = refusals.get(r.refused_by or "other", 0) + 1
    metrics["refused_by"] = refusals
    return metrics
