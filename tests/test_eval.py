"""zhiyi eval on a real (tiny) index: real ingest, real embedder, real answers.

The knowledge base is three short documents written here, so the whole module builds
in seconds; one module-scoped evaluation run is shared by most tests.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest

from ui.cli import main
from assistant.store import current_build, read_chunks, read_manifest
from evaluation.history import list_runs
from evaluation.items import load_items
from evaluation.metrics import match_form, missing_groups
from tests.conftest import index_corpus

HYPERTENSION = """---
title: 高血压患者随访要点
year: 2017
category: chronic
---
# 一、随访频次

对原发性高血压患者，乡村医生每年要提供至少4次面对面的随访。

# 二、血压控制目标

一般高血压患者的血压应控制在140/90mmHg以下。

65岁及以上老年高血压患者的收缩压可控制在150mmHg以下。

血压控制不达标时，可在上级医生指导下调整降压药物。
"""

# Written in traditional script on purpose: the evaluation must not care.
REFERRAL = """---
title: 雙向轉診工作規範
year: 2019
category: referral
---
# 一、上轉情形

急危重症患者經村衛生室初步處置後，應當立即轉診至縣級醫院。

# 二、下轉情形

慢性期、恢復期患者應當轉回鄉鎮衛生院或村衛生室繼續康復治療。
"""

ENGLISH = """---
title: Cold Chain Notes for Village Clinics
category: management
---
# Vaccine storage

