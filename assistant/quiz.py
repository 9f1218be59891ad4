"""Quiz banks (题库) for trainers: facts of the knowledge base turned into exam questions.

Nothing is written by a model: every question is one sentence of a passage about the topic,
with one fact of it asked —

- a **value** (an interval, threshold, target, dose, age or share: "每年至少4次") becomes a
  single-choice or fill-in question, or a true/false statement;
- an **enumeration** ("常用的两药联合方案包括：A、B、C") becomes a multiple-choice question,
  or a single-choice one, or a true/false statement.

Wrong options are never invented either: they are other values of the same kind (same unit,
same shape) or other members of a similar list, taken from the corpus, nearest first so they
are plausible. Each is checked not to be true: it must not be in the cited passage, and no
sentence anywhere in the base may state it in a sentence like the question's (two guideline
editions that differ would otherwise make a "wrong" option right). A true/false statement is
made false only where the value is exact; "至少4次" changed to "至少2次" is still true.

The explanation quotes the cited sentence verbatim. The same seed gives the same bank.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, Field

from assistant import texts
from assistant.config import Settings
from assistant.models import AUTHORITY_LABELS, DISCLAIMER, Chunk
from assistant.pipeline import Assistant
from assistant.retrieve import Retriever
from assistant.sentences import WITHHELD, answer_spans
from assistant.textnorm import display_text, normalize
from assistant.topic import QUICK_REFERENCE, TopicPassages, heading_parts, topic_passages

QuestionType = Literal["single", "multi", "judge", "fill"]
TYPES: tuple[QuestionType, ...] = ("single", "multi", "judge", "fill")
TYPE_LABELS = {"single": "单选题", "multi": "多选题", "judge": "判断题", "fill": "填空题"}
LETTERS = "ABCDE"
TRUE, FALSE = "正确", "错误"
AS_WRITTEN = "下列数值中，填入括号后与原文一致的是："  # a value choice asks for the document's figure

# A value a question can ask: a number (or range, or systolic/diastolic pair) with a unit a
# trainer teaches. Not a list number, an ordinal (第3次) or part of a formula (×100%).
VALUE = re.compile(
    r"(?<![×*/\d.第A-Za-z])(?<!\d )(?<!\d\u00a0)(?P<num>\d+(?:\.\d+)?(?:\s*(?P<sep>[~～\-–/])\s*\d+(?:\.\d+)?)?)\s*"
    r"(?P<unit>mmHg|mmol/L|μmol/L|mg/d|mg|g/d|kg/m²|g|%|次/年|次|周|个月|天|日|小时|分钟|岁|年)(?![A-Za-z/])"
)
# Units of measurement: the same number in one of these is the same fact wherever it is said.
MEASURES = {"mmHg", "mmol/L", "μmol/L", "%", "kg/m²", "mg", "mg/d", "g", "g/d"}
# Words that make a value a bound: "至少4次" is still true of 2, "≥180" still true of 200.
BOUND_BEFORE = re.compile(r"(?:[<>≤≥＜＞]|至少|不少于|不低于|不超过|不高于|不大于|不小于|超过|高于|低于|大于|小于|达到|满|不足|未满|以上至)\s*$")
BOUND_AFTER = re.compile(r"^\s*(?:以上|以下|以内|之内|内|及以上|及以下|或以上|或以下|左右|至少|最多)")

# An enumeration in one sentence: what is listed, the listing verb, the members.
ENUMERATION = re.compile(
    r"^(?P<lead>[^：:。；]{4,80}?)(?P<verb>包括但不限于|主要包括|包括|包含|主要有|常见的?有|常用的?有|可有|分为)(?P<note>（[^）]{0,12}）)?[：:]?(?P<items>[^：:]+?)[。；]?$"
)
ETC = re.compile(r"等[\u4e00-\u9fff]{0,4}$")
# A sentence that leans on the one before it cannot stand alone as a question: it starts
# with a link word, or points elsewhere ("经上述处理后" — a trainer review found the 处理
# missing from the question).
DEPENDENT_START = re.compile(r"^(?:其中|此外|另外|上述|以上|该|此|其|同时|但|并且|并|而|如|对此|因此|这|或|及|且|和|与)")
POINTS_ELSEWHERE = re.compile(r"上述|前述|下述|如下|下列|见上|见下|同上|前款|本条")
# Who a question is for: village doctors and township staff. Hospital-ward procedure (IV
# infusion rates, weight-based and peri-operative dosing) and approximate statistics ("约5%
# 的患者") were found outside what they are examined on; a whole peri-operative section too
# (an inpatient glucose target was asked). Risk multiples ("跌倒风险是……2.25倍") are statistics:
# 倍 is not a unit a value is asked in.
OUT_OF_SCOPE = re.compile(r"静脉|/kg|/\(kg|麻醉|术前|术后|围手术期|约\s*\d")
# A true/false statement, or an option of "下列表述", must say something: a list member
# ("体质指数<24.0 kg/m²") is no statement (a review found such a 判断题 undecidable).
PREDICATE = re.compile(r"应|为|是|须|需|宜|可|建议|推荐|不得|禁|指|包括|规定|要求|进行|给予|采用|使用|分为|属于|提供|完成|到位|随访|转诊|诊断|检查|检测|测量|监测|评估|接种|停用|管理|记录|报告|讨论")
# Survey data ("2013年……患病率为10.4%") describes a population and a tablet's 规格 is the
# pharmacy's business: neither is a rule a village doctor is examined on.
SURVEY = re.compile(r"患病率|发病率|流行病学|调查|截肢率|死亡率|规格|我国")
# A definition: "会诊是指……". The term is asked, other defined terms are the wrong options.
DEFINITION = re.compile(r"^(?P<term>[^，。：；、（）]{2,24}?)(?P<body>(?:是指|系指|指的是)[：:]?.{8,})$")
CAPPED_FORMS = ("term", "statements")  # the forms held to settings.quiz_max_form_share
NEAR_UNITS = MEASURES | {"岁"}
# What a value can physically be: 每周10～14天 is no option (trainer review).
# The per-period word may stand a few words off: "每日吸氧时间>15小时" (a review found ">24小时").
CEILINGS = ((re.compile(r"每周[^\d，。；]{0,8}$"), ("天", "日"), 7), (re.compile(r"每[天日][^\d，。；]{0,8}$"), ("小时",), 24),
            (re.compile(r"每年[^\d，。；]{0,8}$"), ("个月",), 12), (re.compile(r""), ("%",), 99.9))
# Generic words of a defined term: the rest of the term must not be in its definition, or the
# question gives its answer away ("首诊负责制度是指：……即首诊医师……").
TERM_GENERIC = re.compile(r"制度|管理|办法|规定|标准|现象|状态|情况")
# Not checked against the original, contested (a reviewer's flag recorded in the digest), or a
# digest's note about itself: nothing to examine anyone on.
META = re.compile(r"本摘要|原文|未核实|有争议|核对")


# -- what a bank is ---------------------------------------------------------------------------
class QuizSource(BaseModel):
    title: str
    original: str = ""
    year: int | None = None
    authority: str = ""
    section: str = ""
    file: str
    chunk_ids: list[str]  # the passages the question is taken from

    def label(self) -> str:
        year = f"（{self.year}年）" if self.year else ""
        section = f" · {self.section}" if self.section else ""
        return f"《{self.title}》{year}{section}"


class QuizItem(BaseModel):
    number: int
    type: QuestionType
    form: Literal["value", "term", "list", "statements"]  # what of the source is asked
    stem: str
    core: str  # the stem without the 根据《…》 that names its source
    options: list[str] = Field(default_factory=list)  # A–E; empty for true/false and fill-in
    answer: str  # "B", "ACD", 正确/错误, or the value that fills the blank
    accepted: list[str] = Field(default_factory=list)  # a fill-in's other right spellings ("6" for "6.0")
    correct: list[str]  # what is right: the value, the term, or the members that are options
    keywords: list[str]  # what an answer to the question must say (the eval item's keywords)
    distractors: list[str] = Field(default_factory=list)  # the wrong options (or the changed value)
    quotes: list[str]  # the cited sentences, verbatim (several for "下列说法正确的是")
    explanation: str
    source: QuizSource

    @property
    def type_label(self) -> str:
        return TYPE_LABELS[self.type]


class QuizBank(BaseModel):
    topic: str
    covered: bool
    message: str = ""
    seed: int = 0
    types: list[QuestionType] = Field(default_factory=lambda: list(TYPES))
    items: list[QuizItem] = Field(default_factory=list)
    disclaimer: str = DISCLAIMER


# -- facts ---------------------------------------------------------------------------------
def _numbers(num: str) -> tuple[float, ...]:
    return tuple(float(x) for x in re.split(r"[～/]", num))


def _decimals(num: str) -> tuple[int, ...]:
    return tuple(len(p.split(".")[1]) if "." in p else 0 for p in re.split(r"[～/]", num))


def _apart(a: str, b: str) -> bool:
    """Two ranges that share no value."""
    return max(_numbers(a)) < min(_numbers(b)) or min(_numbers(a)) > max(_numbers(b))


@dataclass
class Value:
    start: int  # of the number in the sentence
    end: int
    num: str  # normalised: "1～3", "140/90", "7.0"
    unit: str
    bounded: bool
    unit_end: int = 0  # where the unit ends in the sentence
    raw: str = ""  # the number as the sentence writes it ("2~4", "1 000")
    context: str = ""  # the words just before it ("舒张压≥"), what it measures

    @property
    def kind(self) -> tuple[str, str]:
        shape = "pair" if "/" in self.num else "range" if "～" in self.num else "single"
        return self.unit, shape

    @property
    def text(self) -> str:
        return with_unit(self.raw or self.num, self.unit)

    def like(self, num: str) -> str:
        """Another number written the way this one is (its range sign), with the unit."""
        sign = next((c for c in self.raw if c in "~～-–"), "～")
        return with_unit(num.replace("～", sign), self.unit)


def with_unit(num: str, unit: str) -> str:
    # Latin units read as the guidelines print them: "7.0 mmol/L", but "4次".
    return f"{num} {unit}" if unit[0].isascii() and unit != "%" else num + unit


def _differs(a: str, b: str, min_difference: float) -> bool:
    """A wrong number is a different rule, not a rounding of the right one (67 % vs 68 %)."""
    x, y = _numbers(a), _numbers(b)
    step = 10.0 ** -max(_decimals(b))
    # Every part differs, by a share and by more than a last-digit step: "2～3次" for "2～4次"
    # or 150/90 for 140/90 tests a hair, 67 % for 68 % a rounding; 88 % for 92 % SaO2 is a rule.
    return len(x) == len(y) and all(
        abs(p - q) / max(abs(p), abs(q), 1e-9) >= min_difference and abs(p - q) >= 2 * step for p, q in zip(x, y)
    )


@dataclass
class Fact:
    chunk: Chunk
    sentence: str  # display text, verbatim from the passage
    rank: int
    values: list[Value] = field(default_factory=list)
    lead: str = ""  # an enumeration: what is listed, the listing verb, the members
    verb: str = ""
    items: list[str] = field(default_factory=list)
    term: str = ""  # a definition: the term, and the rest of the sentence ("是指：……")
    body: str = ""

    @cached_property
    def grams(self) -> set[str]:
        """What the sentence is about (its bigrams), compared against many sentences: once."""
        return _bigrams(self.sentence)


def _values(sentence: str) -> list[Value]:
    out = []
    for m in VALUE.finditer(sentence):
        num = re.sub(r"\s*[~～\-–]\s*", "～", re.sub(r"\s*/\s*", "/", m.group("num")))
        unit = m.group("unit")
        if unit == "年" and _numbers(num)[0] >= 1900:
            continue  # a calendar year, not a duration
        before, after = sentence[: m.start()], sentence[m.end() :]
        if after.lstrip().startswith(("～", "~")) or before.rstrip().endswith(("～", "~")):
            continue  # half of a range written with the unit twice ("5%～10%")
        bounded = bool(BOUND_BEFORE.search(before) or BOUND_AFTER.match(after))
        if unit == "%" and not bounded and "～" not in num:
            continue  # a target ("<7%") or a range is taught; "约5%的患者" or "增加45%" is trivia
        context = re.split(r"[，。；：、,;:（(]", before)[-1][-8:]
        out.append(Value(m.start("num"), m.end("num"), num, unit, bounded, m.end("unit"), m.group("num"), context))
    return out


def _split_top(text: str, separators: str) -> list[str]:
    """Split at separators outside brackets: "家族史（高血压、脑卒中）、病程" is two members."""
    parts, depth, current = [], 0, []
    for ch in text:
        depth += ch in "（(［[" 
        depth -= ch in "）)］]" and depth > 0
        if ch in separators and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _enumeration(sentence: str) -> tuple[str, str, list[str]] | None:
    m = ENUMERATION.match(sentence)
    if not m:
        return None
    body = m.group("items")
    clauses = _split_top(body, "；;")
    items = clauses if len(clauses) > 1 else _split_top(body, "、")
    items = [i.strip(" 。，,") for i in items]
    if items:
        items[-1] = ETC.sub("", items[-1]).strip()
        # "A、B和C": the last two members are joined by 和.
        last = re.split(r"(?<=[^\s])(?:和|以及)(?=[^\s])", items[-1], maxsplit=1)
        if len(items) >= 2 and len(last) == 2 and all(len(x) >= 2 for x in last):
            items[-1:] = last
    if len(items) < 3 or any(not 2 <= len(i) <= 30 or _split_top(i, "，,：:") != [i] for i in items):
        return None
    if len(set(items)) < len(items):
        return None
    return m.group("lead").strip(" ，,"), m.group("verb"), items


def _definition(sentence: str) -> tuple[str, str] | None:
    m = DEFINITION.match(sentence)
    return (m.group("term").strip(), m.group("body").strip()) if m else None


def _bigrams(text: str) -> set[str]:
    """Character bigrams of the Han and Latin text, numbers left out: what a sentence is about."""
    plain = re.sub(r"[^\u4e00-\u9fffA-Za-z]", "", normalize(text))
    return {plain[i : i + 2] for i in range(len(plain) - 1)}


def _overlap(a: set[str], b: set[str]) -> float:
    """Containment of the smaller set in the larger: how much one text says of the other."""
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


@dataclass
class Corpus:
    """The whole base, read once per bank: every sentence with the values, lists and
    definitions it states — where wrong options come from and are checked against."""

    sentences: list[str]
    values: dict[tuple[str, str], dict[str, list[int]]]  # kind → number → sentences stating it
    contexts: dict[tuple[tuple[str, str], str], set[str]]  # (kind, number) → bigrams of what it measures
    lists: list[tuple[int, str, list[str]]]  # (sentence, lead, members)
    terms: dict[str, int]  # defined term → its definition sentence
    joined: str
    sources: list[str] = field(default_factory=list)  # each sentence's document
    grams: list[set[str]] = field(default_factory=list)  # each sentence's bigrams, made once
    topic: set[str] = field(default_factory=set)  # the topic's bigrams: shared by every list about it
    settings: Settings = field(default_factory=Settings)  # the quiz_* limits

    @classmethod
    def of(cls, retriever: Retriever, max_chars: int) -> "Corpus":
        sentences: list[str] = []
        sources: list[str] = []
        values: dict[tuple[str, str], dict[str, list[int]]] = {}
        contexts: dict[tuple[tuple[str, str], str], set[str]] = {}
        lists, terms = [], {}
        for chunk in retriever.chunks:
            if chunk.lang != "zh":
                continue
            for start, end, _ in answer_spans(chunk.text, max_chars):
                sentence = display_text(chunk.text[start:end]).strip()
                index = len(sentences)
                sentences.append(sentence)
                sources.append(chunk.doc.source)
                for v in _values(sentence):
                    values.setdefault(v.kind, {}).setdefault(v.num, []).append(index)
                    contexts.setdefault((v.kind, v.num), set()).update(_bigrams(v.context))
                enumeration = _enumeration(sentence) if not META.search(sentence) else None
                if enumeration:
                    lists.append((index, enumeration[0], enumeration[2]))
                definition = _definition(sentence)
                if definition:
                    terms.setdefault(definition[0], index)
        return cls(sentences, values, contexts, lists, terms, "\n".join(sentences), sources, [_bigrams(s) for s in sentences])

    def states_value(self, fact: Fact, value: Value, num: str) -> bool:
        """Does some sentence of the base give `num` for what `fact`'s sentence is about?"""
        return any(_overlap(fact.grams, self.grams[i]) >= 0.5 for i in self.values.get(value.kind, {}).get(num, ()))

    def states_member(self, lead: str, member: str) -> bool:
        """Does some sentence of the base name `member` in a sentence about `lead`?"""
        if member not in self.joined:
            return False
        about = _bigrams(lead)
        return any(member in s and _overlap(about, _bigrams(s.replace(member, ""))) >= 0.6 for s in self.sentences)


