"""Near-duplicate detection by character shingles (language-agnostic, no model)."""

from __future__ import annotations


def shingles(text: str, n: int = 4) -> set[str]:
    text = "".join(text.split())
    return {text[i : i + n] for i in range(max(1, len(text) - n + 1))}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0
