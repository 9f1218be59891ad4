"""zhiyi against a real Chroma server (`chroma run` from the chromadb package, on loopback):
the same answers as the embedded store, ingest builds a new collection and swaps only when it
is complete, pruned builds take their collections with them, and a server that stops gives a
Chinese message, not a traceback."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import DRAFTING_CHECKS, index_corpus

QUESTIONS = ["高血压患者每年随访几次？", "智医助理项目经费怎么分担?", "糖尿病患者空腹血糖多少要紧急转诊"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_chroma(path: Path, wrap: tuple[str, ...] = (), telemetry_off: bool = True) -> tuple[subprocess.Popen, str]:
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    if chroma is None:
        pytest.skip("the chroma CLI (chromadb package) is not installed")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("ANONYMIZED_TELEMETRY", "CHROMA_TELEMETRY")}
    if telemetry_off:
        env.update({"ANONYMIZED_TELEMETRY": "False", "CHROMA_TELEMETRY": "False"})
    server = subprocess.Popen([*wrap, chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(150):
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                return server, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.kill()
    pytest.fail("chroma run did not come up")


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    server, url = start_chroma(tmp_path_factory.mktemp("chroma-data"))
    yield url
    server.terminate()
    server.wait(timeout=30)


def _collections(url: str) -> set[str]:
    from assistant.store import chroma_client

    return {c.name for c in chroma_client(url).list_collections()}


def test_answers_from_a_chroma_server_match_the_embedded_store(tmp_path, chroma_server, corpus_settings):
    from assistant.pipeline import Assistant

    served = index_corpus(tmp_path, chroma_url=chroma_server, checks=DRAFTING_CHECKS)
    manifest = Assistant(served).retriever().manifest
    assert manifest["chroma"] == {"url": chroma_server, "collection": f"zhiyi-{manifest_name(served)}"}
    assert not (served.index_dir / "builds" / manifest_name(served) / "chroma").exists()  # nothing embedded
    embedded = Assistant(corpus_settings.with_overrides({"checks": DRAFTING_CHECKS}))
    remote = Assistant(served)
    for question in QUESTIONS:
        here, there = embedded.ask(question), remote.ask(question)
        assert [h.split("#")[0] for h in there.retrieved] == [h.split("#")[0] for h in here.retrieved], question
        assert [s.text for s in there.sentences] == [s.text for s in here.sentences], question


def manifest_name(settings) -> str:
    return (settings.index_dir / "CURRENT").read_text(encoding="utf-8").strip()


def test_ingest_builds_a_new_collection_swaps_when_complete_and_prunes_old_ones(tmp_path, chroma_server):
    from assistant.pipeline import Assistant
    from ingest.index import build_index

    served = index_corpus(tmp_path, chroma_url=chroma_server, checks=DRAFTING_CHECKS)
    first = manifest_name(served)
    assistant = Assistant(served)
    assert "4次" in "".join(s.text for s in assistant.ask(QUESTIONS[0]).sentences)
    names = []
    for _ in range(3):  # each forced rebuild is a new collection; live + previous are kept
        report = build_index(served, force=True)
        assert report.swapped
        names.append(manifest_name(served))
        assert "4次" in "".join(s.text for s in assistant.ask(QUESTIONS[0]).sentences)  # re-opened on the swap
    ours = {n for n in _collections(chroma_server) if n.startswith("zhiyi-") and n[6:] in {first, *names}}
    assert ours == {f"zhiyi-{names[-1]}", f"zhiyi-{names[-2]}"}
    assert len(set(names + [first])) == 4


def test_a_chroma_server_that_stops_gives_a_chinese_message(tmp_path):
    from assistant.pipeline import Assistant, IndexUnavailable

    server, url = start_chroma(tmp_path / "data")
    try:
        served = index_corpus(tmp_path / "zhiyi", chroma_url=url, checks=DRAFTING_CHECKS)
    finally:
        server.terminate()
        server.wait(timeout=30)
    with pytest.raises(IndexUnavailable, match="无法连接向量库服务"):
        Assistant(served).ask(QUESTIONS[0])
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIYI_")}
    env.update({"ZHIYI_INDEX_DIR": str(served.index_dir), "ZHIYI_KNOWLEDGE_DIR": str(served.knowledge_dir),
                "ZHIYI_CHROMA_URL": url})
    asked = subprocess.run([sys.executable, "-m", "ui.cli", "ask", QUESTIONS[0]], env=env, capture_output=True, text=True,
                           cwd=Path(__file__).resolve().parent.parent, timeout=120)
    assert asked.returncode == 2 and "无法连接向量库服务" in asked.stderr and "Traceback" not in asked.stderr


def test_a_chroma_server_left_at_its_defaults_connects_to_nothing_off_the_machine(tmp_path):
    """A county admin may start `chroma run` without our telemetry switches: every connect()
    the server makes while zhiyi indexes and asks through it is traced, and must stay local."""
    from assistant.pipeline import Assistant

    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed")
    trace = tmp_path / "chroma.trace"
    server, url = start_chroma(tmp_path / "data", wrap=(strace, "-f", "-qq", "-e", "trace=connect,accept,accept4", "-o", str(trace)),
                               telemetry_off=False)
    try:
        served = index_corpus(tmp_path / "zhiyi", chroma_url=url, checks=DRAFTING_CHECKS)
        assert not Assistant(served).ask(QUESTIONS[0]).refused
        time.sleep(2)  # anything sent in the background after a request
    finally:
        # strace's child is the server: stop it, and strace ends with it.
        for child in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split():
            os.kill(int(child), signal.SIGTERM)
        server.wait(timeout=30)
    calls = trace.read_text(encoding="utf-8", errors="replace").splitlines()
    assert any("accept" in c and "= -1" not in c for c in calls), "the trace saw none of zhiyi's connections"
    outward = [c for c in calls if "connect(" in c and "AF_UNIX" not in c
               and not any(local in c for local in ('inet_addr("127.', "::1", "AF_NETLINK"))]
    assert outward == []
