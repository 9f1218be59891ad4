"""The verifier between a language model and the doctor: a generated sentence is kept only
if a passage supports it.

A model may merge passages and word them its own way, but every figure, comparison,
negation and name it writes must be in the passage it cites — the facts a doctor acts on
are exactly those a small model changes (measured: a 270M model changed or invented a fact in
3 of 5 answers). Each sentence is checked against the passage it cites, then against the
other passages given (re-cited when one of them supports it), and dropped with its reason
when none does. What a sentence is checked for, each a named failure:

- ``number``: every number with its unit is in the passage (天 = 日, 三 = 3, ranges as ranges);
- ``comparison``: a number's bound (<, ≥, 以上, 不超过 …) points the same way as the passage's,
  and a bound the passage puts on it is not dropped;
- ``negation``: a negated phrase (不推荐, 禁用) is the passage's, and a phrase the passage
  negates is not stated plainly;
- ``name``: drug and disease names and abbreviations (氨氯地平, ACEI) are the passage's,
  through the synonym table;
- ``support``: most of the sentence's words are the passage's (`Settings.llm_min_support`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.sentences import answer_spans
from assistant.synonyms import SynonymTable
from assistant.textnorm import normalize
from assistant.tokenize import tokenize_normalized

# A citation marker as models write it: [1], [1][2], [1,2], 【1】, ［1］.
MARKER = re.compile(r"[\[【［]\s*(\d+(?:\s*[,，、]\s*\d+)*)\s*[\]】］]")
# A generated sentence ends at 。！？; or at a line break (lists).
SENTENCE_END = re.compile(r"(?<=[。！？!?；;])(?:\s*(?:[\[【［]\s*\d+(?:\s*[,，、]\s*\d+)*\s*[\]】］]))*|\n+")

# A chat template's control tokens leaking into the text (<|im_end|>, <end_of_turn>): not content.
CONTROL_TOKEN = re.compile(r"<\|[^|>]{1,40}\|>|</?(?:start_of_turn|end_of_turn|s)>")
LIST_NUMBER = re.compile(r"^\s*(?:[-*•·]|\d+[.、)）]|[（(]\d+[）)])\s*")
MIN_CONTENT = 6  # Han characters (or Latin words) an answer sentence has at the least
ECHO = 0.8  # share of its word pairs from the question above which a figure-less sentence only repeats it

HAN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
# Counting words after a number: 3个月, 5件, 2级, 第26条 (the digests write digits, a model
# may write 三个月, 四个小组 or 二十六条).
CLASSIFIERS = "个月|次|周|天|日|年|岁|小时|分钟|倍|项|种|级|类|型|件|名|例|人|家|所|条|张|台|床|万|千|百|分"
HAN_NUMBER = re.compile(rf"([零一二两三四五六七八九十]{{1,3}})(?=\s*(?:{CLASSIFIERS}|个))")
UNIT_NAMES = {"厘米": "cm", "毫米汞柱": "mmhg", "千克": "kg", "公斤": "kg", "毫克": "mg", "克": "g", "毫升": "ml"}
UNIT = (r"mmhg|mmol/l|μmol/l|umol/l|mg/dl|mg/d|mg|μg|g/d|kg/m2|kg/m²|kg|g|ml|l/min|cm²|cm2|cm|%|次/年|万元|元|万例|万人|"
        rf"{CLASSIFIERS}|月|h|min")
# A number, a range (5～7) or a pair (140/90) as one figure, with its unit; not the digit of a
# name (L-T4, HbA1c).
NUMBER = re.compile(rf"(?<![\d.A-Za-z\-])(\d+(?:\.\d+)?)(?:\s*([~～\-–至到/])\s*(\d+(?:\.\d+)?))?\s*({UNIT})?", re.I)
SAME_UNIT = {"日": "天", "h": "小时", "min": "分钟", "umol/l": "μmol/l", "kg/m2": "kg/m²", "月": "个月", "cm2": "cm²"}
# Bounds, by direction: "lower" = the value is a minimum (≥, >, 以上, 2周后), "upper" = a
# maximum (<, 不超过, 以下, 2周内).
# A word bound may stand a few characters off: "至少要有4次" is "至少4次".
LOWER_BEFORE = re.compile(r"(?:[>≥＞]|>=)\s*$|(?:至少|不少于|不低于|不小于|(?<!不)超过|(?<!不)高于|(?<!不)大于|下限|最少|最低)"
                          r"[\u4e00-\u9fff]{0,3}\s*$")
UPPER_BEFORE = re.compile(r"(?:[<≤＜]|<=)\s*$|(?:不超过|不高于|不大于|不多于|不足|未满|(?<!不)低于|(?<!不)小于|(?<!不)少于|上限|最多|最高)"
                          r"[\u4e00-\u9fff]{0,3}\s*$")
LOWER_AFTER = re.compile(r"^\s*(?:及以上|或以上|以上|或更高|或更多|及更高|以后|之后|后)")
UPPER_AFTER = re.compile(r"^\s*(?:及以下|或以下|以下|以内|之内|内|或更低|或更少)")
# Negations: one the sentence adds must be the passage's, in any of its forms (无法完整 for
# 不能完整), and one the passage makes must not be dropped. Words of judgement (不满意, 不理想)
# say the same thing and count as one.
NEGATIONS = ("不宜", "不推荐", "不建议", "不应", "不得", "不能", "不可", "不必", "不需", "无需", "无须", "禁用", "禁止",
             "禁忌", "忌用", "勿", "避免", "慎用", "没有", "并未", "尚未", "未", "无法", "无", "非", "不")
POOR = ("不满意", "不理想", "不佳", "不良", "不好", "欠佳", "不达标", "未达标")
# Which way a quantity moves or compares: "风险更高" is not "风险更低".
DIRECTIONS = ("更高", "更低", "较高", "较低", "高于", "低于", "多于", "少于", "大于", "小于", "升高", "降低", "增高", "增加",
              "减少", "上升", "下降", "增长", "加重", "减轻", "提高", "放宽", "严格", "扩大", "缩小")
# What a model says around a fact ("根据资料，", "简单来说，"): not what the passage must support.
FILLER = re.compile(r"^(?:根据|按照|依据)[^，,。]{0,14}[，,]|简单来说|一般来说|通常来说|具体来说|具体而言|也就是说|需要注意的是|"
                    r"总之|综上所述?|此外|同时|因此|所以|另外|可以说")
# Names a doctor acts on: drugs by their stems, diseases by their heads, and abbreviations.
NAME_SUFFIXES = ("地平", "普利", "沙坦", "洛尔", "噻嗪", "双胍", "胰岛素", "他汀", "格列", "列汀", "列净", "鲁肽", "内酯",
                 "塞米", "匹林", "霉素", "西林", "头孢", "沙星", "司特", "茶碱", "特罗", "溴铵", "松", "病", "症", "炎", "癌",
                 "综合征", "衰竭", "梗死", "卒中", "中风")
ABBREVIATION = re.compile(r"(?<![A-Za-z])[A-Z][A-Za-z0-9]*[A-Z0-9](?:-[A-Z])?(?![A-Za-z])")


def han_to_digits(text: str) -> str:
    def value(m: re.Match) -> str:
        han = m.group(1)
        if han == "十":
            return "10"
        if "十" in han:
            tens, _, ones = han.partition("十")
            return str(HAN_DIGITS.get(tens, 1) * 10 + HAN_DIGITS.get(ones, 0))
        return str(HAN_DIGITS[han]) if len(han) == 1 else m.group(0)
    return HAN_NUMBER.sub(value, text)


def plain(text: str) -> str:
    """The form both sides are compared in: normalised, markers out, Chinese numerals as digits,
    unit names as symbols (厘米 → cm)."""
    text = han_to_digits(normalize(MARKER.sub("", text)))
    for name, symbol in UNIT_NAMES.items():
        text = re.sub(rf"(?<=\d)\s*{name}", symbol, text)
    return text


@dataclass
class Figure:
    low: float
    high: float
    unit: str
    bound: str  # "lower", "upper" or ""

    def same_value(self, other: "Figure") -> bool:
        return self.low == other.low and self.high == other.high and self.unit == other.unit


def figures(text: str) -> list[Figure]:
    out = []
    for m in NUMBER.finditer(text):
        low = float(m.group(1))
        high = float(m.group(3)) if m.group(3) else low
        unit = (m.group(4) or "").lower()
        unit = SAME_UNIT.get(unit, unit)
        before, after = text[: m.start()], text[m.end() :]
        bound = ("lower" if LOWER_BEFORE.search(before) or LOWER_AFTER.match(after)
                 else "upper" if UPPER_BEFORE.search(before) or UPPER_AFTER.match(after) else "")
        out.append(Figure(low, high, unit, bound))
    return out


def _bigrams(text: str) -> set[str]:
    han = re.sub(r"[^\u4e00-\u9fffa-z]", "", text)
    return {han[i : i + 2] for i in range(len(han) - 1)}


def support(sentence: str, passage: str) -> float:
    """Share of the sentence's word pairs the passage has (both in `plain` form)."""
    grams = _bigrams(sentence)
    return len(grams & _bigrams(passage)) / len(grams) if grams else 0.0


