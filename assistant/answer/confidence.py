"""Answerability: how likely the drafted answer is a right answer to the question, from
the signals the earlier stages measured, by a small logistic model fitted on the dev set.

The model is data (`answerability.json`, written by `zhiyi fit`), not code: its features,
coefficients, the operating threshold chosen for a false-answer rate, and the cross-validated
AUC it was fitted with. The relevance floor is a second, smaller model of the same kind that
only separates "about the knowledge base at all" from off-domain prompts.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from assistant.question import Question
from assistant.retrieve import Hit, Retriever

MODEL_FILE = Path(__file__).with_name("answerability.json")

# Every signal a check or the model may read; the order is the model's feature order.
FEATURES = (
    "coverage",  # IDF share of the question's words the best sentence says
    "passage_coverage",  # ... its whole passage (title and section included)
    "best_passage_coverage",  # the best coverage of any top-k passage: is the topic here at all?
    "dense_cos",  # cosine of the question to the best passage in its language
    "dense_z",  # how far that passage stands out among its language
    "unknown_share",  # IDF share of question words the knowledge base never uses
    "rare_missing",  # share of the question's nouns that are rare in the base and absent from the answer's passage
    "on_topic",  # the best sentence shares a word or character pair with the question
    "cross_language",  # the answer is in the other language
    "authority",  # weight of the answering document's kind (national regulation … work report)
    "kind_asked",  # the question asks for a kind of value
    "score_margin",  # best sentence score minus the best sentence of another passage
    "sentence_score",  # the sentence model's score of the best sentence
    "semantic",  # cosine of the question to the best sentence (sentence encoder)
    "max_semantic",  # ... to any candidate sentence
    "question_words",  # log number of content tokens in the question
    "withheld_coverage",  # coverage of the best-covering sentence among the top ten that says its figure was withheld
)


@dataclass
class LogisticModel:
    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    threshold: float
    meta: dict

    def logit(self, signals: dict[str, float]) -> float:
        z = self.intercept
        for name, mu, sd, w in zip(self.features, self.mean, self.scale, self.coef):
            z += w * ((signals.get(name, 0.0) - mu) / (sd or 1.0))
        return z

    def probability(self, signals: dict[str, float]) -> float:
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, self.logit(signals)))))

    def to_dict(self) -> dict:
        return {
            "features": self.features, "mean": self.mean, "scale": self.scale, "coef": self.coef,
            "intercept": self.intercept, "threshold": self.threshold, "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "LogisticModel":
        return cls(**{k: data[k] for k in ("features", "mean", "scale", "coef", "intercept", "threshold")}, meta=data.get("meta", {}))


def load_models(path: Path = MODEL_FILE) -> dict[str, LogisticModel]:
    """{"floor": …, "answerability": …}; empty when none has been fitted yet."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {name: LogisticModel.from_dict(model) for name, model in data.items()}


def unknown_share(question: Question, retriever: Retriever) -> float:
    tokens = {t for t in question.query.core_tokens if not t[0].isdigit()}
    total = sum(retriever.idf(t) for t in tokens)
    # Exact vocabulary, no typo allowance: 油价 is not 油脂.
    unknown = sum(retriever.idf(t) for t in tokens if not retriever.in_vocabulary(t) and t not in question.query.alternatives)
    return unknown / total if total else 0.0


def rare_missing(question: Question, evidence: str, retriever: Retriever) -> tuple[float, list[str]]:
    """Nouns that name a particular thing (rare in the base, or never in it) the
    answering passage does not say: the passage is on the topic but not the thing asked."""
    alternatives = question.query.alternatives
    missing = []
    for noun in question.nouns:
        if noun in evidence or any(a in evidence for a in alternatives.get(noun, ())):
            continue
        if not retriever.knows(noun) or retriever.is_rare(noun):
            missing.append(noun)
    return (len(missing) / len(question.nouns) if question.nouns else 0.0), missing


def signals(question: Question, hits: list[Hit], best, candidates, retriever: Retriever, authority: float) -> dict[str, float]:
    same = [h for h in hits if h.chunk.lang == question.lang]
    top = same[0] if same else (hits[0] if hits else None)
    evidence = retriever.passage_text(best.chunk) if best else ""
    other = next((c for c in candidates if best and c.chunk.id != best.chunk.id), None)
    content = [t for t in question.query.core_tokens if not t[0].isdigit()]
    best_passage = max(
        (max(retriever.passage_coverage(question.query, h.chunk), retriever.passage_translated_coverage(question.query, h.chunk)) for h in hits),
        default=0.0,
    )
    return {
        "coverage": best.coverage if best else 0.0,
        "passage_coverage": best.passage_coverage if best else 0.0,
        "best_passage_coverage": best_passage,
        "dense_cos": top.dense if top else 0.0,
        "dense_z": top.dense_z if top else -3.0,
        "unknown_share": unknown_share(question, retriever),
        "rare_missing": rare_missing(question, evidence, retriever)[0] if best else 1.0,
        "on_topic": float(best.on_topic) if best else 0.0,
        "cross_language": float(not best.same_language) if best else 0.0,
        "authority": authority,
        "kind_asked": float(question.kind is not None),
        "score_margin": (best.score - other.score) if (best and other) else (best.score if best else 0.0),
        "question_words": math.log1p(len(content)),
        "sentence_score": best.score if best else -10.0,
        "semantic": best.semantic if best else 0.0,
        "max_semantic": max((c.semantic for c in candidates), default=0.0),
        # The base saying it lacks a figure on this topic, even when another sentence ranks first.
        "withheld_coverage": max((c.coverage for c in candidates[:10] if c.withheld), default=0.0),
    }