def _facts(found: TopicPassages, settings) -> tuple[list[Fact], int]:
    """The sentences a question may ask, and how many on-topic sentences were left out as unverified."""
    facts: list[Fact] = []
    unverified = 0
    # Whole documents whose title says half the topic (高血压 of 高血压随访): each sentence is
    # then held to the whole topic below.
    for rank, chunk in enumerate(found.with_documents(settings.handout_coverage)):
        if chunk.lang != "zh":
            continue
        for start, end, _ in answer_spans(chunk.text, settings.max_sentence_chars):
            sentence = display_text(chunk.text[start:end]).strip()
            if not 10 <= len(sentence) <= settings.quiz_max_sentence_chars or WITHHELD.search(sentence):
                continue  # a fragment, or a digest's note that it withheld a figure
            if DEPENDENT_START.match(sentence) or POINTS_ELSEWHERE.search(sentence) or sentence.endswith(("：", ":")):
                continue
            if OUT_OF_SCOPE.search(f"{chunk.section} {sentence}"):
                continue
            if QUICK_REFERENCE.search(chunk.section) or SURVEY.search(f"{chunk.section} {sentence}"):
                continue  # a digest's quick-reference list restates its body: the same facts twice
            # The sentence itself, under its title and section, must say the topic: a 糖尿病转诊
            # bank asks about 转诊, not any sentence of a diabetes guideline.
            if not found.says_topic(chunk, sentence, settings.quiz_coverage):
                continue
            if META.search(sentence):
                # Not checked against the original ("（未核实）") or a digest's note about
                # itself: nothing to examine anyone on.
                unverified += texts.UNVERIFIED_MARK in sentence
                continue
            fact = Fact(chunk, sentence, rank, values=_values(sentence))
            enumeration = _enumeration(sentence)
            if enumeration:
                fact.lead, fact.verb, fact.items = enumeration
            definition = _definition(sentence)
            if definition:
                fact.term, fact.body = definition
            facts.append(fact)  # a plain rule can be a true option of "下列说法正确的是"
    # One fact once: the same sentence restated in another document is the same question.
    # Where two editions state it differently (4次 against an older 3次), the stronger and
    # newer document's sentence is the one kept: a bank teaches the current rule.
    strength = {id(f): (-settings.authority_weight(f.chunk.doc.authority), -(f.chunk.doc.year or 0), f.rank) for f in facts}
    kept: list[Fact] = []
    for fact in sorted(facts, key=lambda f: strength[id(f)]):
        if all(_overlap(fact.grams, k.grams) < 0.8 for k in kept):
            kept.append(fact)
    unique = [f for f in facts if any(f is k for k in kept)]
    return unique, unverified


