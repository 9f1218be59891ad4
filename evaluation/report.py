"""The HTML report: one self-contained file (inline CSS, charts as data URIs, no
external URL), so it can be copied to a USB stick and opened on any PC offline."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from evaluation import charts
from evaluation.history import git_commit
from evaluation.metrics import ItemResult
from evaluation.runner import RunResult
from evaluation.table import failure_reason, metric_rows, pct

_CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;margin:24px auto;max-width:1100px;color:#1a202c;line-height:1.5;padding:0 16px}
h1{font-size:1.6em;margin-bottom:4px}h2{border-bottom:2px solid #cbd5e0;padding-bottom:4px;margin-top:36px}
table{border-collapse:collapse;margin:8px 0 16px}th,td{border:1px solid #cbd5e0;padding:4px 10px;text-align:left;vertical-align:top}
th{background:#edf2f7}td.num{text-align:right;font-variant-numeric:tabular-nums}
.meta{color:#4a5568;font-size:.92em}.item{border:1px solid #e2e8f0;border-left:4px solid #e53e3e;border-radius:4px;padding:8px 12px;margin:10px 0}
.item h4{margin:0 0 4px}.reason{color:#c53030;font-weight:bold}.quote{background:#fefcbf;padding:1px 3px}
.cite{margin:2px 0 2px 12px;font-size:.93em}.ids{font-family:monospace;font-size:.85em;color:#4a5568;word-break:break-all}
.ev{background:#c6f6d5}img{max-width:100%;border:1px solid #e2e8f0;margin:6px 0}
details>summary{cursor:pointer;font-weight:bold;margin:8px 0}code{font-size:.9em}
"""


def _e(text: object) -> str:
    return html.escape("" if text is None else str(text))


def _metrics_table(metrics: dict, ks: Sequence[int]) -> str:
    rows = "".join(
        f"<tr><td>{_e(label)}</td><td class=num>{_e(value)}</td><td class=num>{_e(detail)}</td></tr>"
        for _, label, value, detail in metric_rows(metrics, ks)
    )
    return f"<table><tr><th>指标 metric</th><th>值 value</th><th>明细 x/y</th></tr>{rows}</table>"


def _category_table(by_category: dict, ks: Sequence[int]) -> str:
    head = "".join(
        f"<th>{_e(h)}</th>"
        for h in ["类别 category", "题数 n", "答案准确率", "误拒率", "拒答准确率", *[f"证据召回@{k}" for k in ks], "引用支撑率", "延迟 p50"]
    )
    body = ""
    for cat, m in by_category.items():
        cells = [m["answer_accuracy"], m["false_refusal_rate"], m["refusal_accuracy"],
                 *[m["evidence_recall"].get(str(k)) for k in ks], m["citation_support"]]
        p50 = m["latency_ms"]["p50"]
        body += (
            f"<tr><td>{_e(cat)}</td><td class=num>{m['n']}</td>"
            + "".join(f"<td class=num>{pct(v)}</td>" for v in cells)
            + f"<td class=num>{'—' if p50 is None else f'{p50:.0f} ms'}</td></tr>"
        )
    return f"<table><tr>{head}</tr>{body}</table>"


def _keywords(groups: list[list[str]]) -> str:
    if not groups:
        return "（无）"
    return "；".join(" 或 ".join(f"「{_e(alt)}」" for alt in group) for group in groups)


def _failed_item(r: ItemResult) -> str:
    parts = [
        f"<h4>{_e(r.id)} · {_e(r.category)}</h4>",
        f"<div><b>问题：</b>{_e(r.question)}</div>",
        f"<div class=reason>{_e(failure_reason(r))}</div>",
        f"<div class=meta>置信度 {r.confidence:.2f} · 耗时 {r.latency_ms:.0f} ms</div>",
        f"<div><b>期望：</b>{'应拒答' if r.expect_refusal else '应回答'}；关键词：{_keywords(r.answer_keywords)}</div>",
    ]
    if r.evidence:
        where = f"（排第 {r.evidence_rank} 位）" if r.evidence_rank else "（未在检索结果中）"
        parts.append(f"<div><b>证据：</b>{_e(r.evidence)} {where}</div>")
    if r.refused:
        parts.append(f"<div><b>拒答信息：</b>{_e(r.message)}</div>")
    else:
        parts.append(f"<div><b>回答：</b>{_e(r.answer_text) or '（空）'}</div>")
        if r.message:
            parts.append(f"<div><b>提示：</b>{_e(r.message)}</div>")
    for c in r.citations:
        section = f" · {_e(c.section)}" if c.section else ""
        parts.append(f"<div class=cite>[{c.id}] {_e(c.title)}{section}<br><span class=quote>「{_e(c.quote)}」</span></div>")
    if r.retrieved:
        ids = [
            f"<span class=ev>{_e(cid)}</span>" if r.evidence_rank == rank else _e(cid)
            for rank, cid in enumerate(r.retrieved[:10], start=1)
        ]
        more = f" …共 {len(r.retrieved)} 条" if len(r.retrieved) > 10 else ""
        parts.append(f"<div class=ids>检索结果（按排名）：{' · '.join(ids)}{more}</div>")
    return f"<div class=item>{''.join(parts)}</div>"


