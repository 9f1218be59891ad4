"""How well the verifier tells a faithful model sentence from an unfaithful one, on sets of
passages and sentences written blind to it (eval/verifier/dev for development, eval/verifier/test
held out): for each label, the share of sentences kept. Faithful ones should be kept; a
changed number, comparison or negation, or an unsupported claim, should not."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.answer.verify import Passage, Verified, verify_sentence
from assistant.config import Settings
from assistant.synonyms import SynonymTable

LABELS = ("faithful", "number", "comparison", "negation", "unsupported")


def measure(folder: Path, settings: Settings) -> dict:
    """`folder` holds input.jsonl (id, question, passage_title, passage) and cases.jsonl (id,
    label, sentence): the kept share per label, and which check dropped what."""
    synonyms = SynonymTable.load(settings.knowledge_dir / "synonyms.tsv")
    inputs = {row["id"]: row for row in _rows(folder / "input.jsonl")}
    kept: dict[str, int] = {}
    total: dict[str, int] = {}
    dropped_by: dict[str, dict[str, int]] = {}
    for case in _rows(folder / "cases.jsonl"):
        given = inputs[case["id"]]
        header = f"《{given['passage_title']}》"
        passage = Passage(1, f"{header}\n{given['passage']}", len(header) + 1)
        verdict = verify_sentence(case["sentence"], [passage], synonyms, settings.llm_min_support, given["question"])
        label = case["label"]
        total[label] = total.get(label, 0) + 1
        if isinstance(verdict, Verified):
            kept[label] = kept.get(label, 0) + 1
        else:
            reasons = dropped_by.setdefault(label, {})
            reasons[verdict.reason] = reasons.get(verdict.reason, 0) + 1
    unfaithful = [label for label in total if label != "faithful"]
    return {
        "kept": {label: [kept.get(label, 0), total[label]] for label in LABELS if label in total},
        "faithful_kept": round(kept.get("faithful", 0) / total["faithful"], 4) if total.get("faithful") else None,
        "unfaithful_passed": round(sum(kept.get(label, 0) for label in unfaithful) / sum(total[label] for label in unfaithful), 4)
        if unfaithful else None,
        "dropped_by": dropped_by,
        "min_support": settings.llm_min_support,
    }


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
