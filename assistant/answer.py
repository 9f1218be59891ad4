"""Extractive answers: the sentences of the retrieved passages that answer the question,
each cited to its passage, or a plain refusal when the evidence does not cover it.

No sentence is ever written here: every answer sentence is a sentence of a passage
(script-normalised for reading), so every claim has the passage behind it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from assistant.config import Settings
from assistant.models import CATEGORY_LABELS, Answer, AnswerSentence, Citation
from assistant.retrieve import Hit, Query, Retriever
from assistant.sentences import split_sentences
from assistant.textnorm import detect_language, display_text, normalize
from assistant.tokenize import tagged_words, tokenize_normalized
from assistant import texts

_WANTS_QUANTITY = re.compile(
    r"多少|(?<![哪那这])几[次个年月天周岁项类种级分小]|多久|多长|多大|多高|多低|哪年|哪一年|何时|什么时候|啥时候|比例|频次|频率|次数|时限|标准是|目标|剂量|"
    r"how (many|much|often|long|soon)|when|what percentage|target|threshold"
)
_QUANTITY = re.compile(r"\d|[一二两三四五六七八九十百千万半]+\s*(次|个|年|月|周|天|日|小时|分钟|岁|倍|项|类|级|成|%|％|人|元|台)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_VALUE = re.compile(r"(?<![a-z\d.])\d+(?:\.\d+)?")  # a number on its own, not the 1 of "FEV1"


def _asks_reading(quantity: str, also: str) -> re.Pattern:
    """A question asking what a measured value is (血压要降到多少, 体温多高). 高血压 names a
    disease, not a reading, and 几次/几天/几分钟 ask how often or how long."""
    return re.compile(rf"(?:{quantity})[^，。？?]{{0,8}}(?:多少|几|多高)(?![天次日周个年小岁分秒月片粒支项种类])|{also}")


# Answer typing: what kind of fact the question asks for, and what a sentence holding
# it must contain. A sentence of the right topic without the asked-for fact is no answer
# ("硝苯地平一天最多吃几片" is not answered by a list of drug names).
_ANSWER_TYPES: list[tuple[str, re.Pattern, re.Pattern]] = [
    (
        "dose",
        re.compile(r"剂量|用量|几片|几粒|几支|多少(毫克|mg|克|单位|毫升)|吃多少|打多少|一次吃|最多吃|dose|dosage"),
        re.compile(r"\d\s*(mg|毫克|g|克|片|粒|支|单位|iu|u\b|ml|毫升)", re.I),
    ),
    (
        "formula",
        # "控制率怎么算" asks for a formula; "起付线怎么算" asks how it is handled.
        re.compile(r"计算方法|计算公式|公式|(率|比例|指数)(是)?(怎么|如何)(算|计算)|how (is|are) .{0,30}(rate|ratio).{0,10}calculated"),
        re.compile(r"[=＝÷]|/.{0,30}[×x*]\s*100\s*%|×\s*100"),
    ),
    (
        # Minutes and hours are not answered by a frequency (每年4次) or a number of days.
        "short_duration",
        re.compile(r"几分钟|多少分钟|几个?小时|多少小时|how many (minutes|hours)"),
        re.compile(r"(\d|[一二两三四五六七八九十半])\s*(个)?\s*(分钟|小时|min|h\b|hours?)|立即|随时", re.I),
    ),
    (
        "duration",
        re.compile(r"多久|多长时间|多少天|几天|几周|几个月|how (long|soon|often)"),
        re.compile(r"(\d|[一二两三四五六七八九十半])\s*(个)?\s*(分钟|小时|天|日|周|星期|月|年|min|h\b|hour|day|week|month|year)|每(天|日|周|月|年|季度)|立即|随时", re.I),
    ),
    (
        "money",
        re.compile(
            r"多少钱|几块钱|多少元|(价格|价钱|费用|收费|补贴|补助|报销|工资|薪酬|年薪)(是|有|给|要|能拿|拿)?(多少|几)|"
            r"how much (money|does|do|is)|what.{0,20}(price|cost|salary)"
        ),
        re.compile(r"\d\s*(元|万元|亿元|块)|[一二两三四五六七八九十百千万]+\s*(元|万元)|yuan|rmb", re.I),
    ),
    (
        "percent",
        # 心率/频率/效率 are not proportions.
        re.compile(r"百分之(几|多少)|(比例|占比|比率|(?<![心频效功速])率).{0,6}(多少|几)|多少%|what (percentage|proportion)|what.{0,20}rate"),
        re.compile(r"\d\s*(%|％|‰)|百分之[一二三四五六七八九十百]|[一二三四五六七八九十]成|\d+:\d+|\d\s*/\s*(10\s*万|100,?000)|per 100,?000"),
    ),
]
# Clinical measurements: what is measured (in Chinese), other ways of asking for it, and its
# value in its unit.
_MEASUREMENTS = [
    ("temperature", "体温", r"多少度|几度|多少摄氏度|what temperature|how high .{0,12}(fever|temperature)", r"\d\s*(℃|°\s*c|度|摄氏度|degrees?)"),
    ("blood_pressure", "(?<!高)血压", r"(blood pressure|bp)\b.{0,20}(target|threshold|level)|what.{0,20}blood pressure", r"\d{2,3}\s*/\s*\d{2,3}|mmhg|毫米汞柱"),
    ("glucose", "血糖", r"what.{0,20}(blood )?glucose", r"\d\s*(mmol|毫摩尔)"),
    ("heart_rate", "心率|心跳|脉搏", r"what.{0,20}(heart|pulse) rate", r"\d\s*次\s*/\s*(分|min)|\d\s*(bpm|beats)|次每分"),
]
_ANSWER_TYPES += [(name, _asks_reading(quantity, also), re.compile(value, re.I)) for name, quantity, also, value in _MEASUREMENTS]


@dataclass
class Candidate:
    hit: Hit
    start: int  # span within hit.chunk.text
    end: int
    display: str
    score: float
    coverage: float


# A list number at the head of a sentence ("1. ", "（二）", "③"). `match(text, pos)` does not
# honour "^" at pos, so the pattern is unanchored and used with match().
_LIST_NUMBER = re.compile(r"\s*(?:\d{1,2}\s*[.、．](?!\d)|[(（]\s*[0-9一二三四五六七八九十]{1,3}\s*[)）]|[①-⑳]|[一二三四五六七八九十]{1,3}\s*[、.．])\s*(?=\S)")


_BOUND_AFTER = re.compile(r"(<=|>=|[<>≤≥])\s*(\d+(?:\.\d+)?)")  # "≥80%", "<3.9"
_BOUND_BEFORE = re.compile(r"(\d+(?:\.\d+)?)\s*%?\s*(<=|[<≤])(?!\s*\d)")  # "30%≤FEV1"


def _within_stated_range(value: float, sentence: str) -> bool:
    """Whether a clause of the sentence states a range that holds `value`:
    "FEV1 40%算几级" is answered by "3级为重度，30%≤FEV1占预计值%<50%"."""
    for clause in re.split(r"[；;，,。]", sentence):
        bounds = []
        for op, number in _BOUND_AFTER.findall(clause):
            bounds.append((op, float(number)))
        for number, op in _BOUND_BEFORE.findall(clause):
            # "30≤x" is "x≥30"
            bounds.append(({"<": ">", "≤": "≥", "<=": ">="}[op], float(number)))
        if bounds and all(_holds(value, op, bound) for op, bound in bounds):
            return True
    return False


def _holds(value: float, op: str, bound: float) -> bool:
    return {
        "<": value < bound, ">": value > bound, "≤": value <= bound, "<=": value <= bound,
        "≥": value >= bound, ">=": value >= bound,
    }[op]


def _reading_form(sentence: str) -> str:
    """An answer sentence as a reader sees it: simplified, no pinyin, no list number
    ("1. 高血压患者…" → "高血压患者…"); still a substring of its passage's reading form."""
    text = display_text(sentence).strip()
    number = _LIST_NUMBER.match(text)
    return text[number.end() :] if number else text


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, x))))


