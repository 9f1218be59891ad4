"""Charts for the report, as PNG data URIs (the report must open with no network).

Labels are English on purpose: matplotlib's bundled fonts have no CJK glyphs, so
Chinese would render as empty boxes on a machine without a Chinese font. Category keys
and metric names are English anyway; the HTML around the charts is Chinese.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # no display on a village PC or in CI

from matplotlib.figure import Figure  # noqa: E402  (after the backend is chosen)

_COLORS = ["#2b6cb0", "#38a169", "#dd6b20", "#805ad5", "#d53f8c", "#319795", "#718096", "#b7791f"]


def _data_uri(fig: Figure) -> str:
    buffer = io.BytesIO()
    # No "Software" text chunk: it carries a URL, and the report names no external host.
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _value(v: float | None) -> float:
    return math.nan if v is None else v * 100


def _grouped_bars(groups: list[str], series: dict[str, list[float | None]], title: str, ylabel: str) -> str:
    width_in = max(6.0, 1.1 * len(groups) * max(1, len(series)) * 0.35 + 2)
    fig = Figure(figsize=(min(width_in, 14), 4.2))
    ax = fig.add_subplot()
    n = max(1, len(series))
    bar = 0.8 / n
    for i, (label, values) in enumerate(series.items()):
        xs = [g + (i - (n - 1) / 2) * bar for g in range(len(groups))]
        heights = [_value(v) for v in values]
        bars = ax.bar(xs, heights, bar, label=label, color=_COLORS[i % len(_COLORS)])
        for rect, v in zip(bars, values):
            if v is not None and len(groups) * n <= 40:  # numbers on bars only while they fit
                ax.annotate(f"{v * 100:.0f}", (rect.get_x() + rect.get_width() / 2, rect.get_height()),
                            ha="center", va="bottom", fontsize=7, xytext=(0, 1), textcoords="offset points")
    ax.set_xticks(range(len(groups)), groups, rotation=20 if len(groups) > 5 else 0, ha="right" if len(groups) > 5 else "center")
    ax.set_ylim(0, 108)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _data_uri(fig)


def category_chart(by_category: dict[str, dict], ks: Sequence[int]) -> str:
    k = max(ks) if ks else 5
    categories = list(by_category)
    series = {
        "answer accuracy": [by_category[c]["answer_accuracy"] for c in categories],
        "refusal accuracy": [by_category[c]["refusal_accuracy"] for c in categories],
        f"evidence recall@{k}": [by_category[c]["evidence_recall"].get(str(k)) for c in categories],
        "citation support": [by_category[c]["citation_support"] for c in categories],
    }
    labels = [f"{c} (n={by_category[c]['n']})" for c in categories]
    return _grouped_bars(labels, series, "Metrics by category (missing bar = not applicable)", "%")


def latency_histogram(latencies_ms: list[float], p50: float | None, p95: float | None) -> str:
    fig = Figure(figsize=(7, 3.4))
    ax = fig.add_subplot()
    if latencies_ms:
        ax.hist(latencies_ms, bins=min(30, max(5, len(latencies_ms) // 3)), color=_COLORS[0], alpha=0.85)
        for value, label, color in ((p50, "p50", _COLORS[1]), (p95, "p95", _COLORS[2])):
            if value is not None:
                ax.axvline(value, color=color, linestyle="--", label=f"{label} = {value:.0f} ms")
        ax.legend(fontsize=8)
    ax.set_xlabel("latency per question (ms)")
    ax.set_ylabel("questions")
    ax.set_title("Answer latency")
    ax.grid(axis="y", alpha=0.3)
    return _data_uri(fig)


def compare_chart(names: list[str], metric_series: dict[str, list[float | None]]) -> str:
    """Metrics on the x axis, one bar per configuration."""
    metrics = list(metric_series)
    by_config = {name: [metric_series[m][i] for m in metrics] for i, name in enumerate(names)}
    return _grouped_bars(metrics, by_config, "Configurations compared", "%")


def plot_label(name: str, index: int) -> str:
    """A configuration name safe for the plot font (ASCII), else its position."""
    return name if name.isascii() else f"config {index + 1}"
