"""One table of answer kinds: what kind of fact a question asks for, and what a sentence
must contain to state one.

A sentence on the right topic without the asked-for fact is no answer ("硝苯地平一天最多吃几片"
is not answered by a list of drug names; "发烧多少度要转诊" is not answered by a blood-pressure
threshold). Each kind is a pair of patterns, so a new kind is one row, not a new rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from assistant.textnorm import detect_language


@dataclass(frozen=True)
class Kind:
    name: str
    label: str  # how a refusal names the missing value (Chinese)
    holds: Callable[[str], bool]  # does a (normalised) sentence state one?


def _asks_reading(quantity: str, also: str) -> re.Pattern:
    """A question asking what a measured value is (血压要降到多少, 体温多高). 高血压 names a
    disease, not a reading, and 几次/几天/几分钟 ask how often or how long."""
    return re.compile(rf"(?:{quantity})[^，。？?]{{0,8}}(?:多少|几|多高)(?![天次日周个年小岁分秒月片粒支项种类])|{also}")


# (name, label, question pattern, sentence pattern); the first row whose question pattern
# matches decides. Order matters only where patterns overlap (minutes before durations).
_ROWS: list[tuple[str, str, re.Pattern, re.Pattern]] = [
    (
        "dose", "剂量",
        re.compile(r"剂量|用量|几片|几粒|几支|多少(毫克|mg|克|单位|毫升)|吃多少|打多少|一次吃|最多吃|\bdoses?\b|dosage|how much .{0,20}(take|give)"),
        re.compile(r"\d\s*(mg|毫克|μg|µg|g\b|克|片|粒|支|单位|iu|u\b|ml|毫升)", re.I),
    ),
    (
        "formula", "计算方法",
        re.compile(r"计算方法|计算公式|公式|(率|比例|指数)(是)?(怎么|如何)(算|计算)|how (is|are) .{0,30}(rate|ratio|index).{0,10}calculated"),
        re.compile(r"[=＝÷]|/.{0,30}[×x*]\s*100\s*%|×\s*100|除以"),
    ),
    (
        "short_duration", "时长",
        re.compile(r"几分钟|多少分钟|几个?小时|多少小时|how many (minutes|hours)"),
        re.compile(r"(\d|[一二两三四五六七八九十半])\s*(个)?\s*(分钟|小时|min|h\b|hours?)|立即|随时", re.I),
    ),
    (
        "duration", "时间",
        re.compile(r"多久|多长时间|多少天|几天|几周|几个月|多少年|几年|how (long|soon|often)|how many (days|weeks|months|years)"),
        re.compile(
            r"(\d|[一二两三四五六七八九十半])\s*(个)?\s*(分钟|小时|天|日|周|星期|月|年|min|h\b|hour|day|week|month|year)|"
            r"每(天|日|周|月|年|季度)|立即|随时|终身|长期",
            re.I,
        ),
    ),
    (
        # 几次/几回 asks how many times (in a period): a count of times or a "每…" rate
        # answers it, any other number (a formula, a threshold) does not.
        "times", "次数",
        re.compile(r"几次|几回|多少次|多少回|次数|频次|how many times"),
        re.compile(r"(?<![近第这那上下单])(\d+|[一二两三四五六七八九十]+)\s*(次|回)|每(天|日|周|月|季度|半年|年)|随时|\btimes?\b|\bonce\b|twice", re.I),
    ),
    (
        "money", "金额",
        re.compile(
            r"多少钱|几块钱|多少元|(价格|价钱|费用|收费|补贴|补助|报销|工资|薪酬|年薪|经费|投入)(是|有|给|要|能拿|拿)?(多少|几)|"
            r"how much (money|does|do|is)|what.{0,20}(price|cost|salary)"
        ),
        re.compile(r"\d\s*(元|万元|亿元|块)|[一二两三四五六七八九十百千万]+\s*(元|万元)|yuan|rmb", re.I),
    ),
    (
        "percent", "比例",
        # 心率/频率/效率 are not proportions.
        re.compile(r"百分之(几|多少)|(比例|占比|比率|(?<![心频效功速])率).{0,6}(多少|几)|多少%|what (percentage|proportion)|what.{0,20}\brate\b"),
        re.compile(r"\d\s*(%|％|‰)|百分之[一二三四五六七八九十百]|[一二三四五六七八九十]成|\d+:\d+|\d\s*/\s*(10\s*万|100,?000)|per 100,?000"),
    ),
]

# Clinical measurements: what is measured, other ways of asking, and its value in its unit.
_MEASUREMENTS = [
    ("temperature", "体温数值", "体温|发烧|发热", r"多少度|几度|多少摄氏度|what temperature|how high .{0,12}(fever|temperature)", r"\d\s*(℃|°\s*c|度|摄氏度|degrees?)"),
    ("blood_pressure", "血压数值", "(?<!高)血压", r"(blood pressure|bp)\b.{0,20}(target|threshold|level|goal)|what.{0,20}blood pressure", r"\d{2,3}\s*/\s*\d{2,3}|mmhg|毫米汞柱"),
    ("glucose", "血糖数值", "血糖|糖化", r"what.{0,20}(blood )?(glucose|hba1c)", r"\d\s*(mmol|毫摩尔|%)"),
    ("heart_rate", "心率数值", "心率|心跳|脉搏", r"what.{0,20}(heart|pulse) rate", r"\d\s*次\s*/\s*(分|min)|\d\s*(bpm|beats)|次每分"),
]
_ROWS += [(name, label, _asks_reading(q, also), re.compile(value, re.I)) for name, label, q, also, value in _MEASUREMENTS]

_MEASURES = "例|人次|人|个|家|所|名|位|台|张|项|支|座|间|户|辆|次"  # not 批: 一批 means "some"
# 几次 asks how often, which the answer may put many ways (每周2次, 每季度1次, 随时).
_COUNT_ASKED = re.compile(rf"(?:多少|(?<![哪那这])几)\s*({_MEASURES.replace('|次', '')})")
_SAME_MEASURE = [{"人", "人次", "名", "位"}, {"家", "所", "座", "间"}]
_COUNT_EN = re.compile(r"(?<![\d.,])(?!(?:19|20)\d\d(?!\d))\d[\d,]*(?![\d.]*\s*%)")

# Any quantity at all: what "多少/几/多久" needs when no narrower kind applies.
WANTS_QUANTITY = re.compile(
    r"多少|(?<![哪那这])几[次个年月天周岁项类种级分小]|多久|多长|多大|多高|多低|哪年|哪一年|何时|什么时候|啥时候|比例|频次|频率|次数|时限|"
    r"剂量|how (many|much|often|long|soon)|what percentage|threshold"
)
STATES_QUANTITY = re.compile(r"\d|[一二两三四五六七八九十百千万半]+\s*(次|个|年|月|周|天|日|小时|分钟|岁|倍|项|类|级|成|%|％|人|元|台)")


def _count_kind(measure: str) -> Kind:
    """A number of what the question counts: "41家", "2923名", "5,066 cases"; not a year, a
    percentage, an ordinal (第一人民医院) or a count of something else (DR一台 for 多少例)."""
    if measure == "个":  # 个 counts anything
        measures = _MEASURES
    else:
        same = next((group for group in _SAME_MEASURE if measure in group), {measure})
        measures = "|".join(sorted(same, key=len, reverse=True))
    pattern = re.compile(rf"(?:\d[\d,，.]*\s*(?:万|千|百)?|(?<!第)[一二两三四五六七八九十百千万]+)\s*(?:{measures})")

    def holds(sentence: str) -> bool:
        if detect_language(sentence) == "en":
            return bool(_COUNT_EN.search(sentence))
        return bool(pattern.search(sentence))

    return Kind("count", "数目", holds)


def asked_kind(question: str) -> Kind | None:
    """The kind of fact a (normalised) question asks for, or None when it asks for no value."""
    for name, label, asks, states in _ROWS:
        if asks.search(question):
            return Kind(name, label, lambda s, states=states: bool(states.search(s)))
    counted = _COUNT_ASKED.search(question)
    if counted:
        return _count_kind(counted.group(1))
    if WANTS_QUANTITY.search(question):
        return Kind("quantity", "具体数字", lambda s: bool(STATES_QUANTITY.search(s)))
    return None