def same_language_confidence(coverage: float, dense_z: float) -> float:
    """Evidence in the question's language: lexical coverage decides, dense standing helps.

    Weights fitted on eval/dev.jsonl (see README, 拒答阈值)."""
    return _sigmoid(7.0 * (coverage - 0.55) + 0.6 * (dense_z - 1.5))


def cross_language_confidence(dense_z: float) -> float:
    """Evidence in the other language shares no words with the question: how far the
    passage stands out among its own language (z) has to carry the decision. Raw
    cosines are not comparable across language pairs, so they are left out."""
    return _sigmoid(3.0 * (dense_z - 2.4))


def _lexical_candidates(
    query: Query, passages: list[Hit], retriever: Retriever, settings: Settings,
    wants_quantity: bool,
) -> list[Candidate]:
    out: list[Candidate] = []
    # Values the question quotes ("140/90算高血压吗") point at the sentence that states them.
    numbers = set(_VALUE.findall(query.core_text))
    for hit in passages:
        text = hit.chunk.text
        # A list item ("双上肢收缩压差异>20mmHg") means something only under its lead-in
        # ("高血压初诊转诊的情况包括"): the passage's coverage counts as well as the sentence's.
        passage_cov = retriever.passage_coverage(query, hit.chunk)
        for start, end in split_sentences(text, max_chars=settings.max_sentence_chars):
            # The quote starts after a list number, as the answer sentence does.
            number = _LIST_NUMBER.match(text, start)
            if number:
                start = number.end()
            norm = normalize(text[start:end])
            if len(norm) < 6:
                continue
            cov = retriever.coverage(query, set(tokenize_normalized(norm)), norm, whole_words=True)
            score = (
                settings.sentence_weight * cov
                + (1 - settings.sentence_weight) * passage_cov
                + settings.rank_prior / (hit.rank + 1)
                + settings.dense_prior * min(max(hit.dense_z, 0.0), 4.0) / 4.0
            )
            if wants_quantity and _QUANTITY.search(norm):
                score += 0.2
            if numbers:
                score += 0.2 * len(numbers & set(_NUMBER.findall(norm))) / len(numbers)
                # Only a sentence about the question's subject: "40%" also lies under "<140mmHg".
                if len(numbers) == 1 and cov >= 0.5 and _within_stated_range(float(next(iter(numbers))), norm):
                    score += 0.3
            out.append(Candidate(hit, start, end, _reading_form(text[start:end]), score, cov))
    out.sort(key=lambda c: c.score, reverse=True)
    return out


