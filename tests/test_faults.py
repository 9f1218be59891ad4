"""Faults a county server meets: an ingest killed half-way, a full disk, a read-only index
directory, a build damaged on disk. Each run for real — `zhiyi ingest` in a subprocess, killed
with SIGKILL or held to a file-size limit by the kernel, an index directory the process may not
write — and after each the old index still answers, or the damage is named with the command
that rebuilds it."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.config import PROJECT_ROOT
from tests.conftest import index_corpus

QUESTION = "高血压患者每年随访几次？"
# Real digests, so that an ingest takes long enough to be killed in the middle of it.
BIG = ["hypertension_china_2018.md"]


def _env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIYI_")}
    env.update({
        "ZHIYI_KNOWLEDGE_DIR": str(settings.knowledge_dir), "ZHIYI_INDEX_DIR": str(settings.index_dir),
        "ZHIYI_RESULTS_DIR": str(settings.results_dir), "ZHIYI_STATE_DIR": str(settings.state_dir),
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(PROJECT_ROOT),
    })
    return env


def _zhiyi(settings, *args, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ui.cli", *args], env=_env(settings), cwd=PROJECT_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def _answers(settings) -> str:
    from assistant.pipeline import Assistant

    answer = Assistant(settings).ask(QUESTION)
    assert not answer.refused, answer
    return "".join(s.text for s in answer.sentences)


def _live(settings) -> str:
    return (settings.index_dir / "CURRENT").read_text(encoding="utf-8").strip()


@pytest.fixture
def served(tmp_path):
    """A small index that answers QUESTION, built for this test alone (each test breaks it)."""
    settings = index_corpus(tmp_path)
    assert "4次" in _answers(settings)
    return settings


def test_an_ingest_killed_half_way_leaves_the_old_index_serving_and_the_next_one_completes(served):
    for name in BIG:
        shutil.copy(PROJECT_ROOT / "knowledge" / "guidelines" / name, served.knowledge_dir / name)
    before = _live(served)
    ingest = _zhiyi(served, "ingest")
    for line in ingest.stdout:  # killed while it embeds the new documents
        if line.startswith("向量化"):
            break
    ingest.send_signal(signal.SIGKILL)
    ingest.wait(timeout=30)
    assert ingest.returncode == -signal.SIGKILL
    assert _live(served) == before and "4次" in _answers(served)
    again = _zhiyi(served, "ingest")
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert _live(served) != before
    builds = [p.name for p in (served.index_dir / "builds").iterdir()]
    assert not [b for b in builds if b.startswith(".staging")]  # what the killed run left is gone
    from assistant.pipeline import Assistant

    sources = Assistant(served).retriever().manifest["sources"]  # the documents the killed run never finished
    assert set(BIG) <= set(sources) and "4次" in _answers(served)


def _file_size_limit(limit: int):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_full_disk_gives_a_chinese_message_and_keeps_the_old_index(served):
    """The kernel refuses any write past 64 KB (RLIMIT_FSIZE), as a full disk refuses any."""
    (served.knowledge_dir / "extra.md").write_text("# 新增\n\n" + "高血压患者随访时应测量血压。\n" * 400, encoding="utf-8")
    before = _live(served)
    ingest = _zhiyi(served, "ingest", "--force", preexec_fn=_file_size_limit(64 * 1024))
    out, err = ingest.communicate(timeout=300)
    assert ingest.returncode == 1, (out, err)
    assert "索引没有建成：磁盘空间不足" in err and "原有索引保持不变" in err
    assert "Traceback" not in err
    assert _live(served) == before and "4次" in _answers(served)


def _read_only(path: Path) -> list[str]:
    """A command prefix that runs the rest with `path` mounted read-only (a private mount in a
    user namespace, so nothing outside the test sees it); [] where the machine cannot."""
    prefix = ["unshare", "-rm", "sh", "-c", 'mount --bind -o ro "$1" "$1" && shift && exec "$@"', "sh", str(path)]
    if shutil.which("unshare") is None:
        return []
    probe = subprocess.run([*prefix, "true"], capture_output=True)
    return prefix if probe.returncode == 0 else []


def test_a_read_only_index_directory_gives_a_chinese_message_and_keeps_the_old_index(served):
    prefix = _read_only(served.index_dir)
    if not prefix:
        pytest.skip("this machine cannot mount a directory read-only for one process (unshare -rm)")
    (served.knowledge_dir / "extra.md").write_text("# 新增\n\n糖尿病患者每年至少随访4次。\n", encoding="utf-8")
    before = _live(served)
    ingest = subprocess.run([*prefix, sys.executable, "-m", "ui.cli", "ingest"], env=_env(served), cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=300)
    assert ingest.returncode == 1, (ingest.stdout, ingest.stderr)
    assert "索引没有建成：索引目录不可写" in ingest.stderr and "原有索引保持不变" in ingest.stderr
    assert "Traceback" not in ingest.stderr
    assert _live(served) == before and "4次" in _answers(served)


@pytest.mark.parametrize("damage", ["chunks cut short", "vectors missing", "manifest garbled"])
def test_a_damaged_index_is_named_at_start_with_the_command_that_rebuilds_it(served, damage):
    from assistant.pipeline import Assistant, IndexDamaged
    from ingest.index import index_is_current

    build = served.index_dir / "builds" / _live(served)
    if damage == "chunks cut short":
        text = (build / "chunks.jsonl").read_text(encoding="utf-8")
        (build / "chunks.jsonl").write_text(text[: len(text) // 2], encoding="utf-8")
    elif damage == "vectors missing":
        (build / "vectors.npy").unlink()
    else:
        (build / "manifest.json").write_text('{"fingerprint": "', encoding="utf-8")
    with pytest.raises(IndexDamaged, match="zhiyi ingest --force"):
        Assistant(served).ask(QUESTION)
    asked = _zhiyi(served, "ask", QUESTION)
    out, err = asked.communicate(timeout=120)
    assert asked.returncode == 2 and "知识库索引已损坏" in err and "zhiyi ingest --force" in err
    assert not index_is_current(served)  # so `make run` (zhiyi ensure-index) rebuilds it
    fixed = _zhiyi(served, "ensure-index")
    out, err = fixed.communicate(timeout=300)
    assert fixed.returncode == 0, err
    assert "4次" in _answers(served)
