"""The answer engine stage by stage: question analysis, answer kinds, the named checks
(each recorded when it refuses, each switchable), whole lists, sentences that lean on the
one before them, digests that withhold an unverified figure, and the fitted models."""

from __future__ import annotations

import pytest

from assistant import texts
from assistant.answer.kinds import asked_kind
from tests.conftest import index_corpus

REFERRAL = """---
title: 某病患者管理要点（测试）
original: 某病患者管理规范（测试原文）
category: chronic
authority: national_regulation
year: 2019
---
# 一、转诊

## （一）紧急转诊

某病患者出现下列情况之一时，应在处理后紧急转诊：
1. 某病患者意识改变或昏迷。
2. 某病患者收缩压≥180mmHg和（或）舒张压≥110mmHg。
3. 某病患者体温超过39摄氏度。
4. 某病患者心率超过100次/分钟。

## （二）随访

1. 某病患者随访频次：每年至少进行4次面对面随访。
2. 某病患者的血脂控制目标：具体数值未能对照原文核实，本摘要不列出（未核实）。
3. 某病患者每次随访都要测量体重。该类患者还应检查足背动脉搏动。
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from assistant.pipeline import Assistant

    settings = index_corpus(tmp_path_factory.mktemp("engine"), {"referral.md": REFERRAL})
    return Assistant(settings)


def test_a_question_is_analysed_once_into_what_every_stage_reads(assistant):
    q = assistant.analyse("2023年杭州糖尿病人发烧多少度要紧急转诊？")
    assert q.lang == "zh" and q.years == ("2023",) and "杭州" in q.places
    assert q.kind is not None and q.kind.name == "temperature"
    assert assistant.analyse("哪些情况要紧急转诊").wants_list
    assert assistant.analyse("空腹和餐后血糖分别是多少").two_part
    english = assistant.analyse("What is the dose of metformin?")
    assert english.lang == "en" and english.kind.name == "dose"
    follow = assistant.analyse("那糖尿病呢？", ["高血压患者多久随访一次"])
    assert follow.follow_up and "糖尿病" in follow.text and "随访" in follow.text


def test_the_kind_of_value_asked_is_one_table():
    fever = asked_kind("糖尿病人发烧多少度要紧急转诊")
    assert fever.holds("体温超过39摄氏度") and not fever.holds("收缩压≥180mmHg和（或）舒张压≥110mmHg")
    pressure = asked_kind("高血压合并糖尿病血压要降到多少")
    assert pressure.holds("血压应降至130/80mmHg以下") and not pressure.holds("空腹血糖<7.0mmol/L")
    cases = asked_kind("白内障复明手术做了多少例")
    assert cases.holds("completed 5,066 cases of cataract surgery") and not cases.holds("放射科购置DR一台")
    people = asked_kind("执业医师定期考核做了多少人")
    assert people.holds("共派出10名医师") and not people.holds("区第一人民医院")
    # 高血压 names the disease, and 几分钟 asks how long, not for a reading.
    assert asked_kind("量血压前要休息几分钟").holds("安静休息至少5分钟")
    assert asked_kind("高血压有哪些危害") is None


def test_the_check_that_refuses_is_recorded_and_each_check_can_be_switched_off(assistant):
    refused = assistant.ask("2023年智医助理项目经费怎么分担?")
    assert refused.refused and refused.refused_by == "names" and "2023" in refused.message
    assert not refused.sentences and not refused.citations
    from assistant.pipeline import Assistant

    without = Assistant(assistant.settings.with_overrides({"checks": ["relevance_floor", "asked_kind"]}))
    answered = without.ask("2023年智医助理项目经费怎么分担?")
    assert not answered.refused and answered.refused_by == "" and answered.citations


def test_a_question_asking_for_a_kind_of_value_needs_that_value(engine):
    minutes = engine.ask("某病患者随访一次要几分钟")
    assert minutes.refused and minutes.refused_by == "asked_kind"
    assert minutes.message == texts.NOT_FOUND_KIND.format(kind="时长")


def test_a_whole_list_comes_whole_in_the_documents_order(engine):
    answer = engine.ask("某病患者哪些情况要紧急转诊")
    assert not answer.refused
    text = "\n".join(s.text for s in answer.sentences)
    for item in ("意识改变", "180mmHg", "39摄氏度", "100次/分钟"):
        assert item in text, item
    assert text.index("意识改变") < text.index("39摄氏度") < text.index("100次/分钟")
    # Items the chunker put in passages of their own are cited each to its passage, all of one document.
    assert {c.source for c in answer.citations} == {"referral.md"}


def test_a_sentence_leaning_on_the_one_before_comes_with_it(engine):
    answer = engine.ask("某病患者足背动脉搏动要检查吗")
    text = [s.text for s in answer.sentences]
    lean = next(i for i, t in enumerate(text) if t.startswith("该类患者"))
    assert lean > 0 and "测量体重" in text[lean - 1]


def test_a_figure_the_digest_withholds_is_refused_naming_the_original(engine):
    answer = engine.ask("某病患者血脂控制目标是多少")
    assert answer.refused and answer.refused_by == "withheld"
    assert answer.message == texts.WITHHELD.format(original="某病患者管理规范（测试原文）")


def test_citations_carry_the_original_and_the_kind_of_document(engine):
    answer = engine.ask("某病患者一年随访几次")
    assert not answer.refused and "4次" in answer.sentences[0].text
    cited = answer.citations[0]
    assert cited.original == "某病患者管理规范（测试原文）"
    assert cited.authority == "national_regulation" and cited.authority_label == "国家规范性文件"


def test_the_shipped_models_match_the_signals_the_engine_computes():
    from assistant.answer.candidates import SENTENCE_FEATURES
    from assistant.answer.confidence import FEATURES, load_models

    models = load_models()
    assert set(models) == {"sentence", "floor", "answerability"}
    assert models["sentence"].features == list(SENTENCE_FEATURES)
    assert models["answerability"].features == list(FEATURES)
    assert set(models["floor"].features) <= set(FEATURES)
    for name in ("floor", "answerability"):
        meta = models[name].meta
        assert 0.5 < meta["cv_auc"] <= 1.0 and meta["n"] >= 100 and 0.0 < models[name].threshold < 1.0


def test_quotable_sentences_are_encoded_at_ingest_not_at_question_time(engine, monkeypatch):
    from assistant.embed import get_sentence_embedder

    retriever = engine.retriever()
    assert retriever.manifest["sentence_encoder"] == get_sentence_embedder(engine.settings).name
    encoder = get_sentence_embedder(engine.settings)
    calls = []
    original = encoder.passages
    monkeypatch.setattr(encoder, "passages", lambda texts: calls.append(len(texts)) or original(texts))
    answer = engine.ask("某病患者一年随访几次")
    assert not answer.refused and "4次" in answer.sentences[0].text
    assert calls == []  # every candidate's vector came from the index
