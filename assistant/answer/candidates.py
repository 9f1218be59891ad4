"""Candidate answer sentences: every sentence of the passages an answer may draw on,
normalised once, with the measurements that later stages read.

A candidate is a span of a passage, never a sentence written here, so whatever is shown
has the passage behind it. Which sentence answers is decided by a small logistic model over
the measurements (`SENTENCE_FEATURES`), fitted on the dev set by `zhiyi fit` (the label: the
sentence states the item's answer); without a fitted model a hand-set blend stands in.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from assistant.config import Settings
from assistant.question import Question
from assistant.retrieve import Hit, Retriever
from assistant.sentences import LIST_NUMBER, WITHHELD, answer_spans
from assistant.textnorm import display_text, normalize
from assistant.tokenize import tokenize_normalized

# A sentence that leans on the one before it for its subject ("该类患者…", "其中…", "上述…").
LEANS_BACK = re.compile(r"^(该|其|此|上述|以上|这些|这类|此类|这种|它|同时|另外|此外|但|然而|否则|如|若|they\b|this\b|these\b|such\b|it\b)", re.I)
# Qualifiers that mark a branch of a guideline (a population, a setting, an urgency): a
# sentence carrying one the question does not ask about answers another case.
BRANCH_QUALIFIERS = re.compile(
    r"妊娠|孕妇|孕期|哺乳|儿童|青少年|婴幼儿|新生儿|围手术期|术前|术后|紧急|急诊|急性加重|急性发作|危重|重症|住院患者|"
    r"pregnan|child|infant|perioperative|emergency|critically"
)
_VALUE = re.compile(r"(?<![a-z\d.])\d+(?:\.\d+)?")
_BOUND_AFTER = re.compile(r"(<=|>=|[<>≤≥])\s*(\d+(?:\.\d+)?)")  # "≥80%", "<3.9"
_BOUND_BEFORE = re.compile(r"(\d+(?:\.\d+)?)\s*%?\s*(<=|[<≤])(?!\s*\d)")  # "30%≤FEV1"
_QUESTION_CHAR = re.compile(r"[多少几啥咋怎吗么哪呢吧什]")

# The measurements the sentence model reads, in its feature order.
SENTENCE_FEATURES = (
    "coverage",  # IDF share of the question's words the sentence says (whole words, synonyms, dictionary)
    "passage_coverage",  # ... its passage says, title and section included
    "section_coverage",  # ... its section path says
    "bigrams",  # share of the question's character pairs in the sentence (robust to segmentation and typos)
    "focus",  # share of the words beside the question word (what is asked about) the sentence says
    "semantic",  # cosine of the question to the sentence (sentence encoder)
    "rank_prior",  # 1 / (passage rank + 1)
    "dense_z",  # the passage's semantic standing among its language (clipped to 0..4)
    "kind_match",  # +1 states the asked kind of value, -1 asked but not stated, 0 none asked
    "numbers",  # share of the question's quoted values the sentence repeats
    "within_range",  # the sentence states a range holding the question's value
    "branch_mismatch",  # a population/setting/urgency the question did not ask about
    "branch_unsaid",  # share of the question's populations/settings/urgencies neither the sentence nor its section says
    "same_language",
    "authority",
    "list_item",
    "leans_back",  # leans on the previous sentence for its subject
    "withheld",  # says its figure was withheld (see WITHHELD)
    "length",  # log characters
)


@dataclass(eq=False)  # identity: the same span of the same passage is one candidate
class Candidate:
    hit: Hit
    start: int  # span within hit.chunk.text
    end: int
    display: str  # what the reader sees: simplified, list number dropped
    norm: str  # search form, for every comparison
    coverage: float = 0.0
    passage_coverage: float = 0.0
    semantic: float = 0.0
    states_kind: bool = False
    same_language: bool = True
    branch_mismatch: bool = False
    on_topic: bool = True
    list_item: bool = False  # began with a list number (an item of the passage's own list)
    withheld: bool = False  # the digest says it withholds this sentence's figure
    features: dict[str, float] = field(default_factory=dict)
    score: float = 0.0

    @property
    def chunk(self):
        return self.hit.chunk


def reading_form(sentence: str) -> str:
    """An answer sentence as a reader sees it: simplified, no pinyin, no list number."""
    text = display_text(sentence).strip()
    number = LIST_NUMBER.match(text)
    return text[number.end():] if number else text


def build(question: Question, passages: list[Hit], retriever: Retriever, settings: Settings, model=None) -> list[Candidate]:
    """Every readable sentence of the passages, measured and scored, best first."""
    out: list[Candidate] = []
    query = question.query
    asked_branches = set(BRANCH_QUALIFIERS.findall(question.text))
    question_pairs = pairs(_without_places(question))
    for hit in passages:
        same = hit.chunk.lang == question.lang
        text = hit.chunk.text
        passage_cov = (
            retriever.passage_coverage(query, hit.chunk)
            if same
            else max(retriever.passage_coverage(query, hit.chunk), retriever.passage_translated_coverage(query, hit.chunk))
        )
        section = retriever.section_text(hit.chunk)
        section_cov = retriever.coverage(query, retriever.section_tokens(hit.chunk), section)
        for start, end, list_item in answer_spans(text, settings.max_sentence_chars):
            norm = normalize(text[start:end])
            if len(norm) < 6:
                continue
            tokens = set(tokenize_normalized(norm))
            cov = retriever.coverage(query, tokens, norm, whole_words=True)
            if not same:
                cov = max(cov, retriever.translated_coverage(query, tokens, norm))
            sentence_pairs = pairs(norm)
            cand = Candidate(
                hit=hit, start=start, end=end, display=reading_form(text[start:end]), norm=norm,
                coverage=cov, passage_coverage=passage_cov,
                states_kind=bool(question.kind and question.kind.holds(norm)),
                same_language=same,
                list_item=list_item,
                withheld=bool(WITHHELD.search(norm)),
                branch_mismatch=bool(set(BRANCH_QUALIFIERS.findall(norm)) - asked_branches),
                on_topic=bool(question_pairs & sentence_pairs) or _said_by_synonym(question, norm) if (same and question.lang == "zh") else cov > 0,
            )
            numbers = set(question.numbers)
            cand.features = {
                "coverage": cov,
                "passage_coverage": passage_cov,
                "section_coverage": section_cov,
                "bigrams": len(question_pairs & sentence_pairs) / len(question_pairs) if question_pairs else 0.0,
                "focus": _focus_said(question, norm),
                "rank_prior": 1.0 / (hit.rank + 1),
                "dense_z": min(max(hit.dense_z, 0.0), 4.0),
                "kind_match": 0.0 if question.kind is None else (1.0 if cand.states_kind else -1.0),
                "numbers": len(numbers & set(_VALUE.findall(norm))) / len(numbers) if numbers else 0.0,
                "within_range": float(
                    len(numbers) == 1 and _within_stated_range(float(next(iter(numbers))), norm)
                ),
                "branch_mismatch": float(cand.branch_mismatch),
                # Asked about an acute attack, answered from the maintenance section: the
                # reverse of a mismatch, and as wrong.
                "branch_unsaid": (
                    len({b for b in asked_branches if b not in norm and b not in section}) / len(asked_branches) if asked_branches else 0.0
                ),
                "same_language": float(same),
                "authority": settings.authority_weight(hit.chunk.doc.authority),
                "list_item": float(cand.list_item),
                "leans_back": float(bool(LEANS_BACK.search(cand.display))),
                "withheld": float(cand.withheld),
                "length": math.log1p(len(norm)),
            }
            out.append(cand)
    sims = retriever.sentence_similarities(question.text, [(c.chunk, c.start, c.end) for c in out])
    for i, cand in enumerate(out):
        cand.semantic = float(sims[i]) if sims is not None else 0.0
        cand.features["semantic"] = cand.semantic
        cand.score = model.logit(cand.features) if model is not None else _hand_score(cand, settings)
    out.sort(key=lambda c: c.score, reverse=True)
    return out


def _hand_score(cand: Candidate, settings: Settings) -> float:
    """The blend used before a sentence model is fitted (and to fit one from)."""
    f = cand.features
    w = settings.sentence_weight
    return (
        w * f["coverage"] + (1 - w) * f["passage_coverage"] + settings.rank_prior * f["rank_prior"]
        + settings.dense_prior * f["dense_z"] / 4.0 + settings.authority_prior * f["authority"]
        + settings.semantic_weight * f["semantic"] + settings.kind_bonus * max(f["kind_match"], 0.0)
        + 0.2 * f["numbers"] + 0.3 * f["within_range"] * (f["coverage"] >= 0.5)
        - settings.branch_penalty * f["branch_mismatch"] - settings.language_penalty * (1 - f["same_language"])
    )


def _focus_said(question: Question, sentence: str) -> float:
    if not question.focus:
        return 0.0
    alternatives = question.query.alternatives
    said = sum(w in sentence or any(a in sentence for a in alternatives.get(w, ())) for w in question.focus)
    return said / len(question.focus)


def _within_stated_range(value: float, sentence: str) -> bool:
    """"FEV1 40%算几级" is answered by "3级为重度，30%≤FEV1占预计值%<50%"."""
    for clause in re.split(r"[；;，,。]", sentence):
        bounds = [(op, float(n)) for op, n in _BOUND_AFTER.findall(clause)]
        bounds += [({"<": ">", "≤": "≥", "<=": ">="}[op], float(n)) for n, op in _BOUND_BEFORE.findall(clause)]
        if bounds and all(_holds(value, op, bound) for op, bound in bounds):
            return True
    return False


def _holds(value: float, op: str, bound: float) -> bool:
    return {"<": value < bound, ">": value > bound, "≤": value <= bound, "<=": value <= bound, "≥": value >= bound, ">=": value >= bound}[op]


def pairs(text: str) -> set[str]:
    """Adjacent Han character pairs, question words left out."""
    return {
        text[i:i + 2]
        for i in range(len(text) - 1)
        if "\u4e00" <= text[i] <= "\u9fff" and "\u4e00" <= text[i + 1] <= "\u9fff" and not _QUESTION_CHAR.search(text[i:i + 2])
    }


def _without_places(question: Question) -> str:
    core = question.text
    for place in question.places:
        core = core.replace(place, " ")
    return core


def _said_by_synonym(question: Question, sentence: str) -> bool:
    query = question.query
    return any(alt in sentence for tok in query.core_tokens if tok not in question.places for alt in query.alternatives.get(tok, ()))