def _other_language_spans(hits: list[Hit], settings: Settings) -> list[tuple[Hit, int, int]]:
    """The sentences of other-language passages long enough to answer (not a list number)."""
    return [
        (hit, s, e)
        for hit in hits
        for s, e in split_sentences(hit.chunk.text, max_chars=settings.max_sentence_chars)
        if len(hit.chunk.text[s:e].strip()) >= 12
    ]


def _semantic_candidates(
    query: Query, hits: list[Hit], retriever: Retriever, settings: Settings, wants_quantity: bool
) -> list[Candidate]:
    """Sentences of other-language passages, ranked by embedding similarity plus the
    question words the synonym list lets them match across languages ("elderly" → 老年)."""
    spans = _other_language_spans(hits, settings)
    if not spans or query.vector is None:
        return []
    sentences = [normalize(hit.chunk.text[s:e]) for hit, s, e in spans]
    sims = retriever.embedder.passages(sentences) @ query.vector
    out = []
    for (hit, start, end), norm, sim in zip(spans, sentences, sims):
        cov = retriever.coverage(query, set(tokenize_normalized(norm)), norm)
        score = float(sim) + 0.1 * cov
        if wants_quantity and _QUANTITY.search(norm):
            score += 0.02
        out.append(Candidate(hit, start, end, _reading_form(hit.chunk.text[start:end]), score, cov))
    out.sort(key=lambda c: c.score, reverse=True)
    return out