# -- wrong options -----------------------------------------------------------------------------
def _value_distractors(corpus: Corpus, fact: Fact, value: Value, rng: random.Random, want: int) -> list[str]:
    """Other numbers of the same kind from the base, nearest in size first, none true here."""
    settings = corpus.settings
    others: dict[tuple[float, ...], tuple[float, bool, float, str]] = {}
    said = re.sub(r"\s*[~～\-–]\s*", "～", fact.sentence)  # ranges written as the corpus keys them
    ceiling = next((top for before, units, top in CEILINGS if value.unit in units and before.search(fact.sentence[: value.start])), None)
    about = _bigrams(value.context)
    for num in corpus.values.get(value.kind, {}):
        if not _differs(num, value.num, settings.quiz_min_difference) or re.search(rf"(?<![\d.]){re.escape(num)}\s*{re.escape(value.unit)}", said):
            continue  # the right number, a rounding of it, or another of this sentence's values
        if _decimals(num) != _decimals(value.num) or (ceiling is not None and max(_numbers(num)) > ceiling):
            continue  # "83.88岁" among whole ages, or more days than a week has
        if value.kind[1] == "range" and not _apart(num, value.num):
            continue  # "3～5天" for "5～7天" overlaps the right range: partly right
        if corpus.states_value(fact, value, num):
            continue
        distance = abs(math.log1p(_numbers(num)[0]) - math.log1p(_numbers(value.num)[0]))
        factor = (settings.quiz_pair_distance_factor if value.kind[1] == "pair" else settings.quiz_measure_distance_factor
                  if value.unit in NEAR_UNITS else settings.quiz_distance_factor)
        limit = math.log(factor)
        if distance > limit:
            continue  # "每天至少查房52次" or "收缩压≥70 mmHg" is no option anyone would weigh
        # Nearest first among numbers said of the same thing (values after "舒张压" for a
        # 舒张压 threshold), then the rest.
        likeness = _overlap(about, corpus.contexts.get((value.kind, num), set()))
        if value.unit in MEASURES and likeness < settings.quiz_min_context_likeness:
            continue  # a measurement offered must be one said of a like quantity: no 130 for a 舒张压
        # A value several rules use (24小时, 2周) before one that a single sentence happens to
        # say (11分钟, 15小时: a review found them odd).
        rare = len(corpus.values[value.kind][num]) < 2
        others[_numbers(num)] = (-round(likeness * 4) / 4, rare, distance, num)
    ordered = [num for *_, num in sorted(others.values())]
    if value.kind[1] == "range":  # wrong ranges that overlap each other ("1～2、2～4、2～3周") read as noise
        apart: list[str] = []
        for num in ordered:
            if all(_apart(num, o) for o in apart):
                apart.append(num)
        ordered = apart
    near = ordered[: want * 2 + 2]
    # Of the nearest, round numbers before odd ones, as a question writer picks them: 5 or
    # 30 minutes for 10, not the 6 minutes some other rule happens to say.
    near = sorted(near, key=lambda num: _odd(num, value))[: want + 1]
    if value.unit in CONVENTIONAL:
        # A unit with conventions has no odd wrong figure at all: 11分钟 beside 5分钟 gives
        # itself away (two reviews); too few conventional ones and the value is not asked so.
        near = [num for num in near if not _odd(num, value)]
    return rng.sample(near, want) if len(near) >= want else []


