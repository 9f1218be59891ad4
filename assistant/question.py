"""Question analysis, done once: the user's text becomes a frozen `Question` that every
later stage reads (retrieval, candidates, checks, composition).

What is analysed here — language, follow-up resolution, synonyms and dictionary
translations, places, years, quoted values, the kind of value asked for, and whether a
whole list or two separate facts are wanted — is never re-derived downstream.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.answer.kinds import Kind, asked_kind
from assistant.lexicon import Lexicon
from assistant.retrieve import Query
from assistant.synonyms import SynonymTable
from assistant.textnorm import detect_language, normalize
from assistant.tokenize import tagged_words, tokenize_normalized, word_units

# A short question that leans on the previous one: 那糖尿病呢？ / 老年人的话？ / what about diabetes?
_FOLLOW_UP = re.compile(r"^(那|那么|那个|还有|如果是|要是|换成|对于|what about|and |how about )|(呢|的话)[?？。]?$", re.I)
_FOLLOW_UP_HEAD = re.compile(r"^(那么|那个|那|还有|如果是|要是|换成|对于|what about|and |how about )|(呢|的话)?[?？。]?$", re.I)
_NARROWS = re.compile(r"^(如果是|要是|对于)|的话[?？。]?$")

# Asking for a whole list: 哪些 / 有什么 / 包括 / 都有啥 / what are the … criteria.
_WANTS_LIST = re.compile(
    r"哪些|哪几|有什么|有啥|都有|包括|包含|分为|分哪|几类|几种|几项|什么情况|啥情况|哪种情况|"
    r"\bwhat are\b|\bwhich\b.{0,40}\b(criteria|conditions|situations|signs|items|kinds|types)\b|\blist\b"
)
# Two facts in one question: 空腹和餐后分别是多少 / A和B各多少.
_TWO_PART = re.compile(r"分别|各(是|为|要|多少|几)|respectively")
_YEAR = re.compile(r"(?:19|20)\d{2}(?=年|$|\D)")
_VALUE = re.compile(r"(?<![a-z\d.])\d+(?:\.\d+)?")  # a number on its own, not the 1 of "FEV1"
_QUESTION_CHARS = re.compile(r"[几多啥咋怎吗么哪谁]")


@dataclass(frozen=True)
class Question:
    raw: str  # what the user typed
    text: str  # normalised, with a follow-up resolved against the conversation
    lang: str  # "zh" | "en"
    query: Query  # what retrieval reads (tokens, expansions, translations)
    kind: Kind | None = None  # the kind of value asked for
    places: tuple[str, ...] = ()
    years: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()  # values the question quotes ("血压160/100")
    nouns: tuple[str, ...] = ()  # content nouns the question names
    focus: tuple[str, ...] = ()  # the words right beside the question word: what is asked about (经费怎么分担 → 经费, 分担)
    wants_list: bool = False
    two_part: bool = False
    follow_up: bool = False
    notes: dict = field(default_factory=dict)


def analyse(
    text: str,
    history: list[str] | None,
    synonyms: SynonymTable,
    lexicon: Lexicon | None,
    use_synonyms: bool = True,
    use_dictionary: bool = True,
    spelling=None,
) -> Question:
    core = normalize(text)
    if spelling is not None:
        core = spelling(core)
    resolved = core
    previous = [h for h in (history or []) if h and h.strip()]
    follow_up = bool(previous and len(core) <= 18 and _FOLLOW_UP.search(core))
    if follow_up:
        resolved = _resolve_follow_up(core, normalize(previous[-1]))
    lang = detect_language(resolved)
    match_text = f"{resolved} {_english_base_forms(resolved)}"
    expansions = synonyms.expand(match_text) if use_synonyms else []
    alternatives = synonyms.alternatives(match_text) if use_synonyms else {}
    related = [t for t in synonyms.related(match_text) if t.isascii()] if use_synonyms else []
    full = " ".join([resolved, *expansions])
    places, nouns = _names(resolved)
    if lexicon:
        # jieba tags some words as places that are not (三联 of 三联疫苗).
        places = [p for p in places if lexicon.is_place(p)]
    core_tokens = tokenize_normalized(resolved)
    query = Query(
        text=full,
        # BM25 also gets the English names of each concept, so a Chinese question can
        # match an English passage word for word and the other way round.
        tokens=tokenize_normalized(" ".join([full, *related])),
        core_text=resolved,
        core_tokens=core_tokens,
        units=word_units(resolved),
        translations=_translate(core_tokens, lexicon) if (use_dictionary and lexicon) else {},
        places=places,
        nouns=nouns,
        expansions=expansions,
        alternatives=alternatives if use_synonyms else {},
    )
    return Question(
        raw=text,
        text=resolved,
        lang=lang,
        query=query,
        kind=asked_kind(resolved),
        places=tuple(places),
        years=tuple(_YEAR.findall(resolved)),
        numbers=tuple(_VALUE.findall(resolved)),
        nouns=tuple(nouns),
        focus=_focus(resolved),
        wants_list=bool(_WANTS_LIST.search(resolved)),
        two_part=bool(_TWO_PART.search(resolved)),
        follow_up=follow_up,
    )


_ASKING = re.compile(r"怎么样|怎么办|怎么|怎样|如何|多少|多久|多长时间|多长|几[次个天年月周岁项种类级分小片]?|哪些|哪个|哪|什么|啥|咋|吗|是否|能否|要不要|能不能|\b(how|what|which|when|who|whom|why)\b")


def _focus(text: str) -> tuple[str, ...]:
    """The content words right before and after the question word: 经费怎么分担 → (经费, 分担),
    高血压患者多久随访一次 → (患者, 随访). They say what is asked about the topic, which the
    answering sentence must say too."""
    out: list[str] = []
    reach = 6 if detect_language(text) == "zh" else 40  # a few Chinese characters, a few English words
    for match in _ASKING.finditer(text):
        before = [w for w in tokenize_normalized(text[max(0, match.start() - reach):match.start()]) if len(w) > 1 or w.isascii()]
        after = [w for w in tokenize_normalized(text[match.end():match.end() + reach]) if len(w) > 1 or w.isascii()]
        if reach > 6:  # whole English words only: the window's edges may cut one
            before, after = before[1:] if match.start() > reach else before, after[:-1] if len(after) > 1 else after
        out += before[-1:] + after[:1]
    return tuple(dict.fromkeys(out))


def _resolve_follow_up(follow: str, previous: str) -> str:
    """Carry the conversation's question over to the follow-up's subject.

    "那糖尿病呢" after "高血压患者多久随访一次" swaps the topic (the previous question's
    first noun) → "糖尿病患者多久随访一次"; "老年人的话" narrows it."""
    narrows = bool(_NARROWS.search(follow))
    subject = _FOLLOW_UP_HEAD.sub("", follow).strip()
    subject = re.sub(r"的$", "", subject)
    if not subject:
        return previous
    _, nouns = _names(previous)
    if narrows or not nouns or detect_language(subject) != detect_language(previous):
        return f"{subject} {previous}"
    return previous.replace(nouns[0], subject, 1)


def _translate(tokens: list[str], lexicon: Lexicon) -> dict[str, list[str]]:
    """The question's words in the other language, as the index spells them."""
    chinese = [t for t in tokens if not t.isascii()]
    if chinese:
        return {t: found for t in chinese if (found := lexicon.to_english(t))}
    return lexicon.to_chinese([t for t in tokens if t.isalpha()])


def _english_base_forms(text: str) -> str:
    out = []
    for word in re.findall(r"[a-z]+", text):
        for suffix, repl in (("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
            if len(word) > len(suffix) + 2 and word.endswith(suffix):
                word = word[: -len(suffix)] + repl
                break
        out.append(word)
    return " ".join(out)


def _names(text: str) -> tuple[list[str], list[str]]:
    """Place names (jieba's ns tag) and Chinese nouns a question names."""
    places, nouns = [], []
    for word, flag in tagged_words(text):
        if len(word) < 2 or word.isascii() or _QUESTION_CHARS.search(word):
            continue
        if flag == "ns":
            places.append(word)
        elif flag in ("n", "nz", "nr", "nt", "ng"):
            nouns.append(word)
    return places, nouns