def compose(
    question: str,
    query: Query,
    hits: list[Hit],
    retriever: Retriever,
    settings: Settings,
) -> Answer:
    answer = Answer(question=question, refused=True, message=texts.NOT_FOUND)
    if not hits:
        return answer
    query_lang = detect_language(query.core_text)
    wants_quantity = bool(_WANTS_QUANTITY.search(query.text))
    passages = hits[: settings.top_k]
    same = [h for h in passages if h.chunk.lang == query_lang]
    other = sorted((h for h in passages if h.chunk.lang != query_lang), key=lambda h: h.dense_z, reverse=True)
    holds = _asked_type(query.core_text)
    # Only a few other-language passages are read sentence by sentence; those stating the
    # asked-for kind of fact go first (a temperature for "what temperature…").
    readable = sorted(other, key=lambda h: not holds(normalize(h.chunk.text))) if holds else other

    candidates = _lexical_candidates(query, same, retriever, settings, wants_quantity)
    coverage = max(
        [c.coverage for c in candidates[:5]] + [retriever.passage_coverage(query, h.chunk) for h in same[:3]], default=0.0
    )
    conf_same = same_language_confidence(coverage, same[0].dense_z) if same else 0.0
    # Other-language evidence: its standing among its own language, or the question's words
    # it says in its own (through the synonym list or the dictionary).
    other_coverage = max(
        (
            max(retriever.passage_coverage(query, h.chunk), retriever.passage_translated_coverage(query, h.chunk))
            for h in other[:3]
        ),
        default=0.0,
    )
    conf_other = max(cross_language_confidence(other[0].dense_z), same_language_confidence(other_coverage, other[0].dense_z)) if other else 0.0
    answer.signals = {
        "coverage": round(coverage, 4),
        "dense_z": round(same[0].dense_z, 4) if same else 0.0,
        "dense": round(same[0].dense, 4) if same else 0.0,
        "x_dense_z": round(other[0].dense_z, 4) if other else 0.0,
        "x_dense": round(other[0].dense, 4) if other else 0.0,
        "x_coverage": round(other_coverage, 4),
        "sentence_coverage": round(candidates[0].coverage, 4) if candidates else 0.0,
        "unknown_words": round(_unknown_share(query, retriever), 4),
        "conf_same": round(conf_same, 4),
        "conf_other": round(conf_other, 4),
    }
    # Same-language evidence that is convincing wins: its words can be checked. Otherwise
    # an other-language passage that clearly stands out among its own language answers.
    # With no same-language passage at all (an English question over Chinese guidelines),
    # the other language is all there is and only the refusal threshold applies.
    cross = conf_other > conf_same and (
        not same
        or conf_same < settings.refusal_threshold  # nothing in the question's language would answer
        or (conf_same < settings.cross_threshold and (conf_other >= settings.cross_threshold or conf_other >= settings.cross_ratio * conf_same))
    )
    same_typed = _typed(query, candidates, wants_quantity)
    # Routes to an answer, best first; each must pass every check. When the preferred
    # language's evidence fails them, the other language may still answer.
    routes: list[tuple[bool, float, list[Candidate]]] = []
    if cross:
        routes.append((True, conf_other, _typed(query, _semantic_candidates(query, readable[:2], retriever, settings, wants_quantity), wants_quantity)))
    elif other and (wants_quantity or holds):
        # The question's language may have the topic but not the fact (a plan for the
        # cataract programme, no count of operations) while a report in the other language
        # states it in the question's words, through the dictionary ("5,066 cases of
        # cataract surgery"): then that report answers.
        translated = _translated(query, readable[:2], retriever, settings, wants_quantity)
        if translated and (not same_typed or translated[0].coverage >= same_typed[0].coverage + settings.cross_margin):
            routes.append((True, conf_other, translated))
    routes.append((False, conf_same, same_typed))

    answer.confidence = round(routes[0][1], 4)
    for is_cross, confidence, route in routes:
        if confidence < settings.refusal_threshold:
            continue
        chosen, refusal = _select(query, route, retriever, settings, is_cross)
        if chosen:
            answer.confidence = round(confidence, 4)
            answer.message = ""
            _cite(answer, chosen)
            return answer
        if refusal and answer.message == texts.NOT_FOUND:
            answer.message = refusal
    if answer.message == texts.NOT_FOUND and candidates and not same_typed and conf_same >= settings.refusal_threshold:
        # The knowledge base answers the question's topic, just not with the kind of value
        # asked for (心率过快要转诊, no rate in beats per minute): say so, rather than that
        # nothing was found.
        if _select(query, candidates, retriever, settings, False)[0]:
            answer.message = texts.NOT_FOUND_KIND.format(kind=_asked_kind(query.core_text))
    return answer


