"""Drop passages that are near-copies of an earlier one (scraped pages often hold
several versions of one plan); the first occurrence is kept and cited."""

from __future__ import annotations

from collections import defaultdict

from assistant.models import Chunk
from assistant.similarity import jaccard, shingles


def drop_near_duplicates(chunks: list[Chunk], threshold: float) -> list[Chunk]:
    kept: list[Chunk] = []
    kept_shingles: list[set[str]] = []
    postings: dict[str, list[int]] = defaultdict(list)
    for chunk in chunks:
        grams = shingles(chunk.search_text)
        overlap: dict[int, int] = defaultdict(int)
        for gram in grams:
            for idx in postings.get(gram, ()):
                overlap[idx] += 1
        # Only chunks sharing many shingles can pass the threshold; check those exactly.
        if any(
            count >= threshold * len(grams) * 0.5 and jaccard(grams, kept_shingles[idx]) >= threshold
            for idx, count in overlap.items()
        ):
            continue
        idx = len(kept)
        kept.append(chunk)
        kept_shingles.append(grams)
        for gram in grams:
            postings[gram].append(idx)
    return kept
