"""Drop passages that are near-copies of an earlier one (scraped pages often hold
several versions of one plan); the first occurrence is kept and cited.

Candidates come from MinHash locality-sensitive hashing (64 hashes in 16 bands of 4): two
passages meet in some band with probability 1 − (1 − J⁴)¹⁶, which is 0.9998 at the 0.8
threshold and 0.06 at J = 0.3, and each candidate is then checked exactly. Comparing every
passage with every earlier one sharing a shingle — the first version — is quadratic in how
common shingles are: at 100,000 passages a shingle like "高血压患" is shared by thousands and
a build never finished (`zhiyi bench --scale`).
"""

from __future__ import annotations

import zlib
from collections import defaultdict

import numpy as np

from assistant.models import Chunk
from assistant.similarity import jaccard, shingles

HASHES, BANDS = 64, 16
_PRIME = (1 << 61) - 1
_rng = np.random.default_rng(20261201)  # fixed: the same documents always give the same index
_A = _rng.integers(1, _PRIME, size=HASHES, dtype=np.uint64)
_B = _rng.integers(0, _PRIME, size=HASHES, dtype=np.uint64)


def _signature(grams: set[str]) -> np.ndarray:
    base = np.fromiter((zlib.crc32(g.encode("utf-8")) for g in grams), dtype=np.uint64, count=len(grams))
    # (a·x + b) mod p in 64-bit arithmetic; x < 2³², so a·x may wrap — a fixed hash all the same.
    return ((_A[:, None] * base[None, :] + _B[:, None]) % np.uint64(_PRIME)).min(axis=1)


def drop_near_duplicates(chunks: list[Chunk], threshold: float) -> list[Chunk]:
    kept: list[Chunk] = []
    kept_shingles: list[set[str]] = []
    buckets: dict[tuple[int, bytes], list[int]] = defaultdict(list)
    rows = HASHES // BANDS
    for chunk in chunks:
        grams = shingles(chunk.search_text)
        keys = []
        candidates: set[int] = set()
        if grams:
            signature = _signature(grams)
            for band in range(BANDS):
                key = (band, signature[band * rows : (band + 1) * rows].tobytes())
                keys.append(key)
                candidates.update(buckets.get(key, ()))
        if any(jaccard(grams, kept_shingles[idx]) >= threshold for idx in candidates):
            continue
        idx = len(kept)
        kept.append(chunk)
        kept_shingles.append(grams)
        for key in keys:
            buckets[key].append(idx)
    return kept
