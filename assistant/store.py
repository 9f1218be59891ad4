"""On-disk layout of the index, shared by its writer (ingest) and its reader (assistant).

    index_dir/
      CURRENT               name of the live build (replaced atomically)
      builds/<name>/        one complete build: chroma/, bm25/, chunks.jsonl, manifest.json
      builds/.staging-*     a build in progress; never read
      cache/embeddings.sqlite   vectors by (model, content hash), so unchanged text is never re-embedded

A build is only named in CURRENT once it is complete, so a failed or interrupted ingest
leaves the previous index serving.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from assistant.models import Chunk

COLLECTION = "chunks"
# The sentence encoder's vectors of every quotable sentence, and their (chunk, start, end).
SENTENCE_VECTORS = "sentence_vectors.npy"
SENTENCE_SPANS = "sentence_spans.npy"
# Each passage's tokens as ingest cut them for BM25: loading them is ~4× faster than cutting
# every passage again with jieba, which was most of an index's load time (95 s at 100k passages).
CHUNK_TOKENS = "tokens.json"


def chroma_settings():
    from chromadb.config import Settings as ChromaSettings

    # Telemetry off: village PCs have no internet and we send nothing anywhere.
    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def server_collection(build_name: str) -> str:
    """A build's collection in a Chroma server: one per build, so the live one is never
    written while its successor is built."""
    return f"zhiyi-{build_name}"


def chroma_client(url: str = "", build: Path | None = None):
    """A Chroma server's client when `url` is set, else the build's embedded store."""
    import chromadb

    if url:
        from urllib.parse import urlsplit

        parts = urlsplit(url if "://" in url else f"http://{url}")
        return chromadb.HttpClient(
            host=parts.hostname or "127.0.0.1", port=parts.port or (443 if parts.scheme == "https" else 8000),
            ssl=parts.scheme == "https", settings=chroma_settings(),
        )
    return chromadb.PersistentClient(path=str(build / "chroma"), settings=chroma_settings())


def build_collection(build: Path, manifest: dict, chroma_url: str = ""):
    """The collection a build's vectors are in: embedded in the build, or on the server the
    manifest names (or the one configured now, if the server moved)."""
    where = manifest.get("chroma") or {}
    if where.get("url"):
        client = chroma_client(chroma_url or where["url"])
        return client.get_collection(where["collection"], embedding_function=None)
    return chroma_client("", build).get_collection(COLLECTION, embedding_function=None)


def current_build(index_dir: Path) -> Path | None:
    pointer = index_dir / "CURRENT"
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    build = index_dir / "builds" / name
    return build if (build / "manifest.json").exists() else None


def set_current(index_dir: Path, build: Path) -> None:
    tmp = index_dir / "CURRENT.tmp"
    tmp.write_text(build.name, encoding="utf-8")
    os.replace(tmp, index_dir / "CURRENT")


def read_manifest(build: Path) -> dict:
    return json.loads((build / "manifest.json").read_text(encoding="utf-8"))


def read_chunks(build: Path) -> list[Chunk]:
    with open(build / "chunks.jsonl", encoding="utf-8") as fh:
        return [Chunk.model_validate_json(line) for line in fh if line.strip()]


def index_text(chunk: Chunk) -> str:
    """What is embedded and BM25-indexed: title and section give a bare paragraph its subject."""
    from assistant.textnorm import normalize

    section = " ".join(chunk.section.split(" > ")[-2:])
    return normalize(f"{chunk.doc.title} {section}") + "\n" + chunk.search_text


def damage(build: Path) -> str:
    """Why a build cannot be served, in Chinese ("" when it is whole): a file missing or cut
    short by a crash, a full disk or a hand edit. Cheap: sizes and counts, no vectors read."""
    try:
        manifest = read_manifest(build)
    except (OSError, ValueError):
        return "manifest.json 缺失或无法读取"
    expected = manifest.get("chunks")
    on_server = bool((manifest.get("chroma") or {}).get("url"))  # its vectors are checked when opened
    for name in ("chunks.jsonl", "vectors.npy", "bm25", *(() if on_server else ("chroma/chroma.sqlite3",))):
        if not (build / name).exists():
            return f"缺少 {name}"
    try:
        with open(build / "chunks.jsonl", "rb") as fh:
            lines = sum(1 for line in fh if line.strip())
        import numpy as np

        vectors = np.load(build / "vectors.npy", mmap_mode="r")
    except (OSError, ValueError) as exc:
        return f"文件损坏（{type(exc).__name__}）"
    if expected is not None and lines != expected:
        return f"chunks.jsonl 有 {lines} 段，清单记录 {expected} 段"
    if vectors.shape[0] != lines or vectors.shape[1:] != (manifest.get("dim", vectors.shape[1]),):
        return f"vectors.npy 形状 {tuple(vectors.shape)} 与段落数 {lines} 不符"
    return ""
