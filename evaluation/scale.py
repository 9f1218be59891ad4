"""``zhiyi bench --scale``: how indexing and querying grow with the knowledge base.

Synthetic corpora of 1k, 10k, 100k… passages are made from the real one, not from random
text: each passage is three sentences of real passages of one category, under a numbered
section of a numbered document, so its words, lengths and structure are those of the base.

Embedding is what a cold build spends nearly all its time on, and its cost is linear in
passages: it is measured on a sample of the synthetic passages (passages/s with the
configured engine) and projected, while every passage's vector is seeded into the build's
embedding cache as the mean of its source passages' vectors (and its sentences, being real
ones, find theirs in the real base's cache). Everything else — cleaning, chunking,
de-duplication, BM25, Chroma's HNSW graph, loading the index — runs for real at each size, and queries go through the whole answer pipeline. Each size is
built and queried in a process of its own, so its peak memory is its own.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from assistant.config import Settings

PASSAGES_PER_DOCUMENT = 50
SENTENCES_PER_PASSAGE = 3


def make_corpus(settings: Settings, n: int, root: Path, seed: int = 0) -> dict[tuple[str, str], list[str]]:
    """Write `n` synthetic passages as Markdown documents under root/knowledge; returns, per
    (file, section), the chunk ids of the real passages its sentences came from."""
    from assistant.pipeline import Assistant
    from assistant.sentences import answer_spans

    retriever = Assistant(settings).retriever()
    by_category: dict[str, list[tuple[str, str]]] = {}
    for chunk in retriever.chunks:
        if chunk.lang != "zh":
            continue
        for start, end, _ in answer_spans(chunk.text, settings.max_sentence_chars):
            sentence = chunk.text[start:end].strip()
            if len(sentence) >= 12:
                by_category.setdefault(chunk.doc.category, []).append((chunk.id, sentence))
    rng = random.Random(seed)
    categories = sorted(by_category)
    knowledge = root / "knowledge"
    knowledge.mkdir(parents=True, exist_ok=True)
    sources: dict[tuple[str, str], list[str]] = {}
    for d in range((n + PASSAGES_PER_DOCUMENT - 1) // PASSAGES_PER_DOCUMENT):
        category = categories[d % len(categories)]
        name = f"synthetic_{d:05d}.md"
        lines = [f"---\ntitle: 合成文档{d}\ncategory: {category}\nyear: {2010 + d % 15}\n---\n"]
        for p in range(min(PASSAGES_PER_DOCUMENT, n - d * PASSAGES_PER_DOCUMENT)):
            picked = rng.sample(by_category[category], SENTENCES_PER_PASSAGE)
            section = f"第{p + 1}节 要点{d}-{p}"
            lines.append(f"# {section}\n\n" + "".join(s for _, s in picked) + "\n")
            sources[(name, section)] = [cid for cid, _ in picked]
        (knowledge / name).write_text("\n".join(lines), encoding="utf-8")
    (knowledge / "synonyms.tsv").write_text((settings.knowledge_dir / "synonyms.tsv").read_text(encoding="utf-8"), encoding="utf-8")
    return sources


def seed_vectors(settings: Settings, base: Settings, sources: dict[tuple[str, str], list[str]]) -> int:
    """Put each synthetic passage's vector in the build's cache: the mean of its sources'."""
    import hashlib

    from assistant.embed import get_embedder
    from assistant.pipeline import Assistant
    from assistant.store import index_text
    from ingest.chunk import chunk_document
    from ingest.clean import clean_lines
    from ingest.index import EmbeddingCache, _document_info
    from ingest.load import load_document

    real = Assistant(base).retriever()
    vectors = real._vectors
    cache = EmbeddingCache(settings.index_dir / "cache" / "embeddings.sqlite", get_embedder(settings).name)
    seeded = 0
    try:
        for path in sorted(settings.knowledge_dir.glob("synthetic_*.md")):
            raw = load_document(path)
            doc = _document_info(raw, path.name, {})
            lines = clean_lines(raw.text, body_start=int(raw.meta.get("_body_start", 0)))
            fresh = {}
            for chunk in chunk_document(lines, doc, settings):
                section = chunk.section.split(" > ")[-1]
                ids = sources.get((path.name, section))
                if not ids:
                    continue
                mean = np.mean([vectors[real.by_id[i]] for i in ids], axis=0)
                fresh[hashlib.sha1(index_text(chunk).encode("utf-8")).hexdigest()] = mean / np.linalg.norm(mean)
            cache.put_many(fresh)
            seeded += len(fresh)
    finally:
        cache.close()
    return seeded


def ingest_sample(chunks: list, n: int = 160) -> list[str]:
    """A seeded sample of real passages as ingest embeds them (title and headings included:
    about 98 tokens on average, against 65 for the bare passage text)."""
    from assistant.store import index_text

    return [index_text(c) for c in random.Random(0).sample(chunks, min(n, len(chunks)))]


