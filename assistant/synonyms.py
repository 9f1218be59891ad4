"""Colloquial → formal query expansion, from a data file a site can extend.

``knowledge/synonyms.tsv``: one concept a line, ``标准词<TAB>口语词|口语词…``; ``#`` starts a comment.
A question containing any variant gains the standard term, so 血压高 reaches 高血压.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from assistant.textnorm import normalize
from assistant.tokenize import tokenize_normalized


def _mentions(text: str, term: str) -> bool:
    """An English term must stand as whole words (a plural allowed): "age" is not in "management"."""
    if term.isascii():
        return re.search(rf"(?<![a-z]){re.escape(term)}(?:s|es)?(?![a-z])", text) is not None
    return term in text


@dataclass
class SynonymTable:
    # variant (normalised) → standard terms (normalised)
    expansions: dict[str, list[str]] = field(default_factory=dict)
    # standard term → every way of saying it (English ones bridge languages for BM25)
    groups: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> "SynonymTable":
        table = cls()
        if not path.exists():
            return table
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if not line or "\t" not in line:
                continue
            standard, variants = line.split("\t", 1)
            standard = normalize(standard)
            group = table.groups.setdefault(standard, [standard])
            for variant in variants.split("|"):
                variant = normalize(variant)
                if variant and variant != standard:
                    table.expansions.setdefault(variant, []).append(standard)
                    group.append(variant)
        return table

    def alternatives(self, normalized_query: str) -> dict[str, list[str]]:
        """For each word of each concept the query mentions, every other way of saying
        that concept, in either language: "hypertension" is matched by 高血压."""
        out: dict[str, list[str]] = {}
        for members in self.groups.values():
            for member in (m for m in members if _mentions(normalized_query, m)):
                for tok in tokenize_normalized(member):
                    out.setdefault(tok, []).extend(m for m in members if m != member)
        return out

    def related(self, normalized_query: str) -> list[str]:
        """Every other member of each concept the query mentions (for lexical matching)."""
        out: list[str] = []
        for standard, members in self.groups.items():
            if any(_mentions(normalized_query, m) for m in members):
                out.extend(m for m in members if not _mentions(normalized_query, m) and m not in out)
        return out

    def terms(self) -> set[str]:
        """Standard terms, for the segmenter's dictionary. Colloquial variants stay out:
        as dictionary words they glue question words together (多久随访)."""
        return set(self.groups)

    def expand(self, normalized_query: str) -> list[str]:
        """Standard terms the query implies but does not already contain, longest variants first."""
        added: list[str] = []
        for variant in sorted(self.expansions, key=len, reverse=True):
            if _mentions(normalized_query, variant):
                for standard in self.expansions[variant]:
                    if not _mentions(normalized_query, standard) and standard not in added:
                        added.append(standard)
        return added
