"""Answers given and what doctors said of them, in one SQLite file.

Every answer the service gives is logged with an id (the API returns it), so feedback can
point at the exact answer and its citations; 👍/👎 with an optional comment is stored
beside it. Evaluators turn the log into benchmark items later.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from pathlib import Path

from assistant.models import Answer, Citation
from ui.accounts import _now


class FeedbackStore:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS answers (id TEXT PRIMARY KEY, time TEXT NOT NULL, user TEXT NOT NULL,"
                " question TEXT NOT NULL, answer TEXT NOT NULL)"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL,"
                " user TEXT NOT NULL, answer_id TEXT, question TEXT NOT NULL, answer TEXT NOT NULL,"
                " rating TEXT NOT NULL, comment TEXT NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._path, timeout=10)

    def log_answer(self, answer: Answer, user: str) -> str:
        answer_id = uuid.uuid4().hex
        with self._lock, self._connect() as db:
            db.execute(
                "INSERT INTO answers VALUES (?, ?, ?, ?, ?)",
                (answer_id, _now(), user, answer.question, answer.model_dump_json()),
            )
        return answer_id

    def answer(self, answer_id: str) -> dict | None:
        with self._connect() as db:
            row = db.execute("SELECT answer FROM answers WHERE id = ?", (answer_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def add(self, *, user: str, question: str, rating: str, comment: str = "", answer_id: str | None = None,
            answer_text: str = "") -> int:
        """Store one rating. With a known answer_id the logged answer (and its citations)
        is kept with it; otherwise the answer text the client sent."""
        logged = self.answer(answer_id) if answer_id else None
        if answer_id and logged is None:
            raise KeyError(answer_id)
        stored = json.dumps(logged, ensure_ascii=False) if logged else json.dumps({"text": answer_text}, ensure_ascii=False)
        with self._lock, self._connect() as db:
            cursor = db.execute(
                "INSERT INTO feedback (time, user, answer_id, question, answer, rating, comment) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (_now(), user, answer_id, question, stored, rating, comment),
            )
            return int(cursor.lastrowid)

    def recent(self, rating: str | None = None, limit: int = 50) -> list[dict]:
        query = "SELECT id, time, user, answer_id, question, answer, rating, comment FROM feedback"
        args: tuple = ()
        if rating:
            query += " WHERE rating = ?"
            args = (rating,)
        query += " ORDER BY id DESC LIMIT ?"
        with self._connect() as db:
            rows = db.execute(query, (*args, limit)).fetchall()
        keys = ("id", "time", "user", "answer_id", "question", "answer", "rating", "comment")
        return [{**dict(zip(keys, row)), "answer": json.loads(row[5])} for row in rows]


def as_eval_items(rows: list[dict]) -> list[dict]:
    """Ratings as `zhiyi eval` items. A 👍 answer becomes an item whose evidence is the
    passage it quoted (a 👍 refusal: an item that expects a refusal); every 👎 is flagged
    `needs_review` with the doctor's comment. Answer keywords are left for the reviewer:
    a rating says whether the answer was right, not which words make it right."""
    items = []
    for row in sorted(rows, key=lambda r: r["id"]):
        answer = row["answer"] or {}
        citations = answer.get("citations") or []
        first = citations[0] if citations else {}
        quote = Citation.model_validate(first).quoted if first else ""
        item = {
            "id": f"fb-{row['id']}",
            "question": row["question"],
            "answer_keywords": [],
            "expect_refusal": bool(answer.get("refused")) and row["rating"] == "up",
            "category": first.get("category", "uncategorized"),
            "kind": "feedback",
            "evidence": quote or None,
            "rating": row["rating"],
            "comment": row["comment"],
            "answer": "".join(s.get("text", "") for s in answer.get("sentences", [])) or answer.get("text", ""),
            "user": row["user"],
            "time": row["time"],
        }
        if row["rating"] == "down":
            item["needs_review"] = True
        items.append(item)
    return items
