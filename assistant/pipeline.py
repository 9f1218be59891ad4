"""The one object everything calls: ``Assistant().ask(question)`` → ``Answer``.

The spine, one module a stage:

    text → Question (question.py) → search (retrieve.py) → passages (answer/passages.py)
         → candidates (answer/candidates.py) → compose (answer/compose.py)
         → checks (answer/checks.py) → cite (answer/cite.py) → Answer
         [→ a site's language model words it (answer/generate.py), each sentence verified
            against its passage (answer/verify.py)]

The UI, the CLI and the evaluator all go through here, so what is measured is what users get.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

from assistant import texts
from assistant.answer import candidates as candidates_stage
from assistant.answer.checks import Draft, run_checks
from assistant.answer.cite import cite
from assistant.answer.compose import select
from assistant.answer.generate import generate
from assistant.answer.confidence import MODEL_FILE, load_models, signals
from assistant.answer.passages import passages as passages_stage
from assistant.config import Settings, load_settings
from assistant.embed import EngineUnavailable
from assistant.models import Answer
from assistant.question import Question, analyse
from assistant.retrieve import Hit, Retriever, VectorsIncompatible
from assistant.store import current_build, damage, read_manifest
from assistant.synonyms import SynonymTable
from assistant.tokenize import add_words


class IndexMissing(RuntimeError):
    pass


class IndexUnavailable(IndexMissing):
    """The live build is there but cannot be served now; the message (Chinese) says why and
    what to do."""


class IndexDamaged(IndexUnavailable):
    """…because it is damaged on disk: the message gives the command that rebuilds it."""


class Assistant:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings or load_settings()
        self._lock = threading.Lock()
        self._retriever: Retriever | None = None
        self._build: Path | None = None
        self.synonyms = SynonymTable.load(self.settings.knowledge_dir / "synonyms.tsv")
        add_words(self.synonyms.terms())
        self.models = load_models(Path(self.settings.answerability_model) if self.settings.answerability_model else MODEL_FILE)

    # -- index -------------------------------------------------------------------
    def retriever(self) -> Retriever:
        """The live index; re-opened when ingest has swapped in a new build."""
        build = current_build(self.settings.index_dir)
        if build is None:
            raise IndexMissing(texts.NO_INDEX)
        with self._lock:
            if self._retriever is None or build != self._build:
                why = damage(build)
                if why:
                    raise IndexDamaged(texts.INDEX_DAMAGED.format(why=why))
                try:
                    self._retriever = Retriever(build, self.settings)
                except (VectorsIncompatible, EngineUnavailable) as exc:
                    raise IndexUnavailable(str(exc)) from exc
                except Exception as exc:
                    server = (read_manifest(build).get("chroma") or {}).get("url")
                    if server:  # the vectors are on a Chroma server that does not answer
                        raise IndexUnavailable(texts.CHROMA_UNREACHABLE.format(url=self.settings.chroma_url or server)) from exc
                    if isinstance(exc, (OSError, ValueError, KeyError)):  # a store the checks could not see into
                        raise IndexDamaged(texts.INDEX_DAMAGED.format(why=f"{type(exc).__name__}: {exc}")) from exc
                    raise
                self._build = build
            return self._retriever

    # -- stages ------------------------------------------------------------------
    def analyse(self, question: str, history: list[str] | None = None, retriever: Retriever | None = None) -> Question:
        retriever = retriever or self.retriever()  # each call of retriever() reads the index pointer from disk
        return analyse(
            question, history, self.synonyms, retriever.lexicon,
            use_synonyms=self.settings.use_synonyms, use_dictionary=self.settings.use_dictionary,
            spelling=retriever.spelling if self.settings.correct_spelling else None,
        )

    def search(
        self, question: Question, categories: list[str] | None = None, retriever: Retriever | None = None, top_k: int | None = None
    ) -> list[Hit]:
        """The passages an answer may quote (`Settings.top_k` of them, or `top_k`)."""
        retriever = retriever or self.retriever()
        settings = self.settings if top_k in (None, self.settings.top_k) else self.settings.with_overrides({"top_k": top_k})
        found = retriever.search(question.query, categories or settings.categories, k=max(settings.typed_pool, settings.top_k))
        return passages_stage(question, found, retriever, settings, self.models.get("passage"))

    def retrieve(
        self, question: str, history: list[str] | None = None, categories: list[str] | None = None, top_k: int | None = None
    ) -> list[Hit]:
        return self.search(self.analyse(question, history), categories, top_k=top_k)

    # -- ask -----------------------------------------------------------------------
    def draft(self, text: str, history: list[str] | None = None, categories: list[str] | None = None) -> Draft:
        """Everything up to the checks: the analysed question, its passages, the ranked
        candidate sentences, the chosen ones and the signals the checks read."""
        retriever = self.retriever()
        analysed = self.analyse(text, history, retriever)
        hits = self.search(analysed, categories, retriever)
        ranked = candidates_stage.build(analysed, hits, retriever, self.settings, self.models.get("sentence"))
        best, chosen = select(analysed, ranked, self.settings, retriever)
        authority = self.settings.authority_weight(best.chunk.doc.authority) if best else 0.0
        return Draft(
            question=analysed, hits=hits, candidates=ranked, chosen=chosen, best=best, retriever=retriever,
            signals=signals(analysed, hits, best, ranked, retriever, authority), models=self.models,
        )

    def ask(self, question: str, history: list[str] | None = None, categories: list[str] | None = None) -> Answer:
        answer = None
        for answer in self.ask_stream(question, history, categories):
            pass
        return answer

    def ask_stream(
        self, question: str, history: list[str] | None = None, categories: list[str] | None = None, model=None
    ) -> Iterator[Answer]:
        """The answer as it grows: one Answer without a language model; with one (Settings.llm_url),
        each verified sentence as it comes, the last Answer yielded being the final one."""
        draft, answer = self.ask_extractive(question, history, categories)
        yield from self.reword(draft, answer, history, model)

    def ask_extractive(
        self, question: str, history: list[str] | None = None, categories: list[str] | None = None
    ) -> tuple[Draft | None, Answer]:
        """zhiyi's own answer, cited or refused: the part that needs the CPU."""
        started = time.perf_counter()
        question = (question or "").strip()
        if not question:
            return None, Answer(question=question, refused=True, message=texts.EMPTY_QUESTION, refused_by="empty")
        # A pasted page is not a question; its head is enough to search with and keeps one
        # visitor from holding the CPU of a 2-core clinic PC for seconds.
        draft = self.draft(question[: self.settings.max_question_chars], history, categories)
        return draft, self.decide(question, draft, started)

    def reword(self, draft: Draft | None, answer: Answer, history: list[str] | None = None, model=None) -> Iterator[Answer]:
        """The answer worded by the site's language model, when one is set and zhiyi answers at
        all: a question zhiyi refuses is refused before any model is asked."""
        if draft is None or answer.refused or not self.settings.llm_url:
            yield answer
            return
        started, spent = time.perf_counter(), answer.latency_ms
        for worded in generate(draft, answer, history, self.settings, self.synonyms, model):
            worded.latency_ms = round(spent + (time.perf_counter() - started) * 1000, 2)
            yield worded

    def decide(self, question: str, draft: Draft, started: float | None = None) -> Answer:
        """The checks' verdict on a draft: the Answer, cited or refused (and by which check)."""
        started = time.perf_counter() if started is None else started
        verdict = run_checks(draft, self.settings.checks)
        answer = Answer(question=question, refused=True)
        answer.signals = {k: round(v, 4) for k, v in draft.signals.items()}
        answer.signals.update({f"p_{k}": round(v, 4) for k, v in draft.probabilities.items()})
        answer.confidence = round(draft.probabilities.get("answerability", draft.probabilities.get("floor", 0.0)), 4)
        if verdict.ok:
            cite(answer, draft.chosen)
        else:
            answer.refused_by = verdict.check
            answer.refusal_reason = verdict.reason
            answer.message = verdict.message
        answer.retrieved = [h.chunk.id for h in draft.hits]
        answer.latency_ms = round((time.perf_counter() - started) * 1000, 2)
        return answer