def _select(
    query: Query, candidates: list[Candidate], retriever: Retriever, settings: Settings, cross: bool
) -> tuple[list[Candidate], str | None]:
    """The answer sentences among typed candidates, or none and why (None: nothing specific)."""
    if not candidates:
        return [], None
    missing = _missing_terms(query, candidates[0], retriever, cross)
    if not missing and not cross:
        best = candidates[0]
        candidates = _about_the_question(query, candidates)
        if not candidates:
            return [], None
        if candidates[0] is not best:
            missing = _missing_terms(query, candidates[0], retriever, cross)
    if missing:
        return [], texts.NOT_FOUND_TERM.format(term="、".join(missing))
    focus = _quantity_focus(query.core_text, retriever) if detect_language(query.core_text) == "zh" else None
    chunk = candidates[0].hit.chunk
    evidence = retriever.passage_text(chunk)

    def says(word: str) -> bool:
        if not cross:
            return word in evidence
        # In the other language, through the dictionary; a word it cannot translate cannot be checked.
        names = retriever.lexicon.to_english(word)
        return not names or any(t in retriever.tokens_of(chunk) for t in names) or any(a in evidence for a in query.alternatives.get(word, ()))

    if focus and not all(says(word) for word in focus):
        # The knowledge base names the thing, but not where the answer is: the
        # passage holding a number is about something else (一台移动终端的价格 vs 项目总概算).
        return [], texts.NOT_FOUND_FACT.format(term="".join(focus))

    best = candidates[0]
    chosen = [best]
    ratio = 0.97 if cross else 0.75
    for cand in candidates[1:]:
        if len(chosen) >= settings.max_sentences:
            break
        if cand.score >= ratio * best.score and cand.display not in {c.display for c in chosen}:
            chosen.append(cand)
    return chosen, None


def bring_typed_evidence(query: Query, hits: list[Hit], retriever: Retriever, settings: Settings) -> list[Hit]:
    """Give the asked-for kind of fact a place among the passages an answer draws on.

    When the question asks for a kind of fact (a count, a sum, a temperature…) and no
    passage of the top k both states one and says the question's words, the best ranked
    passage further down that does takes the last place of the top k. "Says the question"
    is coverage of its words, through the dictionary for the other language (the Chinese
    plans talk about 检验科, the English report counts "41 qualified"); a same-language
    passage is only looked for above `typed_depth`, below which the ranking has already
    read its words and judged it off the question.
    """
    holds = _asked_type(query.core_text)
    k = settings.top_k
    if holds is None or len(hits) <= k:
        return hits
    lang = detect_language(query.core_text)

    def answers(hit: Hit) -> bool:
        if not holds(normalize(hit.chunk.text)):
            return False
        if hit.chunk.lang == lang:
            return hit.rank < settings.typed_depth and retriever.passage_coverage(query, hit.chunk) >= settings.translated_coverage
        return retriever.passage_translated_coverage(query, hit.chunk) >= settings.translated_coverage

    if any(answers(h) for h in hits[:k]):
        return hits
    best = next((h for h in hits[k:] if answers(h)), None)  # the best ranked that qualifies
    if best is None:
        return hits
    out = [*hits[: k - 1], best, *(h for h in hits[k - 1 :] if h is not best)]
    for rank, hit in enumerate(out):
        hit.rank = rank
    return out