def _names(sentence: str) -> set[str]:
    names = {w for w in tokenize_normalized(sentence) if any(w.endswith(s) and len(w) > len(s) for s in NAME_SUFFIXES)}
    return names | {a.lower() for a in ABBREVIATION.findall(normalize(sentence).upper()) if len(a) >= 2 and a.isascii()}


@dataclass
class Check:
    """One generated sentence against one passage: None when supported, else what failed."""

    failure: str = ""
    detail: str = ""

    @property
    def ok(self) -> bool:
        return not self.failure


# The longest form first, so that 不推荐 is read as one negation and not as 不.
NEGATION = re.compile("|".join(sorted(NEGATIONS, key=len, reverse=True)))


def _negated_before(text: str, at: int) -> bool:
    return any(text[max(0, at - len(n)) : at] == n for n in NEGATIONS)


def check(sentence: str, passage: str, synonyms: SynonymTable, min_support: float) -> Check:
    said, source = plain(sentence), plain(passage)
    stated = figures(source)
    for fig in figures(said):
        if fig.low == fig.high == 1 and not fig.unit:
            continue  # 一个, 一份: an article, not a figure
        matches = [s for s in stated if s.same_value(fig)]
        if not matches:
            return Check("number", f"{fig.low:g}{'～' + format(fig.high, 'g') if fig.high != fig.low else ''}{fig.unit}")
        if fig.bound and not any(s.bound == fig.bound for s in matches):
            return Check("comparison", f"{fig.low:g}{fig.unit}")
        if not fig.bound and all(s.bound for s in matches):
            return Check("comparison", f"{fig.low:g}{fig.unit}（原文有界限）")
    # A negation the sentence adds must be the passage's, in one of its forms.
    for m in NEGATION.finditer(said):
        if said.startswith(POOR, m.start()):
            if any(p in source for p in POOR):
                continue
            return Check("negation", said[m.start() : m.end() + 2])
        negated = said[m.end() : m.end() + 2]
        if not any(f"{n}{negated}" in source for n in NEGATIONS):
            return Check("negation", said[m.start() : m.end() + 2])
    # A negation the passage makes must not be dropped: the words it negates in the passage's
    # sentence nearest the generated one ("未接种过", "不推荐常规") said plainly, where the
    # passage never says them plainly itself.
    start, end = best_span(sentence, Passage(0, passage))
    near = plain(passage[start:end])
    for m in NEGATION.finditer(near):
        negated = near[m.end() : m.end() + 2]
        if not re.fullmatch(r"[\u4e00-\u9fff]{2}", negated) or near.startswith(POOR, m.start()):
            continue
        plainly = [i for i in range(len(near)) if near.startswith(negated, i) and not _negated_before(near, i)]
        places = [i for i in range(len(said)) if said.startswith(negated, i)]
        if places and not plainly and not any(_negated_before(said, i) for i in places):
            return Check("negation", f"原文为否定：{m.group()}{negated}")
    for word in DIRECTIONS:
        if word in re.sub(r"[或及]更[高低多少]", "", said) and word not in source:
            return Check("comparison", word)
    for name in _names(said):
        ways = {name, *synonyms.expansions.get(name, [])}
        for standard in list(ways):
            ways.update(synonyms.groups.get(standard, []))
        if not any(w in source for w in ways):
            return Check("name", name)
    share = support(FILLER.sub("", said), source)
    if share < min_support:
        return Check("support", f"{share:.2f}")
    return Check()