def embedding_rate(settings: Settings, sample: list[str]) -> tuple[float, np.ndarray]:
    """Passages/s of the configured engine on real-sized passages (what a cold build pays),
    and the vectors it made of them."""
    from assistant.embed import get_embedder

    embedder = get_embedder(settings)
    embedder.passages(sample[:4])  # warm
    started = time.perf_counter()
    vectors = [embedder.passages(sample[start : start + settings.embed_batch])
               for start in range(0, len(sample), settings.embed_batch)]
    return len(sample) / (time.perf_counter() - started), np.concatenate(vectors)


def measure_size(n: int, base: Settings, questions: list[str]) -> dict:
    """Build and query one size (run in a process of its own by `run_scale`)."""
    import resource

    from assistant.pipeline import Assistant
    from ingest.index import build_index

    with tempfile.TemporaryDirectory(prefix=f"zhiyi-scale-{n}-") as tmp:
        root = Path(tmp)
        sources = make_corpus(base, n, root)
        settings = base.with_overrides({"knowledge_dir": root / "knowledge", "index_dir": root / "index"})
        # The real base's cache: the synthetic passages' sentences are its sentences, so their
        # sentence vectors are there already (the passages' own are seeded below).
        cache = base.index_dir / "cache" / "embeddings.sqlite"
        if cache.exists():
            (settings.index_dir / "cache").mkdir(parents=True, exist_ok=True)
            shutil.copy(cache, settings.index_dir / "cache" / "embeddings.sqlite")
        seeded = seed_vectors(settings, base, sources)
        started = time.perf_counter()
        report = build_index(settings)
        build_seconds = time.perf_counter() - started
        started = time.perf_counter()
        assistant = Assistant(settings)
        assistant.retriever()
        load_seconds = time.perf_counter() - started
        times = []
        for question in questions:
            started = time.perf_counter()
            assistant.ask(question)
            times.append((time.perf_counter() - started) * 1000)
        return {
            "passages": report.chunks, "seeded": seeded, "embedded_live": report.embedded,
            "build_seconds_without_embedding": round(build_seconds, 1), "load_seconds": round(load_seconds, 1),
            "query_p50_ms": round(float(np.percentile(times, 50)), 1), "query_p95_ms": round(float(np.percentile(times, 95)), 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }


def run_scale(settings: Settings, sizes: list[int], questions: list[str], out_dir: Path) -> list[dict]:
    from assistant.pipeline import Assistant

    real = Assistant(settings).retriever()
    sample = ingest_sample(real.chunks)
    rate, _ = embedding_rate(settings, sample)
    print(f"向量化速度（{settings.embed_backend}，{len(sample)} 段实测）：{rate:.1f} 段落/秒")
    rows = []
    for n in sizes:
        code = (
            "import json,sys; from assistant.config import Settings; from evaluation.scale import measure_size;"
            "a=json.load(sys.stdin); print(json.dumps(measure_size(a['n'], Settings.model_validate(a['settings']), a['questions'])))"
        )
        payload = json.dumps({"n": n, "settings": settings.model_dump(mode="json"), "questions": questions})
        done = subprocess.run([sys.executable, "-c", code], input=payload, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"  {n} 段：失败\n{done.stderr[-2000:]}")
            continue
        row = json.loads(done.stdout.strip().splitlines()[-1])
        row["embed_seconds_projected"] = round(row["passages"] / rate, 1)
        row["index_seconds_projected"] = round(row["embed_seconds_projected"] + row["build_seconds_without_embedding"], 1)
        row["passages_per_second"] = round(row["passages"] / row["index_seconds_projected"], 1)
        rows.append(row)
        print(f"  {row['passages']:>7} 段：建索引（不含向量化）{row['build_seconds_without_embedding']:>7.1f} s，"
              f"向量化（按实测速度推算）{row['embed_seconds_projected']:>8.1f} s，合计 {row['passages_per_second']:.1f} 段落/秒；"
              f"载入 {row['load_seconds']:.1f} s；查询 p50 {row['query_p50_ms']:.0f} ms / p95 {row['query_p95_ms']:.0f} ms；"
              f"峰值内存 {row['peak_rss_mb']} MB")
    if rows:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "scale.json").write_text(json.dumps({"embedding_rate": rate, "rows": rows}, ensure_ascii=False, indent=1))
        plot(rows, out_dir / "scale.png")
        print(f"曲线：{out_dir / 'scale.png'}")
    return rows


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [r["passages"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.loglog(n, [r["index_seconds_projected"] for r in rows], "o-", label="index (projected embedding)")
    left.loglog(n, [r["build_seconds_without_embedding"] for r in rows], "s--", label="index without embedding")
    left.set_xlabel("passages")
    left.set_ylabel("seconds")
    left.legend()
    right.loglog(n, [r["query_p50_ms"] for r in rows], "o-", label="query p50")
    right.loglog(n, [r["query_p95_ms"] for r in rows], "s--", label="query p95")
    right.axhline(1000, color="grey", linewidth=0.8)
    right.set_xlabel("passages")
    right.set_ylabel("ms")
    right.legend()
    fig.suptitle("zhiyi scale curve (2 CPU cores)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