def _cite(answer: Answer, chosen: list[Candidate]) -> None:
    """One citation per passage, numbered in order of first use; sentences in reading order."""
    citations: dict[str, Citation] = {}
    spans: dict[str, list[tuple[int, int]]] = {}
    for cand in chosen:
        chunk = cand.hit.chunk
        if chunk.id not in citations:
            citations[chunk.id] = Citation(
                id=len(citations) + 1,
                chunk_id=chunk.id,
                title=chunk.doc.title,
                section=display_text(chunk.section),
                source=chunk.doc.source,
                category=chunk.doc.category,
                category_label=CATEGORY_LABELS[chunk.doc.category],
                year=chunk.doc.year,
                text=chunk.text,
                quote_start=cand.start,
                quote_end=cand.end,
                doc_start=chunk.start,
                doc_end=chunk.end,
                lang=chunk.lang,
                score=round(cand.hit.score, 5),
            )
        spans.setdefault(chunk.id, []).append((cand.start, cand.end))
    for cid, citation in citations.items():
        citation.spans = sorted(spans[cid])
        citation.quote_start = citation.spans[0][0]
        citation.quote_end = citation.spans[-1][1]
    chosen.sort(key=lambda c: (citations[c.hit.chunk.id].id, c.start))
    answer.sentences = [AnswerSentence(text=c.display, citations=[citations[c.hit.chunk.id].id]) for c in chosen]
    answer.citations = sorted(citations.values(), key=lambda c: c.id)
    answer.refused = False
    titles = {c.title for c in answer.citations}
    if len(titles) > 1:
        years = sorted({c.year for c in answer.citations if c.year})
        answer.message = texts.SEVERAL_SOURCES.format(years="、".join(f"{y}年" for y in years) if years else "不同年份")


_QUESTION_CHAR = re.compile(r"[多少几啥咋怎吗么哪呢吧什]")


def _pairs(text: str) -> set[str]:
    """Adjacent Han character pairs, question words left out."""
    return {
        text[i : i + 2]
        for i in range(len(text) - 1)
        if "\u4e00" <= text[i] <= "\u9fff" and "\u4e00" <= text[i + 1] <= "\u9fff" and not _QUESTION_CHAR.search(text[i : i + 2])
    }


def _about_the_question(query: Query, candidates: list[Candidate]) -> list[Candidate]:
    """Candidates that are about what the question asks, in the question's language.

    - A sentence that shares no word with the question answers something else, however
      well its passage matches ("杭州甲流死了多少人" is not answered by a mortality target
      that names 杭州 elsewhere). Place names do not count; character pairs do, so a
      question the segmenter cuts badly (药占比降到 → 药/占/比降) still meets its sentence.
    - "多少个村卫生室" is answered by a sentence that counts 村卫生室, not 质控小组.
    """
    if _pairs(query.core_text):
        candidates = [c for c in candidates if _on_topic(query, normalize(c.display))]
    counted = _counted_noun(query.core_text)
    if counted:
        ways = [counted, *query.alternatives.get(counted, ())]
        candidates = [c for c in candidates if any(w in normalize(c.display) for w in ways)]
    return candidates


_QUANTITY_WORD = re.compile(r"多少|(?<![哪那这])几|多久|多长|多大|多高")
# What may stand between the thing asked about and the question word: 入院记录「要在」多少小时,
# 移动终端「一台」多少钱, 值班费「一晚给」多少.
_LEAD_IN = re.compile(r"(?:要在|要|在|是|有|给|能|会|得|的|了|大概|大约|一共|总共|共|最多|最少|至少|[一每][台晚次天日年人个月周份]|\s)+$")


_VALUE_WORDS = {"数", "目标", "标准", "水平", "数量", "人数", "总数", "数目", "指标", "比例", "情况"}


def _quantity_focus(question: str, retriever: Retriever) -> list[str] | None:
    """The words naming what a how-much question quantifies, when the knowledge base
    uses them together: the longest run of whole words, ending in a noun right before the
    question word, that some passage says (智医助理的移动终端一台多少钱 → 移动 终端)."""
    match = _QUANTITY_WORD.search(question)
    if not match:
        return None
    run = re.search(r"[\u4e00-\u9fff]+$", _LEAD_IN.sub("", question[: match.start()]))
    if not run:
        return None
    words = tagged_words(run.group(0))
    stripped = False
    # 药师数目标 asks for a target number of 药师: the generic words say what kind of value.
    while len(words) > 1 and words[-1][0] in _VALUE_WORDS:
        words, stripped = words[:-1], True
        if len(words) > 1 and words[-1][0] == "的":  # 药师数的目标
            words = words[:-1]
    if not words or not words[-1][1].startswith(("n", "vn")) or words[-1][1] == "ns":
        return None
    found = None
    for start in range(len(words) - 1, -1, -1):
        if len(words[start][0]) < 2 or not words[start][1][:1] in ("n", "v", "a", "j", "l"):
            break  # a particle or a lone character (的, 量) is not part of the name
        phrase = [w for w, _ in words[start:]]
        if (len("".join(phrase)) >= 3 or stripped) and retriever.says("".join(phrase)):
            found = phrase
    return found


