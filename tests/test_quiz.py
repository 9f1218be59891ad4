"""Quiz banks from a real index of a small corpus: every answer is in its cited passage, no
wrong option is, another document's figure is never offered as "wrong", the same seed gives
the same bank, an uncovered topic is refused, and the Excel / Word / JSON files hold it."""

from __future__ import annotations

import json
import re

import pytest

from tests.test_ui import FUNDING

DIABETES = """---
title: 糖尿病患者健康管理（测试摘要）
year: 2017
category: chronic
authority: national_guideline
---
# 一、随访评估
1. 对确诊的2型糖尿病患者，每年提供至少4次面对面的随访。
2. 糖尿病患者空腹血糖≥16.7 mmol/L时，须在处理后紧急转诊。
3. 糖尿病患者血糖控制不满意时，调整用药后2周内随访。
4. 糖尿病患者连续两次血糖控制不满意时，建议转诊，并在2周内主动随访转诊情况。
5. 糖尿病患者每年进行1次较全面的健康体检。
6. 糖尿病患者随访时应测量体重并计算体质指数。
7. 糖尿病患者每3个月检测1次糖化血红蛋白。

# 二、控制目标
1. 糖尿病患者空腹血糖控制目标为4.4～7.0 mmol/L。
2. 糖尿病患者糖化血红蛋白控制目标一般为<7.0%。
3. 糖尿病患者血压控制目标为<130/80 mmHg。
4. 糖尿病患者体质指数控制目标为<24.0 kg/m²。
5. 糖尿病患者每周中等强度运动至少150分钟。

# 三、术语
糖尿病前期是指空腹血糖受损或糖耐量减低、血糖高于正常但未达糖尿病诊断标准的状态。
糖尿病酮症酸中毒是指由胰岛素严重缺乏引起、以高血糖和代谢性酸中毒为特征的糖尿病急性并发症。
糖尿病足是指糖尿病患者因神经病变和血管病变导致的足部溃疡、感染或深层组织破坏。
低血糖是指接受药物治疗的糖尿病患者血糖低于3.9 mmol/L的情况。
黎明现象是指夜间血糖控制尚可、清晨空腹血糖明显升高的现象。
苏木杰现象是指夜间低血糖后清晨出现反跳性高血糖的现象。

# 四、并发症筛查
糖尿病患者的慢性并发症筛查包括：眼底检查、尿白蛋白/肌酐比值、足部检查、神经病变检查。
糖尿病酮症酸中毒的常见诱因包括：急性感染、中断胰岛素治疗、饮食不当、创伤。
"""

# Another edition says 3 visits a year: "3次" must never be offered as a wrong answer for 4次.
OLDER = """---
title: 糖尿病患者随访管理（旧版测试摘要）
year: 2011
category: chronic
authority: national_guideline
---
# 随访
对确诊的2型糖尿病患者，每年至少随访3次。
糖尿病患者收缩压控制目标为<140 mmHg。
"""

HYPERTENSION = """---
title: 高血压患者健康管理（测试摘要）
year: 2017
category: chronic
authority: national_guideline
---
# 随访与目标
1. 高血压患者血压控制不满意时，2周内随访；稳定者每3个月随访1次。
2. 高血压患者收缩压≥180 mmHg时紧急转诊；一般患者血压控制目标为<140/90 mmHg，老年患者<150/90 mmHg。
3. 高血压患者每天食盐摄入应少于6 g，每周运动5次。
4. 高血压患者空腹血糖≥6.1 mmol/L时应做糖耐量试验；体质指数≥28.0 kg/m²为肥胖。
5. 肥胖者糖化血红蛋白≥6.5%时应筛查糖尿病，每6个月复查一次，每次随访30分钟。
高血压是指未使用降压药物时非同日3次测量诊室血压，收缩压≥140 mmHg和（或）舒张压≥90 mmHg的状态。
高血压急症是指血压短时间内严重升高并伴有进行性靶器官损害的状态。
高血压患者的靶器官损害筛查包括：心电图、尿常规、血肌酐、眼底检查、颈动脉超声。
"""


