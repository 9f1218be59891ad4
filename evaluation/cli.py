"""``zhiyi eval``: load items, run each configuration, print / save / report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from assistant.config import PROJECT_ROOT, Settings, load_settings, parse_overrides
from assistant.pipeline import IndexMissing
from evaluation.history import save_run
from evaluation.items import load_items
from evaluation.report import write_report
from evaluation.runner import RunResult, prepare, run_items, stderr_progress
from evaluation.table import render_compare, render_run

DEFAULT_ITEMS = PROJECT_ROOT / "eval" / "dev.jsonl"


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _json_record(run: RunResult) -> dict:
    record = {key: value for key, value in run.metrics.items()}
    record["config"] = run.settings
    return record


def _configurations(args, overrides: dict) -> list[tuple[str, Settings]]:
    """(name, settings) per configuration; --set applies on top of each one."""
    if args.compare:
        return [(Path(path).stem, load_settings(overrides, config_file=path)) for path in args.compare]
    name = Path(args.config).stem if getattr(args, "config", None) else "default"
    return [(name, load_settings(overrides, config_file=getattr(args, "config", None)))]


def run(args) -> int:
    ks = sorted(set(getattr(args, "k", None) or [1, 5]))
    if any(k < 1 for k in ks):
        _say("错误：--k 须为正整数")
        return 2
    files = [str(f) for f in (args.files or [DEFAULT_ITEMS])]
    missing = [f for f in files if not Path(f).is_file()]
    missing_configs = [f for f in [*(args.compare or []), *([args.config] if getattr(args, "config", None) else [])] if not Path(f).is_file()]
    if missing or missing_configs:
        for f in missing:
            _say(f"错误：找不到评测集文件 {f}")
        for f in missing_configs:
            _say(f"错误：找不到配置文件 {f}")
        return 2

    items, problems = load_items(files)
    for problem in problems:
        _say(f"⚠ {problem}")
    if not items:
        _say("错误：评测集中没有可用的题目（请检查文件内容，每行一个 JSON 对象）")
        return 2

    try:
        overrides = parse_overrides(getattr(args, "set", None) or [])
        configurations = _configurations(args, overrides)
        reference = load_settings(None, config_file=getattr(args, "config", None))
    except (ValueError, OSError) as exc:  # bad --set, unreadable or invalid TOML
        _say(f"错误：配置有误（{exc}）")
        return 2

    runs: list[RunResult] = []
    for name, settings in configurations:
        _say(f"评测配置 {name}：{len(items)} 题")
        try:
            resolved = prepare(settings, reference, stderr_progress)
            result = run_items(items, resolved, ks, name=name, progress=stderr_progress)
        except (IndexMissing, RuntimeError, FileNotFoundError) as exc:
            _say(f"错误：配置 {name} 无法评测（{exc}）")
            return 1
        saved = save_run(result, settings.results_dir, files)
        _say(f"结果已保存：{saved}")
        runs.append(result)

    if args.json:
        payload = _json_record(runs[0]) if len(runs) == 1 else {"runs": [{"name": r.name, **_json_record(r)} for r in runs]}
        print(json.dumps(payload, ensure_ascii=False, indent=1))
    else:
        if len(runs) > 1:
            print(render_compare(runs, ks))
            print()
        for result in runs:
            print(render_run(result, ks))
            print()
    if args.report:
        path = write_report(args.report, runs, ks, files)
        _say(f"报告已写入：{path}")
    return 0