def _on_topic(query: Query, sentence: str) -> bool:
    core = query.core_text
    for place in query.places:
        core = core.replace(place, " ")
    if _pairs(core) & _pairs(sentence):
        return True
    return any(
        alt in sentence
        for tok in query.core_tokens
        if tok not in query.places
        for alt in query.alternatives.get(tok, ())
    )


_COUNTED = re.compile(r"(?:多少|(?<![哪那这])几)(?:个|家|所|名|位|台|张|支|座|间)([\u4e00-\u9fff]{2,})")


def _counted_noun(question: str) -> str | None:
    """The thing a "how many" question counts: 多少个村卫生室 → 村卫生室."""
    match = _COUNTED.search(question)
    if not match:
        return None
    words = tokenize_normalized(match.group(1))
    # Search-mode segmentation lists the parts before the whole (卫生, 卫生室, 村卫生室).
    whole = [w for w in words if match.group(1).startswith(w)]
    return max(whole, key=len) if whole else None


def _translated(
    query: Query, hits: list[Hit], retriever: Retriever, settings: Settings, wants_quantity: bool
) -> list[Candidate]:
    """Other-language sentences holding the asked-for kind of fact, scored by how much of
    the question they say through the dictionary; below `translated_coverage` they are
    no answer. Lexical, so no sentence needs embedding at question time."""
    out = []
    for hit, start, end in _other_language_spans(hits, settings):
        norm = normalize(hit.chunk.text[start:end])
        coverage = retriever.translated_coverage(query, set(tokenize_normalized(norm)), norm)
        if coverage >= settings.translated_coverage:
            score = coverage + settings.rank_prior / (hit.rank + 1)
            out.append(Candidate(hit, start, end, _reading_form(hit.chunk.text[start:end]), score, coverage))
    out.sort(key=lambda c: c.score, reverse=True)
    return _typed(query, out, wants_quantity)


def _typed(query: Query, candidates: list[Candidate], wants_quantity: bool) -> list[Candidate]:
    """Candidates that hold the kind of fact asked for: a number for 多少/几/多久, a dose, a
    sum of money, a percentage, a count. Only candidates close to the best may stand in."""
    for holds in filter(None, [_QUANTITY.search if wants_quantity else None, _asked_type(query.core_text)]):
        floor = 0.5 * candidates[0].score if candidates else 0.0
        candidates = [c for c in candidates if c.score >= floor and holds(normalize(c.display))]
    return candidates


_MEASURES = "例|人次|人|个|家|所|名|位|台|张|项|支|座|间|户|辆|次"  # not 批: 一批 means "some", not a count
# 几次 asks how often, which the answer may put many ways (每周2次, 每季度1次, 随时).
_COUNT_ASKED = re.compile(rf"(?:多少|(?<![哪那这])几)\s*({_MEASURES.replace('|次', '')})")
# Measure words that count the same things: 多少人 is answered by 2923名.
_SAME_MEASURE = [{"人", "人次", "名", "位"}, {"家", "所", "座", "间"}]
_COUNT_EN = re.compile(r"(?<![\d.,])(?!(?:19|20)\d\d(?!\d))\d[\d,]*(?![\d.]*\s*%)")


def _count_of(measure: str):
    """A test for a sentence stating a number of what the question counts: "41家", "2923名",
    "5,066 cases"; not a year, a percentage or a count of something else (DR一台 for 多少例)."""
    if measure == "个":  # 个 counts anything
        measures = _MEASURES
    else:
        measures = "|".join(next((sorted(group, key=len, reverse=True) for group in _SAME_MEASURE if measure in group), [measure]))
    # 第一人民医院 is an ordinal, not one person.
    pattern = re.compile(rf"(?:\d[\d,，.]*\s*(?:万|千|百)?|(?<!第)[一二两三四五六七八九十百千万]+)\s*(?:{measures})")

    def holds(sentence: str) -> bool:
        if detect_language(sentence) == "en":
            return bool(_COUNT_EN.search(sentence))
        return bool(pattern.search(sentence))

    return holds


