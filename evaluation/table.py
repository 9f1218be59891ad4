"""Plain-text rendering of metrics for the terminal (labels in Chinese and English).

The row definitions here are shared with the HTML report, so both always show the
same metrics in the same order.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from evaluation.metrics import ItemResult


def metric_rows(metrics: dict, ks: Sequence[int]) -> list[tuple[str, str, str, str]]:
    """(key, label, value, "x/y" detail) for each headline metric."""
    c = metrics.get("counts", {})
    rows = [
        ("answer_accuracy", "答案准确率 answer accuracy", pct(metrics["answer_accuracy"]),
         _of(c.get("answered_right"), c.get("answerable"))),
        ("false_refusal_rate", "误拒率 false refusal rate", pct(metrics["false_refusal_rate"]),
         _of(c.get("false_refusals"), c.get("answerable"))),
        ("refusal_accuracy", "拒答准确率 refusal accuracy", pct(metrics["refusal_accuracy"]),
         _of(c.get("refused_right"), c.get("expect_refusal"))),
    ]
    for k in ks:
        hits = c.get("evidence_hits", {}).get(str(k))
        rows.append((f"evidence_recall@{k}", f"证据召回 evidence recall@{k}", pct(metrics["evidence_recall"].get(str(k))),
                     _of(hits, c.get("with_evidence"))))
    rows += [
        ("citation_support", "引用支撑率 citation support", pct(metrics["citation_support"]),
         _of(c.get("supported_sentences"), c.get("sentences"))),
        ("latency_p50", "延迟 latency p50", ms(metrics["latency_ms"]["p50"]), ""),
        ("latency_p95", "延迟 latency p95", ms(metrics["latency_ms"]["p95"]), ""),
    ]
    # With a language model: how many answers it worded, how often zhiyi fell back to its own,
    # and the share of the model's sentences the verifier dropped (always shown, "—" without
    # a model, so that runs line up in a comparison).
    llm = metrics.get("llm") or {}
    rows += [
        ("llm_answers", "模型回答 LLM answers", pct(_ratio(llm.get("llm_answers"), llm.get("asked"))),
         _of(llm.get("llm_answers"), llm.get("asked"))),
        ("llm_fallback_rate", "回退原文 fallback rate", pct(llm.get("fallback_rate")), ""),
        ("llm_dropped_share", "核对删句 verifier dropped", pct(llm.get("dropped_share")),
         _of(sum(llm.get("dropped_by_reason", {}).values()) if llm else None, llm.get("generated_sentences"))),
    ]
    return rows


def _ratio(part: int | None, whole: int | None) -> float | None:
    return part / whole if part is not None and whole else None


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} ms"


def _of(part: int | None, whole: int | None) -> str:
    return f"{part}/{whole}" if part is not None and whole else ""


def failure_reason(result: ItemResult) -> str:
    if result.error:
        return f"提问出错：{result.error}"
    if result.expect_refusal:
        return "应拒答，却给出了回答"
    if result.refused:
        return "误拒（应能回答）"
    return "未命中关键词：" + "；".join(" / ".join(group) for group in result.missing_keywords)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    space = " " * max(0, width - _width(text))
    return space + text if right else text + space


def grid(header: list[str], rows: list[list[str]]) -> str:
    """Columns aligned by display width (a Han character takes two cells)."""
    widths = [max(_width(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for n, row in enumerate([header, *rows]):
        lines.append("  ".join(_pad(cell, widths[i], right=i > 0) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_run(run, ks: Sequence[int], max_failures: int = 30) -> str:
    m = run.metrics
    out = [
        f"评测结果 Evaluation — {m['n']} 题 items · 配置 config: {run.name} · 索引 index: {run.index_build} · {run.seconds:.1f} s",
        "",
        grid(["指标 metric", "值 value", "明细 x/y"], [[label, value, detail] for _, label, value, detail in metric_rows(m, ks)]),
    ]
    if m.get("by_category"):
        header = ["类别 category", "n", "准确率 acc", "误拒 FRR", "拒答 refusal", *[f"召回 R@{k}" for k in ks], "支撑 support"]
        rows = [
            [cat, str(cm["n"]), pct(cm["answer_accuracy"]), pct(cm["false_refusal_rate"]), pct(cm["refusal_accuracy"]),
             *[pct(cm["evidence_recall"].get(str(k))) for k in ks], pct(cm["citation_support"])]
            for cat, cm in m["by_category"].items()
        ]
        out += ["", "按类别 By category", grid(header, rows)]
    failed = [r for r in run.items if not r.passed]
    if failed:
        out += ["", f"未通过 Failed items（{len(failed)}）"]
        for r in failed[:max_failures]:
            out.append(f"  {r.id}  {r.question}  → {failure_reason(r)}")
        if len(failed) > max_failures:
            out.append(f"  …另有 {len(failed) - max_failures} 题，见 --report 或保存的结果文件")
    return "\n".join(out)


def render_compare(runs: list, ks: Sequence[int]) -> str:
    header = ["指标 metric", *[run.name for run in runs]]
    per_run = [metric_rows(run.metrics, ks) for run in runs]
    rows = [[label, *[rows[i][2] for rows in per_run]] for i, (_, label, _, _) in enumerate(per_run[0])]
    rows.insert(0, ["题数 n", *[str(run.metrics["n"]) for run in runs]])
    return "对比 Comparison\n" + grid(header, rows)