@dataclass
class Passage:
    """A numbered passage the model was given."""

    number: int
    text: str  # a title line, then the passage's own text
    body_start: int = 0  # where the passage's own text begins: quotes come from there


@dataclass
class Verified:
    text: str  # the sentence as generated, markers removed
    cited: list[int]  # the passages that support it (re-cited when the model's marker was wrong)
    support: list[tuple[int, int, int]] = field(default_factory=list)  # (passage, start, end) of its best sentence there
    recited: bool = False


@dataclass
class Dropped:
    text: str
    reason: str  # number / comparison / negation / name / support / uncited
    detail: str = ""


def split_generated(text: str) -> list[str]:
    """A model's answer as sentences, each with the markers that follow it."""
    parts, last = [], 0
    for m in SENTENCE_END.finditer(text):
        piece = text[last : m.end()].strip()
        if piece:
            parts.append(piece)
        last = m.end()
    tail = text[last:].strip()
    if tail:
        parts.append(tail)
    return parts


def best_span(sentence: str, passage: Passage, max_chars: int = 220) -> tuple[int, int]:
    """The sentence of the passage's text that supports `sentence` most: what its citation quotes."""
    said, body = plain(sentence), passage.text[passage.body_start :]
    spans = [(s, e) for s, e, _ in answer_spans(body, max_chars)] or [(0, len(body))]
    start, end = max(spans, key=lambda se: support(said, plain(body[se[0] : se[1]])))
    return passage.body_start + start, passage.body_start + end


