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
    # 几次 asks how many times: a count of times or a "每…" rate, not any number in a formula.
    times = asked_kind("血压高的人一年随访几次")
    assert times.name == "times" and times.holds("每年要提供至少4次面对面的随访") and times.holds("工作日每天至少查房2次")
    assert not times.holds("控制率＝年内最近一次随访血压达标人数÷已管理人数×100%")


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
    # Refused by the withheld check, or by answerability once the sentence model ranks the
    # pointer below another sentence: either way the doctor is sent to the original.
    assert answer.refused and answer.refused_by in ("withheld", "answerability")
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

    from assistant.answer.passages import PASSAGE_FEATURES

    models = load_models()
    assert set(models) == {"passage", "sentence", "floor", "answerability"}
    assert models["passage"].features == list(PASSAGE_FEATURES)
    assert models["passage"].meta["cv_recall_5"] > models["passage"].meta["search_recall_5"]
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


FOLLOW_UP = {
    "visits.md": """---
title: 某病随访工作说明（测试）
category: chronic
---
# 随访工作

某病患者随访工作说明：某病患者的随访由村医负责，某病患者每次随访都要询问症状、测量血压体重、核对用药，某病患者随访结果记入随访表，某病患者随访中发现异常及时报告上级医生。
""",
    "schedule.md": """---
title: 慢性病管理时间表（测试）
category: chronic
---
# 时间要求

某病患者在病情稳定时每3个月面对面随访1次。
""",
}


def test_the_passage_model_puts_forward_the_passage_that_states_what_is_asked(tmp_path):
    """Two passages say the question's words; only one states how often. Whatever order
    search hands them over in, the fitted passage model puts the one with the interval first."""
    from assistant.answer.passages import passage_features, passages, rerank
    from assistant.pipeline import Assistant

    engine = Assistant(index_corpus(tmp_path, FOLLOW_UP))
    retriever = engine.retriever()
    question = engine.analyse("某病患者多久随访一次")
    found = retriever.search(question.query, k=10)
    wordy = sorted(found, key=lambda h: h.chunk.doc.title.startswith("慢性病管理时间表"))  # the interval last
    for rank, hit in enumerate(wordy):
        hit.rank = rank
    features = passage_features(question, wordy, retriever, engine.settings)
    assert [f["states_kind"] for f in features[:2]] == [0.0, 1.0]
    reranked = rerank(question, list(wordy), retriever, engine.settings, engine.models["passage"])
    assert reranked[0].chunk.doc.title.startswith("慢性病管理时间表")
    assert [h.rank for h in reranked] == list(range(len(reranked)))
    kept = passages(question, list(wordy), retriever, engine.settings, engine.models["passage"])
    assert kept[0].chunk.doc.title.startswith("慢性病管理时间表")
