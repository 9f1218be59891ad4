"""From the ranked search hits to the passages an answer may draw on: copies of a better
ranked passage dropped (six versions of one plan), and the asked-for kind of fact given a
place among them when no top passage states it."""

from __future__ import annotations

from assistant.config import Settings
from assistant.question import Question
from assistant.retrieve import Hit, Retriever
from assistant.similarity import jaccard
from assistant.textnorm import normalize


def distinct(hits: list[Hit], retriever: Retriever, threshold: float) -> list[Hit]:
    kept: list[Hit] = []
    grams: list[set[str]] = []
    for hit in hits:
        g = retriever.shingles_of(hit.chunk)
        if any(jaccard(g, other) >= threshold for other in grams):
            continue
        kept.append(hit)
        grams.append(g)
    for rank, hit in enumerate(kept):
        hit.rank = rank
    return kept


def passages(question: Question, found: list[Hit], retriever: Retriever, settings: Settings) -> list[Hit]:
    """The top-k passages, deduplicated, with typed evidence brought up (see below)."""
    hits = distinct(found[: settings.candidates], retriever, settings.dedup_threshold)
    top = [retriever.shingles_of(h.chunk) for h in hits[: settings.top_k]]
    deeper = [
        h for h in found[settings.candidates:]
        if not any(jaccard(retriever.shingles_of(h.chunk), g) >= settings.dedup_threshold for g in top)
    ]
    return bring_typed_evidence(question, hits + deeper, retriever, settings)[: settings.top_k]


def bring_typed_evidence(question: Question, hits: list[Hit], retriever: Retriever, settings: Settings) -> list[Hit]:
    """When the question asks for a kind of fact and no top-k passage both states one and
    says the question's words, the best-ranked deeper passage that does takes the last
    top-k place: from no deeper than `typed_depth` in the question's language (below it the
    ranking has read its words and judged it off the question), from `typed_pool` in the
    other language (whose words the ranking could only read through the dictionary)."""
    kind = question.kind
    k = settings.top_k
    if kind is None or kind.name == "quantity" or len(hits) <= k:
        return hits
    query = question.query

    def answers(hit: Hit) -> bool:
        if not kind.holds(normalize(hit.chunk.text)):
            return False
        if hit.chunk.lang == question.lang:
            return hit.rank < settings.typed_depth and retriever.passage_coverage(query, hit.chunk) >= settings.translated_coverage
        return retriever.passage_translated_coverage(query, hit.chunk) >= settings.translated_coverage

    if any(answers(h) for h in hits[:k]):
        return hits
    best = next((h for h in hits[k:] if answers(h)), None)
    if best is None:
        return hits
    out = [*hits[: k - 1], best, *(h for h in hits[k - 1:] if h is not best)]
    for rank, hit in enumerate(out):
        hit.rank = rank
    return out
