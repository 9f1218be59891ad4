"""Named checks between a drafted answer and the doctor.

Each check is a callable ``check(draft) -> Verdict``: it passes the draft or refuses it
with a reason (for the evaluator) and a message (for the doctor, in Chinese). They run in
order; the first refusal ends the answer and is recorded as ``Answer.refused_by``. Each is
switchable in ``Settings.checks`` so ``zhiyi eval --compare`` can measure what it is worth.

Only exact facts are hard vetoes (a year or a place the answering document never names);
everything graded goes through the fitted answerability model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from assistant import texts
from assistant.answer.candidates import Candidate
from assistant.answer.confidence import LogisticModel
from assistant.question import Question
from assistant.retrieve import Hit, Retriever


@dataclass
class Draft:
    """Everything known about an answer before it is cited."""

    question: Question
    hits: list[Hit]
    candidates: list[Candidate]
    chosen: list[Candidate]
    # The sentence the checks and the signals judge: the best-scored one, which a whole list
    # stitched from several passages does not put first.
    best: Candidate | None
    retriever: Retriever
    signals: dict[str, float] = field(default_factory=dict)
    models: dict[str, LogisticModel] = field(default_factory=dict)
    probabilities: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    check: str
    reason: str = ""  # for the evaluator (English)
    message: str = ""  # for the doctor (Chinese)


Check = Callable[[Draft], Verdict]


def relevance_floor(draft: Draft) -> Verdict:
    """Is the question about what the knowledge base holds at all? A small fitted model
    over the retrieval signals (coverage, semantic standing, unknown words) refuses
    off-domain prompts before any sentence is considered, in every language route."""
    model = draft.models.get("floor")
    if draft.best is None:
        return Verdict(False, "relevance_floor", "no candidate sentence", texts.NOT_FOUND)
    if model is None:
        return Verdict(True, "relevance_floor")
    p = model.probability(draft.signals)
    draft.probabilities["floor"] = p
    if p < model.threshold:
        return Verdict(False, "relevance_floor", f"relevance {p:.3f} < {model.threshold:.3f}", _not_found(draft))
    return Verdict(True, "relevance_floor")


def _not_found(draft: Draft) -> str:
    """The plain refusal, naming the question's nouns the knowledge base never uses
    (值班费, 火锅店) when there are any: a word it does use elsewhere is not what it lacks.
    When the question asks for a value and a top candidate is a digest saying it withheld
    that figure, the refusal points to the original instead (the sentence model ranks such
    a pointer low, so it is seldom the best sentence the `withheld` check reads)."""
    pointer = next((c for c in draft.candidates[:3] if c.withheld), None) if draft.question.kind else None
    if pointer is not None:
        doc = pointer.chunk.doc
        return texts.WITHHELD.format(original=doc.original or doc.title)
    unknown = [w for w in draft.question.nouns if not draft.retriever.knows(w) and w not in draft.question.query.alternatives]
    return texts.NOT_FOUND_TERM.format(term="、".join(unknown)) if unknown else texts.NOT_FOUND


def names(draft: Draft) -> Verdict:
    """A year or a place the question insists on must be named by the answering document:
    otherwise it is a question about another time or place. Exact, so a hard veto."""
    best = draft.best
    if best is None:
        return Verdict(True, "names")
    retriever = draft.retriever
    document = retriever.document_text(best.chunk.doc.source) + " " + retriever.passage_text(best.chunk)
    question = draft.question
    missing = [y for y in question.years if y not in document]
    if best.same_language:
        missing += [p for p in question.places if p not in document and not any(a in document for a in question.query.alternatives.get(p, ()))]
    else:
        # Across languages a place is named by its name in that language (杭州 → Hangzhou);
        # one the dictionary cannot name there (西安) is not what the document reports on.
        missing += [p for p in question.places if not any(n in document for n in retriever.lexicon.whole_word(p))]
    if missing:
        term = "、".join(dict.fromkeys(missing))
        return Verdict(False, "names", f"not named by the document: {term}", texts.NOT_FOUND_TERM.format(term=term))
    return Verdict(True, "names")


def withheld(draft: Draft) -> Verdict:
    """The best sentence is the base saying it withholds the asked figure: refuse, and say
    where the verified figure is to be found. Exact (the digest says so), so a hard veto.
    The sentence model ranks a withheld sentence below one from another verified document
    that states the figure, so this fires only when nothing better is found."""
    best = draft.best
    if best is None or not best.withheld:
        return Verdict(True, "withheld")
    doc = best.chunk.doc
    original = doc.original or doc.title
    return Verdict(False, "withheld", "the digest withholds this figure", texts.WITHHELD.format(original=original))


def asked_kind(draft: Draft) -> Verdict:
    """A question asking for a kind of value (a dose, a temperature, a count…) is only
    answered by a sentence stating one."""
    kind = draft.question.kind
    best = draft.best
    if kind is None or best is None or best.states_kind:
        return Verdict(True, "asked_kind")
    return Verdict(False, "asked_kind", f"no {kind.name} stated", texts.NOT_FOUND_KIND.format(kind=kind.label))


def answerability(draft: Draft) -> Verdict:
    """The fitted model's probability that this draft answers the question, against the
    operating threshold chosen on dev for a false-answer rate."""
    model = draft.models.get("answerability")
    if model is None or draft.best is None:
        return Verdict(True, "answerability")
    p = model.probability(draft.signals)
    draft.probabilities["answerability"] = p
    if p >= model.threshold:
        return Verdict(True, "answerability")
    return Verdict(False, "answerability", f"answerability {p:.3f} < {model.threshold:.3f}", _not_found(draft))


# In the order they run; `Settings.checks` names the ones switched on.
CHECKS: dict[str, Check] = {
    "relevance_floor": relevance_floor,
    "names": names,
    "withheld": withheld,
    "asked_kind": asked_kind,
    "answerability": answerability,
}


def run_checks(draft: Draft, enabled: list[str]) -> Verdict:
    for name, check in CHECKS.items():
        if name not in enabled:
            continue
        verdict = check(draft)
        if not verdict.ok:
            return verdict
    return Verdict(True, "")
