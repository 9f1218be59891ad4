"""Saved runs: every evaluation is kept as one JSON file, so quality can be followed
across commits and configurations."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from assistant.config import PROJECT_ROOT
from evaluation.runner import RunResult


def git_commit(root: Path = PROJECT_ROOT) -> str | None:
    """HEAD of the working tree (with "-dirty" when it has changes), or None outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root, capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    if not head:
        return None
    return f"{head}-dirty" if status else head


def save_run(run: RunResult, results_dir: Path, item_files: list[str], now: datetime | None = None) -> Path:
    now = now or datetime.now(timezone.utc)
    commit = git_commit()
    results_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{now.strftime('%Y%m%dT%H%M%S')}-{(commit or 'nogit')[:8]}-{_slug(run.name)}"
    path = results_dir / f"{stem}.json"
    suffix = 1
    while path.exists():  # two runs in one second (a --compare) must not overwrite each other
        suffix += 1
        path = results_dir / f"{stem}-{suffix}.json"
    record = {
        "timestamp": now.isoformat(),
        "git_commit": commit,
        "item_files": [str(Path(f).resolve()) for f in item_files],
        "name": run.name,
        "config": run.settings,
        "index_build": run.index_build,
        "seconds": run.seconds,
        "metrics": run.metrics,
        "items": [item.model_dump(mode="json") for item in run.items],
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)
    run.saved_to = str(path)
    return path


def list_runs(results_dir: Path) -> list[dict]:
    """Saved runs, oldest first: path, time, commit, name and the headline metrics."""
    runs = []
    for path in sorted(Path(results_dir).glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a foreign or half-written file is not a run
        if not isinstance(record, dict) or "metrics" not in record:
            continue
        metrics = record["metrics"]
        runs.append(
            {
                "path": str(path),
                "timestamp": record.get("timestamp"),
                "git_commit": record.get("git_commit"),
                "name": record.get("name"),
                "n": metrics.get("n"),
                "answer_accuracy": metrics.get("answer_accuracy"),
                "refusal_accuracy": metrics.get("refusal_accuracy"),
                "evidence_recall": metrics.get("evidence_recall"),
            }
        )
    runs.sort(key=lambda r: r["timestamp"] or "")
    return runs


def load_run(path: str | Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _slug(name: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
    return keep.strip("._")[:40] or "run"
