"""Which candidate sentences make the answer: the best one, the rest of its list when a
list is asked for, the sentence it leans on for its subject, and further sentences only
when they add question words the others left out and belong to the same case.
"""

from __future__ import annotations

from assistant.answer.candidates import LEANS_BACK, Candidate, reading_form
from assistant.sentences import LIST_NUMBER
from assistant.config import Settings
from assistant.question import Question
from assistant.tokenize import tokenize_normalized


def select(
    question: Question, candidates: list[Candidate], settings: Settings, retriever=None
) -> tuple[Candidate | None, list[Candidate]]:
    """The best sentence, and the sentences of the answer in the document's order (the best
    need not come first: a list starts at its first item)."""
    if not candidates:
        return None, []
    best = _best(question, candidates, settings)
    chosen = [best]
    siblings = sorted((c for c in candidates if c.chunk.id == best.chunk.id), key=lambda c: c.start)
    if question.wants_list:
        chosen = _whole_list(best, siblings, settings) or _list_across_passages(best, retriever, settings) or chosen
    previous = _previous(best, siblings)
    if previous is not None and LEANS_BACK.search(best.display) and previous not in chosen:
        chosen.insert(0, previous)
    if len(chosen) == 1 or not question.wants_list:
        chosen += _complements(question, best, chosen, candidates, settings)
    return best, chosen


def _best(question: Question, candidates: list[Candidate], settings: Settings) -> Candidate:
    """The top sentence, except that one stating the asked-for kind of value close behind
    it wins (a count for 多少例, a dose for 吃几片)."""
    top = candidates[0]
    if question.kind is None or top.states_kind:
        return top
    return next((c for c in candidates if c.states_kind and c.score >= top.score - settings.kind_margin), top)


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


def _list_across_passages(best: Candidate, retriever, settings: Settings) -> list[Candidate]:
    """A numbered list whose items the chunker cut into passages of their own (each "1." line
    opens a section): the lead-in's passage and the following passages of the same document
    that are items under the same parent section, in the document's order."""
    if retriever is None:
        return []
    chunks = retriever.chunks
    index = retriever.by_id.get(best.chunk.id)
    if index is None:
        return []
    lead_in = best.display.rstrip().endswith(("：", ":"))
    parent = best.chunk.section if lead_in else best.chunk.section.rsplit(" > ", 1)[0]
    if not lead_in and not LIST_NUMBER.match(best.chunk.text):
        return []
    start = index
    while not lead_in and start > 0 and _is_item(chunks[start - 1], parent):
        start -= 1
    items, at = [], start if not lead_in else index + 1
    while at < len(chunks) and _is_item(chunks[at], parent) and len(items) < settings.max_list_items:
        items.append(_item(chunks[at], best, settings))
        at += 1
    if len(items) < 2:
        return []
    return ([best] if lead_in else []) + items


def _is_item(chunk, parent: str) -> bool:
    return bool(LIST_NUMBER.match(chunk.text)) and chunk.section.rsplit(" > ", 1)[0] == parent


def _item(chunk, like: Candidate, settings: Settings) -> Candidate:
    from assistant.retrieve import Hit
    from assistant.sentences import split_sentences
    from assistant.textnorm import normalize

    text = chunk.text
    number = LIST_NUMBER.match(text)
    offset = number.end() if number else 0
    # The item's first sentence after its number ("5. SGLT2i…" must not split at "5.").
    # The whole item line: an item often names itself in a first short sentence ("2.远程会诊接入系统。")
    # and says what it is in the next.
    line_end = text.find("\n", offset)
    line_end = len(text) if line_end < 0 else line_end
    spans = [(offset + s, offset + e) for s, e in split_sentences(text[offset:line_end], max_chars=settings.max_sentence_chars) if e - s >= 2]
    start, end = (spans[0][0], spans[-1][1]) if spans else (offset, line_end)
    hit = Hit(chunk=chunk, score=0.0, rank=like.hit.rank)
    return Candidate(hit=hit, start=start, end=end, display=reading_form(text[start:end]), norm=normalize(text[start:end]),
                     same_language=like.same_language, list_item=True)


def _complements(
    question: Question, best: Candidate, chosen: list[Candidate], candidates: list[Candidate], settings: Settings
) -> list[Candidate]:
    """Further sentences that say question words the chosen ones do not, close in score,
    on the same case (no other branch), stating the asked-for kind if one is asked."""
    words = {t for t in question.query.core_tokens if len(t) > 1 or t.isascii()}
    said = set().union(*(set(tokenize_normalized(c.norm)) for c in chosen)) & words
    margin = settings.two_part_margin if question.two_part else settings.extra_margin
    out: list[Candidate] = []
    for cand in candidates:
        if len(chosen) + len(out) >= settings.max_sentences:
            break
        if cand in chosen or cand.score < best.score - margin or cand.display in {c.display for c in chosen + out}:
            continue
        if cand.branch_mismatch and not best.branch_mismatch:
            continue
        if question.kind is not None and not cand.states_kind:
            continue
        if cand.same_language != best.same_language or not cand.on_topic:
            continue
        gain = (set(tokenize_normalized(cand.norm)) & words) - said
        # Another document stating the asked value too is shown beside it, with its year: where
        # a county rule and a national one differ, the doctor sees both (cite adds the note).
        other_source = question.kind is not None and cand.chunk.doc.source != best.chunk.doc.source
        if not gain and not question.two_part and not other_source and cand.chunk.id != best.chunk.id:
            continue
        out.append(cand)
        said |= gain
    return out
