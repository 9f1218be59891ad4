"""From the ranked search hits to the passages an answer may draw on: the head of the
search ranking reordered by a fitted passage model, copies of a better ranked passage
dropped (six versions of one plan), and the asked-for kind of fact given a place among
them when no top passage states it.

The passage model is a pairwise logistic ranker over `PASSAGE_FEATURES`, fitted on dev by
`zhiyi fit` (the label: the passage holds the item's evidence). Search fuses BM25 and
vectors over the question's words; this stage knows the analysed question, so it can also
ask whether a passage states the kind of value asked and how close its best sentence comes.
"""

from __future__ import annotations

from assistant.config import Settings
from assistant.question import Question
from assistant.retrieve import Hit, Retriever
from assistant.sentences import answer_spans
from assistant.similarity import jaccard

# The measurements the passage model reads, in its feature order.
PASSAGE_FEATURES = (
    "fused",  # the search score, relative to the top hit's
    "rank_prior",  # 1 / (search rank + 1)
    "coverage",  # IDF share of the question's words the passage (title, section) says
    "best_sentence_coverage",  # ... its best single sentence says
    "semantic",  # cosine of the question to the passage's closest sentence (sentence encoder)
    "dense",  # cosine of the question to the passage (passage embedder)
    "dense_z",  # how far that stands out among passages of its language (clipped -2..4)
    "same_language",
    "authority",
    "withheld_share",  # share of its sentences that say their figure was withheld
    "states_kind",  # states the kind of value the question asks for (0 when none is asked)
)


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


def passage_features(question: Question, hits: list[Hit], retriever: Retriever, settings: Settings) -> list[dict[str, float]]:
    """`PASSAGE_FEATURES` of each hit (one sentence-encoder call for all of them)."""
    query, kind = question.query, question.kind
    spans = [[(h.chunk, s, e) for s, e, _ in answer_spans(h.chunk.text, settings.max_sentence_chars)] for h in hits]
    sims = retriever.sentence_similarities(question.text, [span for group in spans for span in group])
    top = (hits[0].score if hits else 0.0) or 1.0
    out, at = [], 0
    for hit, group in zip(hits, spans):
        chunk = hit.chunk
        same = chunk.lang == question.lang
        coverage = retriever.passage_coverage(query, chunk)
        if not same:
            coverage = max(coverage, retriever.passage_translated_coverage(query, chunk))
        closest = float(sims[at:at + len(group)].max()) if sims is not None and group else 0.0
        at += len(group)
        out.append({
            "fused": hit.score / top,
            "rank_prior": 1.0 / (hit.rank + 1),
            "coverage": coverage,
            "best_sentence_coverage": retriever.best_sentence_coverage(query, retriever.by_id[chunk.id]),
            "semantic": closest,
            "dense": hit.dense,
            "dense_z": min(max(hit.dense_z, -2.0), 4.0),
            "same_language": float(same),
            "authority": settings.authority_weight(chunk.doc.authority),
            "withheld_share": retriever.withheld_share(chunk),
            "states_kind": float(bool(kind and kind.holds(chunk.search_text))),
        })
    return out


def rerank(question: Question, found: list[Hit], retriever: Retriever, settings: Settings, model=None) -> list[Hit]:
    """The search head (`rerank_depth`) reordered by the passage model; without one, as found."""
    if model is None or not found:
        return found
    head = found[: settings.rerank_depth]
    scores = [model.logit(f) for f in passage_features(question, head, retriever, settings)]
    order = [head[i] for i in sorted(range(len(head)), key=lambda i: scores[i], reverse=True)]
    out = order + found[len(head):]
    for rank, hit in enumerate(out):
        hit.rank = rank
    return out


def passages(question: Question, found: list[Hit], retriever: Retriever, settings: Settings, model=None) -> list[Hit]:
    """The top-k passages: reranked, deduplicated, with typed evidence brought up (see below)."""
    found = rerank(question, found, retriever, settings, model)
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
        if not kind.holds(hit.chunk.search_text):
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