def _config_table(settings: dict) -> str:
    rows = "".join(f"<tr><td><code>{_e(k)}</code></td><td>{_e(v)}</td></tr>" for k, v in settings.items())
    return f"<table><tr><th>配置项</th><th>值</th></tr>{rows}</table>"


def _run_section(run: RunResult, ks: Sequence[int], heading: bool, open_details: bool) -> str:
    m = run.metrics
    failed = [r for r in run.items if not r.passed]
    latencies = [r.latency_ms for r in run.items if not r.error]
    out = []
    if heading:
        out.append(f"<h2>配置：{_e(run.name)}</h2>")
    out.append(
        f"<p class=meta>{m['n']} 题 · 索引 {_e(run.index_build)} · 用时 {run.seconds:.1f} 秒"
        + (f" · 结果文件 <code>{_e(run.saved_to)}</code>" if run.saved_to else "")
        + "</p>"
    )
    out.append("<h3>总体指标</h3>" + _metrics_table(m, ks))
    if m.get("by_category"):
        out.append("<h3>按类别</h3>" + _category_table(m["by_category"], ks))
        out.append(f'<img alt="按类别的指标" src="{charts.category_chart(m["by_category"], ks)}">')
    out.append("<h3>延迟分布</h3>")
    out.append(f'<img alt="延迟分布" src="{charts.latency_histogram(latencies, m["latency_ms"]["p50"], m["latency_ms"]["p95"])}">')
    attr = " open" if open_details else ""
    items = "".join(_failed_item(r) for r in failed) or "<p>全部通过。</p>"
    out.append(f"<details{attr}><summary>未通过的题目（{len(failed)}）</summary>{items}</details>")
    out.append(f"<details><summary>所用配置</summary>{_config_table(run.settings)}</details>")
    return "\n".join(out)


def _compare_section(runs: list[RunResult], ks: Sequence[int]) -> str:
    per_run = [metric_rows(run.metrics, ks) for run in runs]
    head = "".join(f"<th>{_e(run.name)}</th>" for run in runs)
    counts = "".join(f"<td class=num>{run.metrics['n']}</td>" for run in runs)
    body = f"<tr><td>题数 n</td>{counts}</tr>"
    for i, (_, label, _, _) in enumerate(per_run[0]):
        body += f"<tr><td>{_e(label)}</td>" + "".join(f"<td class=num>{_e(rows[i][2])}</td>" for rows in per_run) + "</tr>"
    # Settings that differ between the configurations: what the comparison is about.
    keys = [k for k in runs[0].settings if len({repr(run.settings.get(k)) for run in runs}) > 1]
    diff = "".join(
        f"<tr><td><code>{_e(k)}</code></td>" + "".join(f"<td>{_e(run.settings.get(k))}</td>" for run in runs) + "</tr>"
        for k in keys
    )
    series_keys = ["answer_accuracy", "false_refusal_rate", "refusal_accuracy", *[f"evidence_recall@{k}" for k in ks], "citation_support"]
    series = {}
    for key in series_keys:
        if key.startswith("evidence_recall@"):
            series[key.replace("_", " ")] = [run.metrics["evidence_recall"].get(key.split("@")[1]) for run in runs]
        else:
            label = key.replace("_", " ") + (" (lower=better)" if key == "false_refusal_rate" else "")
            series[label] = [run.metrics[key] for run in runs]
    names = [charts.plot_label(run.name, i) for i, run in enumerate(runs)]
    chart = charts.compare_chart(names, series)
    return (
        "<h2>配置对比</h2>"
        f"<table><tr><th>指标 metric</th>{head}</tr>{body}</table>"
        + (f"<h3>不同的配置项</h3><table><tr><th>配置项</th>{head}</tr>{diff}</table>" if diff else "")
        + f'<img alt="配置对比" src="{chart}">'
    )


def write_report(directory: str | Path, runs: list[RunResult], ks: Sequence[int], item_files: list[str]) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    commit = git_commit()
    header = (
        "<h1>智医助理 评测报告</h1>"
        f"<p class=meta>生成时间 {datetime.now().strftime('%Y-%m-%d %H:%M:%S')}"
        f" · 代码版本 <code>{_e(commit or '未知')}</code>"
        f" · 评测集 {'、'.join(_e(Path(f).name) for f in item_files)}</p>"
        "<p class=meta>答案准确率：应回答的题中，未拒答且每组关键词至少命中一个的比例（简繁、全半角、空白不影响匹配）。"
        "误拒率：应回答却拒答的比例。拒答准确率：应拒答的题中确实拒答的比例。"
        "证据召回@k：标注了证据的题中，证据原文出现在前 k 个检索段落里的比例。"
        "引用支撑率：回答中的句子能在其引用段落中找到原文的比例。</p>"
    )
    sections = [header]
    if len(runs) > 1:
        sections.append(_compare_section(runs, ks))
    for run in runs:
        sections.append(_run_section(run, ks, heading=len(runs) > 1, open_details=len(runs) == 1))
    page = (
        "<!DOCTYPE html>\n<html lang=zh-CN><head><meta charset=\"utf-8\">"
        "<meta name=viewport content=\"width=device-width, initial-scale=1\">"
        f"<title>智医助理 评测报告</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )
    path = directory / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