# The figures rules are written in, per unit: 24小时 and 48小时, not 15小时; 10 or 15分钟, not 11
# (reviews found 15小时, 11分钟 odd); the rest in fives.
CONVENTIONAL = {
    "小时": {1, 2, 3, 4, 6, 8, 12, 24, 48, 72}, "分钟": {1, 2, 3, 5, 10, 15, 20, 30, 45, 60, 90, 120},
    "天": {1, 2, 3, 5, 7, 10, 14, 30}, "日": {1, 2, 3, 5, 7, 10, 14, 30}, "周": {1, 2, 3, 4, 6, 8, 12, 24},
    "个月": {1, 2, 3, 6, 9, 12, 18, 24}, "年": {1, 2, 3, 5, 10, 15, 20, 30},
}


def _odd(num: str, value: Value) -> bool:
    """A figure no rule would be written in, for this unit and size."""
    parts = _numbers(num)
    if value.unit in CONVENTIONAL:
        return any(p not in CONVENTIONAL[value.unit] for p in parts)
    return _numbers(value.num)[0] >= 5 and any(p % 5 for p in parts)


def _member_distractors(corpus: Corpus, fact: Fact, rng: random.Random, want: int) -> list[str]:
    """Members of the most similar other lists in the base, none a member of this one."""
    # Likeness of two leads without the topic's own words: every list of a 高血压 bank says 高血压.
    about = _bigrams(fact.lead) - corpus.topic
    members = [_bigrams(i) for i in fact.items]
    passage = display_text(fact.chunk.text)
    lengths = sorted(len(i) for i in fact.items)
    median = lengths[len(lengths) // 2]
    ranked = sorted(
        ((-_overlap(about, _bigrams(lead) - corpus.topic), index, items) for index, lead, items in corpus.lists if corpus.sentences[index] != fact.sentence),
        key=lambda t: (t[0], t[1]),
    )
    pool: list[str] = []
    for similarity, index, items in ranked:
        if -similarity < corpus.settings.quiz_min_list_likeness:
            break  # members of an unrelated list (a test for a 查房 list) are no plausible option
        if corpus.sources[index] != fact.chunk.doc.source:
            # Only the same document's other lists: another document's list of the same kind is
            # about another disease, and its members may be true of this one too (糖尿病教育's
            # 个体化治疗目标 offered as wrong for 哮喘教育).
            continue
        for item in items:
            if item in pool or item in passage or not 0.4 * median <= len(item) <= 2.5 * median:
                continue
            grams = _bigrams(item)
            if any(_overlap(grams, m) >= 0.5 or item in i or i in item for m, i in zip(members, fact.items)):
                continue
            if corpus.states_member(fact.lead, item):
                continue
            pool.append(item)
        if len(pool) >= want * 2:
            break
    return rng.sample(pool, want) if len(pool) >= want else []


def _term_distractors(corpus: Corpus, fact: Fact, rng: random.Random, want: int) -> list[str]:
    """Other terms the base defines, the most alike first (other 制度 for a 制度); never one
    the definition itself names, nor a variant of the right term."""
    grams = _bigrams(fact.term)
    candidates = []
    for term, index in corpus.terms.items():
        if term == fact.term or term in fact.sentence or fact.term in term or term in fact.term:
            continue
        if term.endswith("制度") != fact.term.endswith("制度"):
            continue  # one option "会诊" among "……制度" gives itself away
        likeness = _overlap(grams, _bigrams(term))
        if likeness >= 0.8 or corpus.sentences[index] == fact.sentence:
            continue
        candidates.append((-likeness, index, term))
    near = [term for _, _, term in sorted(candidates)[: want * 2]]
    return rng.sample(near, want) if len(near) >= want else []


# -- questions ---------------------------------------------------------------------------------
def _source(facts: list[Fact]) -> QuizSource:
    chunk = facts[0].chunk
    doc = chunk.doc
    return QuizSource(
        title=doc.title, original=doc.original, year=doc.year, authority=AUTHORITY_LABELS.get(doc.authority, ""),
        section=" > ".join(heading_parts(chunk.section)[:2]), file=doc.source, chunk_ids=list(dict.fromkeys(f.chunk.id for f in facts)),
    )


SECTION_NUMBER = re.compile(r"^(?:[（(][一二三四五六七八九十\d]+[）)]|[一二三四五六七八九十]+、|第[一二三四五六七八九十\d]+章|\d+(?:\.\d+)+|\d+(?=\s))\s*")


GENERIC_HEADINGS = {"定义", "基本要求", "概述", "要求", "内容", "说明", "总则", "附则"}


def _leaf(chunk: Chunk) -> str:
    """The heading a sentence sits under, with its parent where it alone says nothing
    ("会诊制度 · 基本要求", not "基本要求")."""
    parts = [SECTION_NUMBER.sub("", p).strip() for p in heading_parts(chunk.section)]
    if len(parts) >= 2 and parts[-1] in GENERIC_HEADINGS:
        return f"{parts[-2]} · {parts[-1]}"
    return parts[-1] if parts else ""


def _according(fact: Fact, name_section: bool | str = True) -> str:
    """Guidelines differ between editions, so a question names the document it is asked
    from; and the section, where the sentence leans on it ("常用维持剂量……" under 硝苯地平)."""
    leaf = _leaf(fact.chunk)
    if leaf and (name_section == "always" or (name_section and _overlap(_bigrams(leaf), fact.grams) < 0.5)):
        return f"根据{_document_name(fact.chunk)}“{leaf}”部分，"
    return f"根据{_document_name(fact.chunk)}，"


def _document_name(chunk: Chunk) -> str:
    """The original document's own name and year, not the digest's (a review asked for the
    guideline's name in an exam, not "……要点")."""
    doc = chunk.doc
    name = doc.original if doc.original and "；" not in doc.original else doc.title
    name = re.sub(r"（[^）]*?(?:核心要点|要点)）$", "", name).strip()
    year = f"（{doc.year}年）" if doc.year and str(doc.year) not in name else ""
    return f"《{name}》{year}"


def _explain(facts: list[Fact], source: QuizSource) -> str:
    return "原文：" + "".join(f"“{f.sentence}”" for f in facts) + f"（出处：{source.label()}）"


def _choices(correct: list[str], wrong: list[str], rng: random.Random, ordered: bool) -> tuple[list[str], str]:
    options = correct + wrong
    if ordered:  # numbers read best in order, as exam papers print them
        options.sort(key=lambda o: float(re.match(r"\d+(?:\.\d+)?", o).group(0)))
    else:
        rng.shuffle(options)
    return options, "".join(LETTERS[i] for i, o in enumerate(options) if o in correct)


def _said_elsewhere(fact: Fact, value: Value) -> bool:
    """Is the asked number also written elsewhere in the sentence (舒张压≥（　）… 舒张压<90)?"""
    rest = fact.sentence[: value.start] + " " + fact.sentence[value.end :]
    return any(re.search(rf"(?<![\d.]){re.escape(part)}(?![\d.])", rest) for part in re.split(r"[～~/\-–]", value.raw))


def _unit_alone(fact: Fact, value: Value) -> bool:
    """Is this the sentence's only value in its unit?"""
    return sum(o.unit == value.unit for o in fact.values) == 1


def _changeable(fact: Fact) -> list[Value]:
    """Values a false statement may change: an exact one — a bound changed may still be true
    ("通常<30岁" made "<35岁", "≥65岁接种" made "≥70岁": a review judged both literally true);
    not a lone 1 ("每月随诊1次" made "3次" reads absurd); not one whose unit the sentence uses
    again, where the change contradicts the rest ("每天4次……分1～2次服")."""
    return [v for v in fact.values if not v.bounded and v.num != "1" and _unit_alone(fact, v)]


# A duration that is part of a measure's name, not a rule: 餐后2小时血糖, 24小时平均血压,
# 6分钟步行 (reviews found 6/8/12小时 offered against a fixed term).
MEASURE_NAME = re.compile(r"^(?:平均|动态|尿|血糖|步行|心电|血压|清除率|摄碘率)")


def _names_a_measure(fact: Fact, value: Value) -> bool:
    return value.unit in ("小时", "分钟") and bool(MEASURE_NAME.match(fact.sentence[value.unit_end :]))


def _value_question(kind: QuestionType, corpus: Corpus, fact: Fact, rng: random.Random, truth: bool = True) -> dict | None:
    # Not a value the stem hints at: its number written again, or another of its unit beside it
    # ("4周达最大疗效" next to the asked 2周; 收缩压140 next to the asked 舒张压90).
    usable = [v for v in fact.values if not (v.unit == "次" and v.num == "1") and not _said_elsewhere(fact, v)
              and _unit_alone(fact, v) and not _names_a_measure(fact, v)]
    if kind == "judge":
        if not PREDICATE.search(fact.sentence):
            return None
        usable = fact.values if truth else _changeable(fact)
    for value in rng.sample(usable, len(usable)):
        before, after = fact.sentence[: value.start], fact.sentence[value.end :]
        asked = {"correct": [value.text], "keywords": [value.text], "values": [value], "form": "value", "answers": [value]}
        if kind == "fill":  # the unit stays in the stem: the blank takes the number
            return {"stem": f"{before}____{after}", **asked, "answer": value.raw, "correct": [value.raw]}
        if kind == "single":
            wrong = [value.like(w) for w in _value_distractors(corpus, fact, value, rng, 3)]
            if wrong:
                options, answer = _choices([value.text], wrong, rng, ordered=True)
                # Asked as the document's own figure. A bound has no one right number as such:
                # "≥16.7 为糖尿病" is true as well as "≥7.0", "作用12小时以上" as well as "24小时以上"
                # (two blind reviews found one of each); only 7.0 is what the document says. An
                # exact value is asked the same way: a bare sentence with a gap has no question
                # (a review sent one back as 残句).
                stem = f"{AS_WRITTEN}“{before}（　）{fact.sentence[value.unit_end :]}”"
                return {"stem": stem, "options": options, "answer": answer, "distractors": wrong, **asked}
        if kind == "judge":
            if truth:
                return {"stem": fact.sentence, "answer": TRUE, **asked, "values": fact.values}
            wrong = _value_distractors(corpus, fact, value, rng, 1)
            if wrong:
                changed = value.like(wrong[0])[: -len(value.unit)].rstrip()
                return {"stem": f"{before}{changed}{after}", "answer": FALSE, "distractors": [value.like(wrong[0])], **asked}
    return None


def _list_question(kind: QuestionType, corpus: Corpus, fact: Fact, rng: random.Random, truth: bool = True) -> dict | None:
    stem, form = f"{fact.lead}{fact.verb}（　）。", {"form": "list"}
    if kind in ("multi", "single"):
        right = rng.sample(fact.items, min(len(fact.items), rng.choice((2, 3, 4)))) if kind == "multi" else [rng.choice(fact.items)]
        wrong = _member_distractors(corpus, fact, rng, (len(LETTERS) if kind == "multi" else 4) - len(right))
        if not wrong:
            return None
        options, answer = _choices(right, wrong, rng, ordered=False)
        return {"stem": stem, "options": options, "answer": answer, "correct": right, "keywords": right, "distractors": wrong, **form}
    if kind == "judge":
        if truth:
            return {"stem": fact.sentence, "answer": TRUE, "correct": fact.items, "keywords": fact.items, **form}
        wrong = _member_distractors(corpus, fact, rng, 1)
        if not wrong:
            return None
        swapped = rng.choice(fact.items)
        return {"stem": fact.sentence.replace(swapped, wrong[0], 1), "answer": FALSE, "correct": [swapped], "keywords": [swapped],
                "distractors": wrong, **form}
    return None


def _gives_away(fact: Fact) -> bool:
    """Does the definition say its own term ("值班和交接班制度是指：……通过值班和交接班机制……")?"""
    core = TERM_GENERIC.sub("", fact.term)
    grams = {core[i : i + 2] for i in range(len(core) - 1)}
    return any(g in fact.body for g in grams)


def _term_question(kind: QuestionType, corpus: Corpus, fact: Fact, rng: random.Random, truth: bool = True) -> dict | None:
    # The section would name the answer ("首诊负责制度 · 定义"): a term question does not cite it.
    asked = {"correct": [fact.term], "keywords": [fact.term], "form": "term"}
    if _gives_away(fact) or kind == "judge":
        # A swapped term is a false statement anyone spots (a review found four of five
        # 判断题 of a bank made so); a true definition tests nothing.
        return None
    if kind == "fill":
        return {"stem": f"____{fact.body}", "answer": fact.term, **asked}
    if kind == "single":
        wrong = _term_distractors(corpus, fact, rng, 3)
        if wrong:
            options, answer = _choices([fact.term], wrong, rng, ordered=False)
            return {"stem": f"（　）{fact.body}", "options": options, "answer": answer, "distractors": wrong, **asked}
    return None


HAN_NUMBERS = {str(n): names for n, names in enumerate(
    [[], ["一"], ["二", "两"], ["三"], ["四"], ["五"], ["六"], ["七"], ["八"], ["九"], ["十"]]) if names}


def _also_right(answer: str) -> list[str]:
    """Spellings of a fill-in answer a marker must accept too: "6" for "6.0", "首诊负责" for
    "首诊负责制度" (a review found exam systems would mark them wrong)."""
    out = []
    if re.fullmatch(r"\d+\.0", answer):
        out.append(answer[:-2])
    if answer in HAN_NUMBERS:  # "一周", "两年", "三次" are what a trainee may write
        out += HAN_NUMBERS[answer]
    if re.fullmatch(r"[\d.]+\s*[~～\-–]\s*[\d.]+", answer):  # a range, however its dash is typed
        low, high = re.split(r"\s*[~～\-–]\s*", answer)
        out += [f"{low}{dash}{high}" for dash in ("～", "~", "-", "—") if f"{low}{dash}{high}" != answer]
    if answer.endswith("制度") and len(answer) > 4:
        out.append(answer[:-2])
    return out


def _statements_question(corpus: Corpus, fact: Fact, section: list[Fact], rng: random.Random) -> dict | None:
    """下列说法正确的是（多选）: four sentences of one section — the true ones verbatim, one or
    two with a value changed as in a false true/false statement."""
    members = [m for m in [fact] + [f for f in section if f is not fact]
               if len(m.sentence) <= corpus.settings.quiz_max_option_chars and PREDICATE.search(m.sentence)]
    if len(members) < 4 or members[0] is not fact:
        return None
    chosen = [fact] + rng.sample(members[1:], 3)
    falsifiable = [m for m in chosen if _changeable(m)]
    rng.shuffle(falsifiable)
    to_change = falsifiable[: rng.choice((1, 2))]
    options, correct, wrong = [], [], []
    for m in chosen:
        statement = m.sentence.rstrip("。")
        if m in to_change:
            value = rng.choice(_changeable(m))
            changed = _value_distractors(corpus, m, value, rng, 1)
            if changed:
                number = value.like(changed[0])[: -len(value.unit)].rstrip()
                statement = (m.sentence[: value.start] + number + m.sentence[value.end :]).rstrip("。")
                wrong.append(statement)
        if statement not in wrong:
            correct.append(statement)
        options.append(statement)
    if not wrong or len(correct) < 2:
        return None
    rng.shuffle(options)
    answer = "".join(LETTERS[i] for i, o in enumerate(options) if o in correct)
    return {"stem": "下列说法正确的是（　）。", "options": options, "answer": answer, "correct": correct, "keywords": correct,
            "distractors": wrong, "values": [v for m in chosen for v in m.values], "facts": chosen, "form": "statements"}


# A drug's dose in milligrams: label detail (titration, maximum, a special group's first dose)
# that blind trainer reviews kept sending back as outside what a village doctor is examined on.
DOSE = re.compile(r"\d\s*(?:mg|μg|ug|U)(?![A-Za-z])")


def _teaching_tier(corpus: Corpus, fact: Fact) -> int:
    """How much a fact belongs in a village doctor's exam: 0 when another document states the
    same value of the same thing (what several guidelines repeat — 140/90, 非同日3次, 每3个月
    随访 — is the core of the subject), 2 for a drug's dose, 1 for the rest."""
    if DOSE.search(fact.sentence):
        return 2  # two guidelines' dose tables agreeing does not make a dose core
    for value in fact.values:
        for i in corpus.values.get(value.kind, {}).get(value.num, ()):
            if corpus.sources[i] != fact.chunk.doc.source and _overlap(fact.grams, corpus.grams[i]) >= 0.5:
                return 0
    return 1


def _makers(fact: Fact, kind: QuestionType):
    """The ways `fact` alone can become a question of `kind`, the most telling first."""
    if kind == "multi":
        return [_list_question] if fact.items else []
    makers = []
    if fact.term:
        makers.append(_term_question)
    if fact.items and kind != "fill":
        makers.append(_list_question)
    if fact.values:
        makers.append(_value_question)
    return makers


def build_quiz(
    assistant: Assistant, topic: str, n: int = 20, types: list[str] | None = None, seed: int = 0, categories: list[str] | None = None,
) -> QuizBank:
    topic = (topic or "").strip()
    wanted: list[QuestionType] = [t for t in TYPES if t in (types or TYPES)]  # type: ignore[misc]
    bank = QuizBank(topic=topic, covered=False, seed=seed, types=wanted or list(TYPES))
    if not topic:
        bank.message = texts.QUIZ_EMPTY
        return bank
    settings = assistant.settings
    found = topic_passages(assistant, topic, categories, settings.quiz_passages)
    facts, unverified = _facts(found, settings) if found else ([], 0)
    if not any(f.values or f.items or f.term for f in facts):
        bank.message = (texts.QUIZ_UNVERIFIED if unverified else texts.QUIZ_NOT_COVERED).format(topic=topic)
        return bank
    corpus = Corpus.of(found.retriever, settings.max_sentence_chars)
    corpus.topic = _bigrams(topic)
    corpus.settings = settings
    rng = random.Random(seed)
    # What is examined first, then the most relevant; the seed varies which facts are asked
    # and how, within a tier of the head.
    tier = {id(f): _teaching_tier(corpus, f) for f in facts}
    ordered = sorted(facts, key=lambda f: tier[id(f)])
    head = ordered[: max(2 * n, n + 10)]
    rng.shuffle(head)
    pool = sorted(head, key=lambda f: tier[id(f)]) + ordered[len(head) :]
    sections: dict[tuple, list[Fact]] = {}
    for fact in facts:
        sections.setdefault((fact.chunk.doc.source, *heading_parts(fact.chunk.section)), []).append(fact)
    made: list[tuple[QuestionType, dict]] = []
    asked: set[tuple[str, tuple[float, ...]]] = set()
    asked_counts: list[tuple[str, tuple[float, ...], set[str]]] = []
    answered: set[tuple[str, tuple[float, ...]]] = set()
    used: set[int] = set()
    asked_sections: set[tuple] = set()
    forms: dict[str, int] = {}

    def attempt(fact: Fact, capped: bool) -> dict | None:
        key = (fact.chunk.doc.source, *heading_parts(fact.chunk.section))
        if capped and key in asked_sections:
            return None  # one question per section first: two from one paragraph prompt each other
        if capped and sum(m[1]["facts"][0].chunk.doc.source == key[0] for m in made) >= math.ceil(settings.quiz_max_document_share * n):
            return None  # and no one document fills the bank (a drug guideline's doses took half of 高血压)
        # The type asked least so far comes first; a fact that cannot make it may make another.
        counts = {kind: sum(m[0] == kind for m in made) for kind in bank.types}
        # True and false statements in turn, so neither answer can be guessed from the rest.
        trues = sum(m[1]["answer"] == TRUE for m in made if m[0] == "judge")
        falses = counts.get("judge", 0) - trues
        truth = trues < falses or (trues == falses and rng.random() < 0.5)
        for kind in sorted(bank.types, key=lambda k: counts[k]):
            makers = _makers(fact, kind)
            if kind == "multi":
                section = [f for f in sections[key] if id(f) not in used]
                makers = makers + [lambda k, c, f, r, truth=True: _statements_question(c, f, section, r)]
            for maker in makers:
                built = maker(kind, corpus, fact, rng, truth)
                if built and capped and built["form"] in CAPPED_FORMS and forms.get(built["form"], 0) >= math.ceil(settings.quiz_max_form_share * n):
                    continue
                if built:
                    return {**built, "kind": kind}
        return None

    # Passes: the first keeps any one form (definitions, "下列说法正确的是") to its share and
    # one question to a section, the second fills what is left when the topic offers nothing
    # else; a drug's dose (tier 2) only when the rest cannot fill the bank.
    for capped, last_tier in ((True, 1), (False, 1), (False, 2)):
        for fact in pool:
            if len(made) >= n:
                break
            if id(fact) in used or tier[id(fact)] > last_tier:
                continue
            built = attempt(fact, capped)
            if not built:
                continue
            # One measurement once: "HbA1c<7%" and "糖化血红蛋白<7.0%" in two sentences are one fact.
            # (A count or a duration — "2周", "1次" — recurs in unrelated rules, so it may repeat.)
            # A pair's parts count too: "140/90" and "收缩压≥140…舒张压≥90" are one criterion.
            measured = {(v.unit, part) for v in built.get("values", []) if v.unit in MEASURES
                        for part in {_numbers(v.num), *((x,) for x in _numbers(v.num))}}
            if measured & asked:
                continue
            # A count or a duration repeats across unrelated rules, but said of the same thing
            # ("非同日3次" in two documents) it is one fact (a review found it asked twice).
            counted = [(v.unit, _numbers(v.num), _bigrams(v.context)) for v in built.get("values", []) if v.unit not in MEASURES]
            if any(u == u2 and n == n2 and _overlap(c, c2) >= 0.5 for u, n, c in counted for u2, n2, c2 in asked_counts):
                continue
            # One answer once: three questions answered "65～79岁" prompt each other (a review
            # found a bank where they did).
            answers = {(v.unit, _numbers(v.num)) for v in built.get("answers", [])}
            if answers & answered:
                continue
            answered |= answers
            asked_counts.extend(counted)
            asked |= measured
            built.setdefault("facts", [fact])
            used.update(id(f) for f in built["facts"])
            asked_sections.add((fact.chunk.doc.source, *heading_parts(fact.chunk.section)))
            made.append((built["kind"], built))
            forms[built["form"]] = forms.get(built["form"], 0) + 1
    if not made:
        bank.message = texts.QUIZ_NOT_COVERED.format(topic=topic)
        return bank
    # Printed the way exam papers are: by type, and within a type in the documents' order.
    made.sort(key=lambda m: (TYPES.index(m[0]), m[1]["facts"][0].rank, m[1]["facts"][0].chunk.start))
    for number, (kind, built) in enumerate(made, start=1):
        facts_used = built["facts"]
        source = _source(facts_used)
        # A "下列说法" question cites its section always; a term question never (it names the term).
        name_section = "always" if built["form"] == "statements" else built["form"] != "term"
        bank.items.append(QuizItem(
            number=number, type=kind, form=built["form"], core=built["stem"],
            stem=_according(facts_used[0], name_section) + built["stem"], options=built.get("options", []),
            answer=built["answer"], accepted=_also_right(built["answer"]) if kind == "fill" else [],
            correct=built["correct"], keywords=built["keywords"], distractors=built.get("distractors", []),
            quotes=[f.sentence for f in facts_used], explanation=_explain(facts_used, source), source=source,
        ))
    bank.covered = True
    if len(bank.items) < n:
        bank.message = texts.QUIZ_FEWER.format(topic=topic, made=len(bank.items), n=n)
    return bank
