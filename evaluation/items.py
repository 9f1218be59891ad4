"""Evaluation items: one JSON object per line (or one JSON array of them), read tolerantly.

An eval set is edited by hand, so one bad line must not cost the whole run: it is
reported (file and line number, in Chinese) and skipped.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class EvalItem(BaseModel):
    # Items carry extra bookkeeping fields (source, notes…) that scoring does not need.
    model_config = ConfigDict(extra="ignore")

    id: str
    question: str = Field(min_length=1)
    # Every group must be matched by at least one of its alternatives.
    answer_keywords: list[list[str]] = Field(default_factory=list)
    expect_refusal: bool = False
    category: str = "uncategorized"
    # What sort of question: fact, colloquial, typo, followup, english, traditional,
    # value_in_question, list, two_part, near_miss, off_domain.
    kind: str = ""
    evidence: str | None = None  # a span of the passage that answers it, for retrieval recall
    history: list[str] = Field(default_factory=list)  # earlier questions, for follow-ups


_FIELD_NAMES = {
    "id": "id",
    "question": "question（问题）",
    "answer_keywords": "answer_keywords（答案关键词，应为字符串列表的列表）",
    "expect_refusal": "expect_refusal（应为 true/false）",
    "category": "category（类别）",
    "evidence": "evidence（证据原文）",
    "history": "history（之前的问题，应为字符串列表）",
}


def _describe(error: ValidationError) -> str:
    parts = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else ""
        name = _FIELD_NAMES.get(field, field)
        if problem["type"] == "missing":
            parts.append(f"缺少字段 {name}")
        elif problem["type"] == "string_too_short":
            parts.append(f"字段 {name} 不能为空")
        else:
            parts.append(f"字段 {name} 类型不对")
    # One message per field is enough: a wrong list type yields one error per element.
    return "；".join(dict.fromkeys(parts))


def _records(path: Path, text: str, problems: list[str]) -> list[tuple[int, object, str]]:
    """(number, parsed object, where) for each item of the file. A file that is one
    JSON array (a quiz bank's .json export) gives its elements; otherwise each line is one."""
    if text.lstrip().startswith("["):
        try:
            array = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(f"{path} 第 {exc.lineno} 行：不是有效的 JSON（{exc.msg}，第 {exc.colno} 列），整个文件已跳过")
            return []
        if isinstance(array, list):
            return [(n, data, f"{path} 第 {n} 项") for n, data in enumerate(array, start=1)]
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path} 第 {number} 行"
        try:
            out.append((number, json.loads(line), where))
        except json.JSONDecodeError as exc:
            problems.append(f"{where}：不是有效的 JSON（{exc.msg}，第 {exc.colno} 列），已跳过")
    return out


def load_items(paths: list[str | Path]) -> tuple[list[EvalItem], list[str]]:
    """Read every file; return the valid items and one Chinese message per skipped line or file."""
    items: list[EvalItem] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for path in map(Path, paths):
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            problems.append(f"{path}：文件不存在")
            continue
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path}：无法读取（{exc}）")
            continue
        for number, data, where in _records(path, text, problems):
            if not isinstance(data, dict):
                problems.append(f"{where}：应为 JSON 对象，已跳过")
                continue
            # A missing id is harmless: name the item after where it is.
            data.setdefault("id", f"{path.stem}:{number}")
            if isinstance(data["id"], int):
                data["id"] = str(data["id"])
            try:
                item = EvalItem.model_validate(data)
            except ValidationError as exc:
                problems.append(f"{where}：{_describe(exc)}，已跳过")
                continue
            if not item.question.strip():
                problems.append(f"{where}：问题为空，已跳过")
                continue
            if item.id in seen:
                # Kept, but said: two items with one id make per-item history ambiguous.
                problems.append(f"{where}：编号 {item.id} 与 {seen[item.id]} 重复")
            seen.setdefault(item.id, where)
            items.append(item)
    return items, problems