# Values of the same kinds said of other things: where wrong options come from.
LABS = """---
title: 常用检验与随访参考值（测试摘要）
year: 2019
category: chronic
authority: national_guideline
---
# 参考值
1. 空腹血糖正常值为3.9～6.1 mmol/L，糖负荷后2小时血糖正常值<7.8 mmol/L。
2. 糖耐量减低为糖负荷后2小时血糖7.8～11.1 mmol/L；随机血糖≥11.1 mmol/L提示糖尿病。
3. 甘油三酯合适水平<1.7 mmol/L，低密度脂蛋白胆固醇理想水平<2.6 mmol/L，总胆固醇<5.2 mmol/L。
4. 糖化血红蛋白正常参考值为4.0%～6.0%，糖化白蛋白正常参考值为11%～17%。
5. 成人体质指数正常范围为18.5～23.9 kg/m²，体质指数≥28.0 kg/m²为肥胖，体质指数<18.5 kg/m²为体重过低。
6. 血压正常高值为120～139/80～89 mmHg，3级高血压为≥180/110 mmHg。
7. 门诊复查一般每4周1次，病情稳定者每8周1次，长期稳定者每12周1次。
8. 尿酮体检测：血糖≥13.9 mmol/L时检测尿酮体，血糖≥12.0 mmol/L者需复查血糖。
9. 健康教育讲座每年至少6次，义诊活动每年至少8次，家庭医生入户服务每年至少12次。
10. 电解质每1个月复查1次，尿常规每2个月复查1次，血脂每6个月复查1次，肾功能每12个月复查1次。
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from assistant.pipeline import Assistant
    from tests.conftest import index_corpus

    settings = index_corpus(
        tmp_path_factory.mktemp("quiz"),
        {"diabetes.md": DIABETES, "older.md": OLDER, "hypertension.md": HYPERTENSION, "labs.md": LABS, "funding.txt": FUNDING},
    )
    return Assistant(settings)


@pytest.fixture(scope="module")
def bank(engine):
    from assistant.quiz import build_quiz

    return build_quiz(engine, "糖尿病", n=10, seed=3)


def _plain(text: str) -> str:
    return re.sub(r"\s", "", text)


def _passages(engine, item) -> str:
    from assistant.textnorm import display_text

    retriever = engine.retriever()
    return "\n".join(display_text(retriever.chunks[retriever.by_id[i]].text) for i in item.source.chunk_ids)


def _corpus_sentences(engine) -> str:
    from assistant.textnorm import display_text

    return _plain("\n".join(display_text(c.text) for c in engine.retriever().chunks))


def problems_of(item, passage: str, everything: str) -> list[str]:
    """What is wrong with one question against its cited passages (and the whole base):
    an empty list for a sound question. Also run by hand over banks of the real base."""
    from assistant.quiz import AS_WRITTEN, FALSE, LETTERS, TRUE

    passage, out = _plain(passage), []
    core = item.core.removeprefix(AS_WRITTEN).strip("“”")  # the sentence asked, as the source has it
    if not all(_plain(q) in passage and f"“{q}”" in item.explanation for q in item.quotes):
        out.append("the explanation does not quote the passage")
    if not (item.stem.startswith("根据《") and item.stem.endswith(item.core)):
        out.append("the stem does not name its source")
    if item.options:
        if sorted(item.options) != sorted(item.correct + item.distractors):
            out.append("options are not the right and the wrong ones")
        if item.answer != "".join(LETTERS[i] for i, o in enumerate(item.options) if o in item.correct):
            out.append("the answer letters do not point at the right options")
        if (len(item.correct) >= 2) != (item.type == "multi"):
            out.append("a multiple choice needs two or more right options, a single choice one")
    blank = "（　）" if "（　）" in core else "____" if "____" in core else None
    for right in item.correct if item.type != "judge" else []:
        # A value or term put back in the blank is the source's sentence; a list member or a
        # "下列表述" option is in the passage as it stands.
        said = core.replace(blank, right) if item.form in ("value", "term") and blank else right
        if _plain(said) not in passage:
            out.append(f"the right answer is not in the passage: {right}")
    for wrong in item.distractors:
        # What a wrong option claims: the question with it filled in; a wrong member or a
        # "下列表述" option claims itself; a false true/false statement is the stem.
        if item.type == "judge":
            stated = item.core
        elif blank and item.form in ("value", "term"):
            stated = core.replace(blank, wrong)
        else:
            stated = wrong
        if _plain(stated) in passage or (item.form != "list" and _plain(stated) in everything):
            # (A wrong list member is named elsewhere, in another list: what it claims is
            # membership of this one, which its passage does not state.)
            out.append(f"a wrong option is said by the base: {wrong}")
    if item.type == "judge":
        if item.answer not in (TRUE, FALSE) or (_plain(item.core) in passage) != (item.answer == TRUE):
            out.append("the true/false answer does not match the passage")
        if (item.answer == FALSE) != bool(item.distractors):
            out.append("a false statement must name what was changed")
    return out


def test_every_answer_is_in_its_passage_and_no_wrong_option_is(engine, bank):
    assert bank.covered and len(bank.items) == 10 and bank.disclaimer == "仅供参考，不替代临床判断"
    assert {i.type for i in bank.items} == {"single", "multi", "judge", "fill"}
    assert {i.form for i in bank.items} >= {"value", "term", "statements"}
    everything = _corpus_sentences(engine)
    for item in bank.items:
        assert not problems_of(item, _passages(engine, item), everything), item


def test_another_editions_figure_is_never_offered_as_wrong(engine):
    from assistant.quiz import build_quiz

    for seed in range(6):
        for item in build_quiz(engine, "糖尿病随访", n=10, seed=seed).items:
            if any("4次" in q for q in item.quotes):
                assert not any(d.startswith("3") for d in item.distractors), item


def test_one_fact_once_and_one_bank_per_seed(engine, bank):
    from assistant.quiz import build_quiz

    quotes = [q for item in bank.items for q in item.quotes]
    assert len(quotes) == len(set(quotes))
    again = build_quiz(engine, "糖尿病", n=10, seed=3)
    assert again.model_dump() == bank.model_dump()
    other = build_quiz(engine, "糖尿病", n=10, seed=4)
    assert [i.stem for i in other.items] != [i.stem for i in bank.items]


def test_types_asked_for_and_an_uncovered_topic(engine, tmp_path, monkeypatch, capsys):
    from assistant.quiz import build_quiz
    from ui.cli import main

    only = build_quiz(engine, "糖尿病", n=6, types=["fill", "judge"], seed=1)
    assert only.items and {i.type for i in only.items} <= {"fill", "judge"}
    refused = build_quiz(engine, "火锅底料怎么炒", n=5)
    assert not refused.covered and not refused.items and "无法生成题库" in refused.message
    monkeypatch.setenv("ZHIYI_KNOWLEDGE_DIR", str(engine.settings.knowledge_dir))
    monkeypatch.setenv("ZHIYI_INDEX_DIR", str(engine.settings.index_dir))
    assert main(["quiz", "火锅底料怎么炒", "--out", str(tmp_path / "x.xlsx")]) == 1
    assert "无法生成题库" in capsys.readouterr().err and not (tmp_path / "x.xlsx").exists()
    with pytest.raises(SystemExit):
        main(["quiz", "糖尿病", "--types", "essay"])
    assert "题型只能是" in capsys.readouterr().err


def test_bank_files_import_and_print(engine, tmp_path, monkeypatch, capsys):
    from docx import Document
    from openpyxl import load_workbook

    from evaluation.items import load_items
    from ui.cli import main
    from ui.quiz_export import COLUMNS

    monkeypatch.setenv("ZHIYI_KNOWLEDGE_DIR", str(engine.settings.knowledge_dir))
    monkeypatch.setenv("ZHIYI_INDEX_DIR", str(engine.settings.index_dir))
    for suffix in (".xlsx", ".docx", ".json"):
        assert main(["quiz", "糖尿病", "--n", "8", "--seed", "5", "--out", str(tmp_path / f"bank{suffix}")]) == 0
    assert "题库已写入" in capsys.readouterr().out

    sheet = load_workbook(tmp_path / "bank.xlsx")["题库"]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == COLUMNS and len(rows) == 9
    for row in rows[1:]:
        kind, stem, *options, answer, explanation, source = row
        assert kind in ("单选题", "多选题", "判断题", "填空题") and stem.startswith("根据《") and answer
        assert "原文：“" in explanation and source.startswith("《")
        if kind in ("单选题", "多选题"):
            assert all(options[ord(letter) - ord("A")] for letter in answer)

    doc = Document(str(tmp_path / "bank.docx"))
    body = [p.text for p in doc.paragraphs]
    breaks = [i for i, p in enumerate(doc.paragraphs) if 'w:br w:type="page"' in p._p.xml]
    answers = body.index("参考答案与解析")
    assert breaks and breaks[0] < answers  # the answers begin on a page of their own
    assert not any(t.startswith("解析：") for t in body[:answers]) and any(t.startswith("解析：") for t in body[answers:])
    assert "一、单选题" in body and "仅供参考，不替代临床判断" in body
    assert {p.style.name for p in doc.paragraphs} >= {"Title", "Heading 1", "Heading 2"}

    items, problems = load_items([tmp_path / "bank.json"])
    assert len(items) == 8 and not problems
    assert all(i.answer_keywords and i.evidence for i in items)
    assert json.loads((tmp_path / "bank.json").read_text(encoding="utf-8"))[0]["quiz_type"]


def test_a_bound_is_asked_as_the_documents_own_figure(engine):
    """≥16.7 is a bound: 20 is "≥16.7" as well, and 至少2次 is done by 4, so as a plain question a
    bound has no one right option; a choice on a value asks which figure the document states
    (an exact one too: a bare sentence with a gap has no question)."""
    from assistant.quiz import AS_WRITTEN, BOUND_AFTER, BOUND_BEFORE, build_quiz

    kinds = set()
    for seed in range(8):
        for item in build_quiz(engine, "糖尿病", n=10, types=["single"], seed=seed).items:
            if item.form != "value":
                continue
            before, after = item.core.removeprefix(AS_WRITTEN).split("（　）", 1)
            bound = bool(BOUND_BEFORE.search(before) or BOUND_AFTER.match(after))
            kinds.add(bound)
            assert item.core.startswith(AS_WRITTEN), item
    assert kinds == {True, False}