Vaccines must be stored in a refrigerator between 2 and 8 degrees Celsius at the village clinic.
"""

ITEMS = [
    {"id": "htn-freq", "question": "高血压患者每年随访几次？", "answer_keywords": [["4次", "四次"]],
     "category": "chronic", "evidence": "每年要提供至少4次面对面的随访"},
    # Keywords in traditional script, full-width digit: must still match the simplified answer.
    {"id": "htn-trad", "question": "高血压患者每年随访几次？", "answer_keywords": [["隨訪"], ["４次"]],
     "category": "chronic"},
    {"id": "ref-up", "question": "急危重症患者应当转诊到哪里？", "answer_keywords": [["县级医院"]],
     "category": "referral", "evidence": "急危重症患者经村卫生室初步处置后"},
    # Deliberately unmatched keyword: accuracy must not be a constant 100%.
    {"id": "htn-wrong", "question": "高血压患者每年随访几次？", "answer_keywords": [["胰岛素"]],
     "category": "chronic", "source": "extra fields are ignored"},
    {"id": "weather", "question": "明天天气怎么样", "expect_refusal": True, "category": "management"},
]


def _write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
                    encoding="utf-8")
    return path


def _eval(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["eval", *argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("evalkb")
    settings = index_corpus(
        root, {"hypertension.md": HYPERTENSION, "referral.md": REFERRAL, "cold_chain.md": ENGLISH}
    )
    assert len(read_chunks(current_build(settings.index_dir))) >= 5
    paths = {key: str(getattr(settings, key)) for key in ("knowledge_dir", "index_dir", "results_dir")}
    items = _write_jsonl(root / "items.jsonl", [*ITEMS, "{this is not json", ""])
    sets = [arg for key, value in paths.items() for arg in ("--set", f"{key}={value}")]
    return {"root": root, "settings": settings, "items": items, "sets": sets}


@pytest.fixture(scope="module")
def evaluated(env):
    report_dir = env["root"] / "report"
    code, out, err = _eval(str(env["items"]), *env["sets"], "--set", "top_k=4", "--json", "--report", str(report_dir))
    assert code == 0, err
    saved = json.loads(Path(re.search(r"结果已保存：(.+)", err).group(1).strip()).read_text(encoding="utf-8"))
    return {"metrics": json.loads(out), "err": err, "report": report_dir / "index.html", "saved": saved}


def test_load_items_reports_bad_lines_with_line_numbers(tmp_path):
    path = _write_jsonl(tmp_path / "set.jsonl", [
        {"id": "ok", "question": "高血压多久随访？", "answer_keywords": [["随访"]], "unknown": 1},
        "",
        "{broken json",
        {"id": "noq", "answer_keywords": [["x"]]},
        {"id": "badkw", "question": "q", "answer_keywords": "随访"},
        {"id": "badflag", "question": "q", "expect_refusal": [1]},
        {"id": "ok2", "question": "明天天气", "expect_refusal": True},
    ])
    items, problems = load_items([path, tmp_path / "missing.jsonl"])
    assert [i.id for i in items] == ["ok", "ok2"]
    assert items[0].category == "uncategorized" and items[1].expect_refusal
    assert len(problems) == 5
    for line, word in ((3, "JSON"), (4, "question"), (5, "answer_keywords"), (6, "expect_refusal")):
        assert any(f"第 {line} 行" in p and word in p and str(path) in p for p in problems), (line, problems)
    assert any("missing.jsonl" in p and "不存在" in p for p in problems)


def test_keyword_matching_ignores_script_width_and_spaces():
    answer = "对原发性高血压患者，乡村医生每年要提供至少 4次面对面的随访。"
    assert missing_groups([["隨訪"], ["４次", "四次"]], answer) == []
    assert missing_groups([["每年要提供至少4次"]], answer) == []  # whitespace inside the answer
    assert missing_groups([["隨訪"], ["胰島素"]], answer) == [["胰島素"]]
    assert match_form("縣級醫院 ＡＢＣ") == "县级医院abc"


def test_metrics_on_real_answers(evaluated):
    m = evaluated["metrics"]
    assert m["n"] == 5
    # htn-freq, htn-trad and ref-up answered right; htn-wrong has an impossible keyword.
    assert m["answer_accuracy"] == pytest.approx(3 / 4)
    assert m["false_refusal_rate"] == 0.0
    assert m["refusal_accuracy"] == 1.0  # 明天天气 is refused
    assert m["evidence_recall"]["1"] == 1.0 and m["evidence_recall"]["5"] == 1.0
    assert m["citation_support"] == 1.0  # extractive: every sentence is in its cited passage
    assert m["latency_ms"]["p50"] > 0 and m["latency_ms"]["p95"] >= m["latency_ms"]["p50"]
    chronic = m["by_category"]["chronic"]
    assert chronic["n"] == 3 and chronic["answer_accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert m["by_category"]["management"]["answer_accuracy"] is None
    assert m["by_category"]["management"]["refusal_accuracy"] == 1.0
    by_id = {item["id"]: item for item in evaluated["saved"]["items"]}
    assert by_id["htn-trad"]["keywords_matched"] is True  # traditional keywords vs simplified answer
    assert by_id["htn-wrong"]["keywords_matched"] is False
    assert by_id["htn-wrong"]["missing_keywords"] == [["胰岛素"]]
    assert by_id["ref-up"]["evidence_rank"] == 1


def test_malformed_line_is_reported_not_fatal(evaluated, env):
    assert f"{env['items']} 第 6 行" in evaluated["err"]


def test_override_appears_in_config(evaluated, env):
    config = evaluated["metrics"]["config"]
    assert config["top_k"] == 4
    assert config["knowledge_dir"] == str(env["settings"].knowledge_dir)
    assert evaluated["saved"]["config"]["top_k"] == 4


def test_results_are_saved(evaluated, env):
    runs = list_runs(env["settings"].results_dir)
    assert len(runs) >= 1
    assert any(Path(r["path"]).read_text(encoding="utf-8") and r["n"] == 5 for r in runs)
    assert evaluated["saved"]["metrics"]["answer_accuracy"] == pytest.approx(3 / 4)
    assert evaluated["saved"]["item_files"] == [str(env["items"].resolve())]
    assert "timestamp" in evaluated["saved"] and "git_commit" in evaluated["saved"]


def test_report_is_self_contained(evaluated):
    page = evaluated["report"].read_text(encoding="utf-8")
    assert '<meta charset="utf-8">' in page
    assert page.count('<img alt="') >= 2 and '<img alt="按类别的指标" src="data:image/png;base64,' in page
    assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page, re.I)  # no external host at all
    assert "htn-wrong" in page and "胰岛素" in page  # the failed item is shown…
    assert "未通过的题目（1）" in page  # …and only it
    assert "top_k" in page


def test_index_settings_get_their_own_index(env, evaluated):
    live_before = current_build(env["settings"].index_dir)
    code, out, err = _eval(str(env["items"]), *env["sets"], "--set", "chunk_size=40", "--set", "chunk_min=8", "--json")
    assert code == 0, err
    config = json.loads(out)["config"]
    index_dir = Path(config["index_dir"])
    assert index_dir.parent == env["settings"].index_dir.parent / "eval-index"
    assert read_manifest(current_build(index_dir))["settings"]["chunk_size"] == 40
    assert current_build(env["settings"].index_dir) == live_before  # the main index is untouched
    assert read_manifest(live_before)["chunks"] < read_manifest(current_build(index_dir))["chunks"]


def test_compare_runs_each_configuration(env, evaluated, tmp_path):
    small = tmp_path / "small.toml"
    small.write_text("top_k = 1\nmax_sentences = 1\n", encoding="utf-8")
    wide = tmp_path / "wide.toml"
    wide.write_text("top_k = 5\n", encoding="utf-8")
    report = tmp_path / "cmp"
    code, out, err = _eval(str(env["items"]), *env["sets"], "--compare", str(small), str(wide), "--json", "--report", str(report))
    assert code == 0, err
    runs = json.loads(out)["runs"]
    assert [r["name"] for r in runs] == ["small", "wide"]
    assert [r["config"]["top_k"] for r in runs] == [1, 5]
    page = (report / "index.html").read_text(encoding="utf-8")
    assert "配置对比" in page and '<img alt="配置对比" src="data:image/png;base64,' in page


def test_unusable_input_exits_2(env, tmp_path):
    code, _, err = _eval(str(tmp_path / "nope.jsonl"), *env["sets"])
    assert code == 2 and "找不到评测集文件" in err
    junk = _write_jsonl(tmp_path / "junk.jsonl", ["not json", '{"id": "x"}'])
    code, _, err = _eval(str(junk), *env["sets"])
    assert code == 2 and "没有可用的题目" in err and "第 2 行" in err


def test_text_table(env, evaluated):
    code, out, _ = _eval(str(env["items"]), *env["sets"])
    assert code == 0
    assert "答案准确率 answer accuracy" in out and "75.0%" in out and "3/4" in out
    assert "htn-wrong" in out
