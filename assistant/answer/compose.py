"""Which candidate sentences make the answer: the best one, the rest of its list when a
list is asked for, the sentence it leans on for its subject, and further sentences only
when they add question words the others left out and belong to the same case.
"""

from __future__ import annotations

from assistant.answer.candidates import LEANS_BACK, Candidate
from assistant.config import Settings
from assistant.question import Question
from assistant.tokenize import tokenize_normalized


def select(question: Question, candidates: list[Candidate], settings: Settings) -> list[Candidate]:
    if not candidates:
        return []
    best = _best(question, candidates, settings)
    chosen = [best]
    siblings = sorted((c for c in candidates if c.chunk.id == best.chunk.id), key=lambda c: c.start)
    if question.wants_list:
        chosen = _whole_list(best, siblings, settings) or chosen
    previous = _previous(best, siblings)
    if previous is not None and LEANS_BACK.search(best.display) and previous not in chosen:
        chosen.insert(0, previous)
    if len(chosen) == 1 or not question.wants_list:
        chosen += _complements(question, best, chosen, candidates, settings)
    return chosen


def _best(question: Question, candidates: list[Candidate], settings: Settings) -> Candidate:
    """The top sentence, except that one stating the asked-for kind of value close behind
    it wins (a count for 多少例, a dose for 吃几片)."""
    top = candidates[0]
    if question.kind is None or top.states_kind:
        return top
    floor = settings.kind_floor * top.score
    return next((c for c in candidates if c.states_kind and c.score >= floor), top)


def _previous(cand: Candidate, siblings: list[Candidate]) -> Candidate | None:
    before = [c for c in siblings if c.end <= cand.start]
    return before[-1] if before else None


def _whole_list(best: Candidate, siblings: list[Candidate], settings: Settings) -> list[Candidate]:
    """The run of list items the best sentence belongs to (or introduces), with its lead-in."""
    index = siblings.index(best)
    if best.list_item:
        lo = index
        while lo > 0 and siblings[lo - 1].list_item:
            lo -= 1
    elif index + 1 < len(siblings) and siblings[index + 1].list_item:
        lo = index + 1  # the best sentence is the lead-in ("…包括：")
    else:
        return []
    hi = lo
    while hi + 1 < len(siblings) and siblings[hi + 1].list_item:
        hi += 1
    items = siblings[lo:hi + 1][: settings.max_list_items]
    lead = siblings[lo - 1] if lo > 0 and not siblings[lo - 1].list_item else None
    return ([lead] if lead is not None else []) + items if len(items) >= 2 else []


def _complements(
    question: Question, best: Candidate, chosen: list[Candidate], candidates: list[Candidate], settings: Settings
) -> list[Candidate]:
    """Further sentences that say question words the chosen ones do not, close in score,
    on the same case (no other branch), stating the asked-for kind if one is asked."""
    words = {t for t in question.query.core_tokens if len(t) > 1 or t.isascii()}
    said = set().union(*(set(tokenize_normalized(c.norm)) for c in chosen)) & words
    ratio = settings.two_part_ratio if question.two_part else settings.extra_ratio
    out: list[Candidate] = []
    for cand in candidates:
        if len(chosen) + len(out) >= settings.max_sentences:
            break
        if cand in chosen or cand.score < ratio * best.score or cand.display in {c.display for c in chosen + out}:
            continue
        if cand.branch_mismatch and not best.branch_mismatch:
            continue
        if question.kind is not None and not cand.states_kind:
            continue
        if cand.same_language != best.same_language or not cand.on_topic:
            continue
        gain = (set(tokenize_normalized(cand.norm)) & words) - said
        if not gain and not question.two_part and cand.chunk.id != best.chunk.id:
            continue
        out.append(cand)
        said |= gain
    return out
