"""The knowledge-base page's work, apart from its widgets: what is indexed, adding and
removing documents, rebuilding in the background, and a retrieval test.

A rebuild runs in a thread while the old index keeps answering: `build_index` builds in a
staging directory and swaps the pointer only when the new index is complete, and the
assistant reopens the index when the pointer changes.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from assistant.models import CATEGORY_LABELS
from assistant.pipeline import Assistant, IndexMissing
from ingest.index import build_index, discover
from ui import render, texts

UPLOAD_DIR = "uploads"  # under the knowledge folder
UPLOAD_TYPES = (".txt", ".md", ".docx", ".pdf", ".html", ".htm")
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def safe_name(name: str) -> str:
    """A file name that stays one name in one folder: no path parts, no leading dots, no
    characters a file system or a shell would read specially."""
    base = Path(name.replace("\\", "/")).name
    base = re.sub(r"[^\w.\-（）()\u3400-\u9fff]+", "_", base).lstrip("._")
    return base[:120]


@dataclass
class Rebuild:
    running: bool = False
    messages: list[str] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0
    problems: list[tuple[str, str]] = field(default_factory=list)
    error: str = ""


class Admin:
    def __init__(self, assistant: Assistant):
        self.assistant = assistant
        self.settings = assistant.settings
        self._lock = threading.Lock()
        self.rebuild = Rebuild()

    # -- what is indexed --------------------------------------------------------------
    def documents(self) -> list[dict]:
        """One row per indexed document, plus the files the last build could not read."""
        try:
            retriever = self.assistant.retriever()
        except IndexMissing:
            return []
        passages = Counter(c.doc.source for c in retriever.chunks)
        languages: dict[str, Counter] = {}
        docs = {}
        for chunk in retriever.chunks:
            docs.setdefault(chunk.doc.source, chunk.doc)
            languages.setdefault(chunk.doc.source, Counter())[chunk.lang] += 1
        created = str(retriever.manifest.get("created", ""))[:19].replace("T", " ")
        rows = [
            {"source": source, "title": doc.title, "category": CATEGORY_LABELS.get(doc.category, doc.category),
             "year": doc.year or "", "passages": passages[source], "language": languages[source].most_common(1)[0][0],
             "indexed": created, "problem": ""}
            for source, doc in sorted(docs.items())
        ]
        for problem in retriever.manifest.get("problems", []):
            rows.append({"source": problem.get("source", ""), "title": "", "category": "", "year": "", "passages": 0,
                         "language": "", "indexed": created, "problem": problem.get("reason", "")})
        return rows

    def documents_html(self) -> str:
        rows = self.documents()
        if not rows:
            return render.render_status(texts.INDEX_MISSING, "missing")
        head = "".join(f"<th>{render.esc(h)}</th>" for h in texts.KB_COLUMNS)
        body = "".join(
            "<tr>" + "".join(f"<td>{render.esc(r[k])}</td>" for k in ("source", "title", "category", "year", "passages", "language", "indexed"))
            + f'<td class="zy-kb-problem">{render.esc(r["problem"])}</td></tr>'
            for r in rows
        )
        return f'<div class="zy-kb"><table class="zy-kb-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'

    def files(self) -> list[str]:
        """Every document file under the knowledge folder (relative paths), for removal."""
        root = self.settings.knowledge_dir
        return sorted(p.relative_to(root).as_posix() for p in discover(root))

    # -- changing the base ------------------------------------------------------------
    def _catalog(self, source: str, category: str, year: int | None) -> None:
        """Record an upload's category (and year) in knowledge/catalog.toml, the place for
        documents that cannot carry front matter (a .docx, a .pdf); an entry the admin or
        the file already has is left alone."""
        import tomllib

        path = self.settings.knowledge_dir / "catalog.toml"
        try:
            known = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        except (OSError, ValueError):
            return  # a hand-edited catalog that does not parse is not ours to rewrite
        if source in known or category not in CATEGORY_LABELS:
            return
        entry = f'\n[{json.dumps(source, ensure_ascii=False)}]\ncategory = "{category}"\n'
        if year:
            entry += f"year = {int(year)}\n"
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(entry)

    def add_files(self, paths: list[str], names: list[str] | None = None, category: str = "", year: int | None = None) -> list[str]:
        """Copy uploaded files into knowledge/uploads/ (with their category, see _catalog);
        returns one Chinese line per file."""
        target = (self.settings.knowledge_dir / UPLOAD_DIR).resolve()
        target.mkdir(parents=True, exist_ok=True)
        lines = []
        for path, name in zip(paths, names or [Path(p).name for p in paths]):
            clean = safe_name(name)
            source = Path(path)
            if not clean or Path(clean).suffix.lower() not in UPLOAD_TYPES:
                lines.append(texts.KB_BAD_TYPE.format(name=name))
                continue
            if not source.is_file() or source.stat().st_size > MAX_UPLOAD_BYTES:
                lines.append(texts.KB_TOO_BIG.format(name=name, mb=MAX_UPLOAD_BYTES // 1024 // 1024))
                continue
            destination = (target / clean).resolve()
            if destination.parent != target:  # cannot happen after safe_name; belt and braces
                lines.append(texts.KB_BAD_TYPE.format(name=name))
                continue
            shutil.copyfile(source, destination)
            if category:
                self._catalog(f"{UPLOAD_DIR}/{clean}", category, year)
            lines.append(texts.KB_ADDED.format(name=f"{UPLOAD_DIR}/{clean}"))
        return lines

    def remove_file(self, relative: str) -> str:
        root = self.settings.knowledge_dir.resolve()
        path = (root / relative).resolve()
        if root not in path.parents or not path.is_file() or relative not in self.files():
            return texts.KB_NO_SUCH_FILE.format(name=relative)
        path.unlink()
        return texts.KB_REMOVED.format(name=relative)

    def start_rebuild(self) -> bool:
        """Rebuild in a background thread; False when one is already running."""
        with self._lock:
            if self.rebuild.running:
                return False
            self.rebuild = Rebuild(running=True, started=time.time(), messages=[texts.KB_REBUILD_STARTED])
        threading.Thread(target=self._rebuild, daemon=True).start()
        return True

    def _rebuild(self) -> None:
        state = self.rebuild
        try:
            report = build_index(self.settings, progress=state.messages.append)
            state.problems = [(p.source, p.reason) for p in report.problems]
            state.messages.append(texts.KB_REBUILD_DONE.format(documents=report.documents, chunks=report.chunks))
        except Exception as exc:  # the old index stays live; say why in Chinese
            state.error = texts.KB_REBUILD_FAILED.format(error=exc)
            state.messages.append(state.error)
        finally:
            state.finished = time.time()
            state.running = False

    def progress_html(self) -> str:
        state = self.rebuild
        if not state.messages:
            return ""
        kind = "error" if state.error else "ok"
        lines = [state.messages[-1]] + [texts.KB_FILE_PROBLEM.format(name=s, reason=r) for s, r in state.problems]
        running = f"<progress aria-label=\"{render.esc(texts.KB_REBUILDING)}\"></progress> " if state.running else ""
        return f'<div class="zy-status zy-status-{kind}" role="status">{running}' + "<br>".join(render.esc(x) for x in lines) + "</div>"

    # -- why an answer came out ---------------------------------------------------------
    def search_test(self, query: str) -> str:
        """What retrieval returns for `query`, with scores, and what the checks decide."""
        query = (query or "").strip()
        if not query:
            return ""
        try:
            draft = self.assistant.draft(query)  # searched once: its hits are what the answer saw
            answer, hits = self.assistant.decide(query, draft), draft.hits
        except IndexMissing:
            return render.render_status(texts.INDEX_MISSING, "missing")
        verdict = texts.KB_VERDICT_REFUSED.format(check=answer.refused_by, reason=answer.refusal_reason) if answer.refused else texts.KB_VERDICT_ANSWERED.format(p=answer.confidence)
        rows = "".join(
            f"<tr><td>{i}</td><td>{hit.score:.4f}</td><td>{hit.dense:.3f}</td><td>{render.esc(hit.chunk.doc.source)}</td>"
            f"<td>{render.esc(hit.chunk.section)}</td><td>{render.esc(hit.chunk.text[:160])}</td></tr>"
            for i, hit in enumerate(hits, start=1)
        )
        head = "".join(f"<th>{render.esc(h)}</th>" for h in texts.KB_SEARCH_COLUMNS)
        return (
            f'<div class="zy-kb"><p class="zy-kb-verdict">{render.esc(verdict)}</p>'
            f'<table class="zy-kb-table"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'
        )

    def recent_down_html(self, feedback) -> str:
        rows = feedback.recent("down", limit=50) if feedback is not None else []
        if not rows:
            return f"<p>{render.esc(texts.KB_NO_FEEDBACK)}</p>"
        body = "".join(
            f"<tr><td>{render.esc(r['time'])}</td><td>{render.esc(r['user'])}</td><td>{render.esc(r['question'])}</td>"
            f"<td>{render.esc(r['comment'])}</td></tr>"
            for r in rows
        )
        head = "".join(f"<th>{render.esc(h)}</th>" for h in texts.KB_FEEDBACK_COLUMNS)
        return f'<div class="zy-kb"><table class="zy-kb-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'