_KIND_NAMES = {
    "dose": "剂量",
    "formula": "计算方法",
    "short_duration": "时长",
    "duration": "时间",
    "money": "金额",
    "percent": "比例",
    "temperature": "体温数值",
    "blood_pressure": "血压数值",
    "glucose": "血糖数值",
    "heart_rate": "心率数值",
    "count": "数目",
}


def _asked(question: str) -> tuple[str, Callable[[str], object]] | None:
    """The kind of fact the question asks for, and what a sentence must contain to hold it."""
    for name, asks, holds in _ANSWER_TYPES:
        if asks.search(question):
            return name, holds.search
    counted = _COUNT_ASKED.search(question)
    if counted:
        return "count", _count_of(counted.group(1))
    return None


def _asked_type(question: str) -> Callable[[str], object] | None:
    asked = _asked(question)
    return asked[1] if asked else None


def _asked_kind(question: str) -> str:
    """The kind of fact asked for, as the refusal names it."""
    asked = _asked(question)
    return _KIND_NAMES[asked[0]] if asked else "具体数字"


def _unknown_share(query: Query, retriever: Retriever) -> float:
    """IDF mass of question words the knowledge base never uses (天气, 火锅…)."""
    tokens = set(query.core_tokens)
    total = sum(retriever.idf(t) for t in tokens)
    unknown = sum(retriever.idf(t) for t in tokens if not retriever.in_vocabulary(t))
    return unknown / total if total else 0.0


_YEAR = re.compile(r"(?:19|20)\d{2}(?=年|$|\D)|\d+(?=\s*年)")


def _missing_terms(query: Query, best: Candidate, retriever: Retriever, cross: bool) -> list[str]:
    """What the question insists on that the answering passage does not say.

    - a year ("2023年…") or a place ("杭州…") the passage never names: a question
      about another time or place;
    - a noun the knowledge base never uses at all (值班费, 米饭), one typo allowed;
    - a noun rare in the knowledge base (入院记录, 血钾) missing from the passage: the
      passage is about the topic but not about the particular thing asked.
    Nouns and places can only be checked in the question's own language.
    """
    chunk = best.hit.chunk
    evidence = retriever.passage_text(chunk)
    missing = [y for y in _YEAR.findall(query.core_text) if y not in evidence]
    if cross:
        # Across languages the synonym list is the only dictionary: where it names the
        # question's concepts in the passage's language (高血压 → hypertension), the
        # passage must say at least one of them.
        # A lone character (钱 of 多少钱) names what kind of answer is wanted, not the topic.
        bridged = {tok: [a for a in alts if detect_language(a) == chunk.lang] for tok, alts in query.alternatives.items() if len(tok) > 1 or tok.isascii()}
        bridged = {tok: alts for tok, alts in bridged.items() if alts}
        if bridged and not any(a in evidence for alts in bridged.values() for a in alts):
            missing.append(next(iter(bridged)))
        # A place must be named in the passage's document by its name in that language
        # (杭州 → Hangzhou); one the dictionary cannot name there (西安) is not what it reports on.
        document = retriever.document_text(chunk.doc.source)
        missing += [p for p in query.places if not any(name in document for name in retriever.lexicon.whole_word(p))]
        return missing

    def said(term: str) -> bool:
        return term in evidence or any(alt in evidence for alt in query.alternatives.get(term, ()))

    # A place is usually named once, at the top of its document, not in every passage.
    document = retriever.document_text(chunk.doc.source)
    missing += [p for p in query.places if p not in document and not said(p)]
    for noun in query.nouns:
        if said(noun) or noun in query.alternatives:
            continue
        # Two-character nouns are too often a colloquial word the documents say
        # otherwise (化验/检查); longer ones name a particular thing (入院记录, 值班费).
        if not retriever.knows(noun) or (len(noun) >= 3 and retriever.is_rare(noun)):
            missing.append(noun)
    return list(dict.fromkeys(missing))
