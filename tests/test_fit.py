"""`zhiyi fit`'s rankers on the real fixture index: the labels come from the items'
evidence and keywords, and a model fitted on them sorts the right passage and sentence first."""

from __future__ import annotations

import json

import numpy as np

ITEMS = [
    ("智医助理项目经费怎么分担", [["7:3"]], "我区建设经费由省与市财政按7:3比例分担"),
    ("智医助理项目总共要花多少钱", [["400万"]], "“智医助理”项目概算不超过400万元"),
    ("每个基层医疗机构配几台移动终端", [["一台"]], "每个基层医疗机构配备一台移动终端设备"),
    ("高血压患者一年随访几次", [["4次"]], "每年要提供至少4次面对面的随访"),
    ("糖尿病人血糖多少要紧急转诊", [["16.7"]], "如空腹血糖≥16.7mmol/L或血糖≤3.9mmol/L"),
    ("高血压血压多高要紧急转诊", [["180"]], "如收缩压≥180mmHg和（或）舒张压≥110mmHg"),
    ("血压达标是指多少", [["140"]], "血压达标是指收缩压<140mmHg和舒张压<90mmHg"),
    ("智医助理项目采购什么时候完成", [["5-7月"]], "项目采购在2020年5-7月完成"),
]


def test_the_rankers_are_fitted_on_labels_from_the_items(corpus_settings, tmp_path):
    from assistant.answer.candidates import SENTENCE_FEATURES
    from assistant.answer.passages import PASSAGE_FEATURES
    from evaluation.fit import collect_passages, collect_sentences, fit_passage_model, fit_sentence_model
    from evaluation.items import load_items

    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(json.dumps({
        "id": f"f-{i}", "question": q, "answer_keywords": kw, "expect_refusal": False,
        "category": "management", "kind": "fact", "evidence": ev, "source": "",
    }, ensure_ascii=False) for i, (q, kw, ev) in enumerate(ITEMS)), encoding="utf-8")
    items, problems = load_items([path])
    assert not problems and len(items) == len(ITEMS)

    quiet = lambda message: None  # noqa: E731
    groups = collect_passages(items, corpus_settings, progress=quiet)
    assert len(groups) == len(ITEMS)
    assert all(any(r["y"] for r in g["rows"]) for g in groups)  # the evidence is in the head of a tiny corpus
    passage_model, stats = fit_passage_model(groups)
    assert passage_model.features == list(PASSAGE_FEATURES)
    assert 0.0 <= stats["search_recall_1"] <= stats["search_recall_5"] <= 1.0

    sentence_groups = collect_sentences(items, corpus_settings, progress=quiet, passage_model=passage_model)
    assert sentence_groups and all(any(r["y"] for r in g["rows"]) for g in sentence_groups)
    sentence_model, stats = fit_sentence_model(sentence_groups)
    assert sentence_model.features == list(SENTENCE_FEATURES) and 0.0 <= stats["cv_top1"] <= 1.0
    # Fitted on them, it sorts the sentence holding the answer first for most items.
    scores = [
        np.argmax([sentence_model.logit(dict(zip(SENTENCE_FEATURES, r["f"]))) for r in g["rows"]]) for g in sentence_groups
    ]
    right = sum(g["rows"][i]["y"] for g, i in zip(sentence_groups, scores))
    assert right >= 0.75 * len(sentence_groups)


REFUSE = [
    ("今天油价多少", "off_domain"), ("帮我写一张请假条", "off_domain"), ("手机怎么截屏", "off_domain"),
    ("红烧肉怎么做", "off_domain"), ("明天会下雨吗", "off_domain"), ("推荐一只股票", "off_domain"),
    ("智医助理项目的招标代理公司是哪家", "near_miss"), ("高血压患者能喝咖啡吗", "near_miss"),
    ("糖尿病足溃疡怎么换药", "near_miss"), ("慢阻肺患者流感疫苗打几针", "near_miss"),
    ("移动终端坏了找谁修", "near_miss"), ("麻疹疫苗一支多少钱", "near_miss"),
]


def test_zhiyi_fit_writes_all_four_models_from_the_command_line(corpus_settings, tmp_path):
    from assistant.answer.confidence import load_models
    from ui.cli import main

    rows = [{
        "id": f"a-{i}", "question": q, "answer_keywords": kw, "expect_refusal": False,
        "category": "management", "kind": "fact", "evidence": ev, "source": "",
    } for i, (q, kw, ev) in enumerate(ITEMS)]
    rows += [{
        "id": f"r-{i}", "question": q, "answer_keywords": [], "expect_refusal": True,
        "category": "off_domain" if kind == "off_domain" else "management", "kind": kind, "evidence": "", "source": "",
    } for i, (q, kind) in enumerate(REFUSE)]
    items = tmp_path / "items.jsonl"
    items.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    out = tmp_path / "models.json"
    code = main([
        "fit", str(items), "--out", str(out),
        "--set", f"knowledge_dir={corpus_settings.knowledge_dir}", "--set", f"index_dir={corpus_settings.index_dir}",
    ])
    assert code in (0, None)
    models = load_models(out)
    assert set(models) == {"passage", "sentence", "floor", "answerability"}
    assert 0.0 < models["answerability"].threshold < 1.0 and models["floor"].meta["n"] == len(ITEMS) + 6