def not_an_answer(text: str, question: str) -> str:
    """Why a sentence says nothing, whatever its passage: a question, a lead-in ending in a
    colon, a fragment ("3. 不全"), or the question said back."""
    body = LIST_NUMBER.sub("", text).strip()
    if body.endswith(("？", "?")):
        return "question"
    if body.endswith(("：", ":")) or len(re.findall(r"[\u4e00-\u9fff]|[A-Za-z]+", body)) < MIN_CONTENT:
        return "fragment"
    asked = figures(plain(question)) if question else []
    if question and support(plain(body), plain(question)) >= ECHO and all(
        any(f.same_value(q) for q in asked) for f in figures(plain(body))
    ):
        return "echo"  # the question said back, with no figure of its own
    return ""


def verify_sentence(
    sentence: str, passages: list[Passage], synonyms: SynonymTable, min_support: float, question: str = ""
) -> Verified | Dropped:
    cited = [int(n) for group in MARKER.findall(sentence) for n in re.split(r"\s*[,，、]\s*", group)]
    text = MARKER.sub("", sentence).strip()
    by_number = {p.number: p for p in passages}
    empty = not_an_answer(text, question)
    if empty:
        return Dropped(text, empty)
    first: Check | None = None
    for number in dict.fromkeys(cited):
        passage = by_number.get(number)
        if passage is None:
            continue
        result = check(text, passage.text, synonyms, min_support)
        if result.ok:
            start, end = best_span(text, passage)
            return Verified(text, [number], [(number, start, end)])
        first = first or result
    # The marker was wrong or missing: another passage given may support it.
    for passage in passages:
        if passage.number in cited:
            continue
        if check(text, passage.text, synonyms, min_support).ok:
            start, end = best_span(text, passage)
            return Verified(text, [passage.number], [(passage.number, start, end)], recited=True)
    if first is None:
        return Dropped(text, "uncited" if not cited else "support", "")
    return Dropped(text, first.failure, first.detail)
