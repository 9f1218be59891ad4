"""The one object everything calls: ``Assistant().ask(question)`` → ``Answer``.

The UI, the CLI and the evaluator all go through here, so what is measured is what
users get.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

from assistant import texts
from assistant.answer import bring_typed_evidence, compose
from assistant.config import Settings, load_settings
from assistant.lexicon import Lexicon
from assistant.models import Answer
from assistant.retrieve import Hit, Query, Retriever
from assistant.similarity import jaccard
from assistant.store import current_build
from assistant.synonyms import SynonymTable
from assistant.textnorm import normalize
from assistant.tokenize import add_words, tagged_words, tokenize_normalized, word_units

# A short question that leans on the previous one: 那糖尿病呢？ / 老年人的话？ / what about diabetes?
_FOLLOW_UP = re.compile(r"^(那|那么|那个|还有|如果是|要是|换成|对于|what about|and )|(呢|的话)[?？。]?$", re.I)


class IndexMissing(RuntimeError):
    pass


class Assistant:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings or load_settings()
        self._lock = threading.Lock()
        self._retriever: Retriever | None = None
        self._build: Path | None = None
        self.synonyms = SynonymTable.load(self.settings.knowledge_dir / "synonyms.tsv")
        add_words(self.synonyms.terms())

    # -- index -------------------------------------------------------------------
    def retriever(self) -> Retriever:
        """The live index; re-opened when ingest has swapped in a new build."""
        build = current_build(self.settings.index_dir)
        if build is None:
            raise IndexMissing(texts.NO_INDEX)
        with self._lock:
            if self._retriever is None or build != self._build:
                self._retriever = Retriever(build, self.settings)
                self._build = build
            return self._retriever

    # -- question → query ----------------------------------------------------------
    def make_query(self, question: str, history: list[str] | None = None) -> Query:
        core = normalize(question)
        text = core
        previous = [h for h in (history or []) if h.strip()]
        if previous and len(core) <= 14 and _FOLLOW_UP.search(core):
            # Carry the subject of the conversation: "那糖尿病呢" after a question on
            # hypertension follow-up becomes a question on diabetes follow-up.
            text = self._rewrite_follow_up(core, normalize(previous[-1]))
        # Synonyms are matched on the text plus base forms of its English words
        # ("followed up" → "follow up"), so an inflected English question finds its concept.
        match_text = f"{text} {_english_base_forms(text)}"
        expansions = self.synonyms.expand(match_text) if self.settings.use_synonyms else []
        alternatives = self.synonyms.alternatives(match_text)
        related = [t for t in self.synonyms.related(match_text) if t.isascii()] if self.settings.use_synonyms else []
        full = " ".join([text, *expansions])
        places, nouns = _names(text)
        # jieba tags some words as places that are not (三联 of 三联疫苗).
        lexicon = self.retriever().lexicon
        places = [p for p in places if lexicon.is_place(p) or not lexicon]
        core_tokens = tokenize_normalized(text)
        query = Query(
            text=full,
            # BM25 also gets the English names of each concept, so a Chinese question
            # can match an English passage word for word.
            tokens=tokenize_normalized(" ".join([full, *related])),
            core_text=text,
            core_tokens=core_tokens,
            units=word_units(text),
            translations=_translate(core_tokens, lexicon) if self.settings.use_dictionary else {},
            places=places,
            nouns=nouns,
            expansions=expansions,
            alternatives=alternatives,
        )
        return query

    # -- ask -----------------------------------------------------------------------
    def retrieve(self, question: str, history: list[str] | None = None, categories: list[str] | None = None) -> list[Hit]:
        return self._search(self.make_query(question, history), categories)

    def _search(self, query: Query, categories: list[str] | None) -> list[Hit]:
        retriever = self.retriever()
        found = retriever.search(query, categories or self.settings.categories, k=self.settings.typed_pool)
        hits = self._distinct(found[: self.settings.candidates])
        # Deeper passages only matter if one is brought up for the kind of fact asked; they
        # are not deduplicated among themselves (that costs more than the whole search).
        top = [retriever.shingles_of(h.chunk) for h in hits[: self.settings.top_k]]
        deeper = [
            h
            for h in found[self.settings.candidates :]
            if not any(jaccard(retriever.shingles_of(h.chunk), g) >= self.settings.dedup_threshold for g in top)
        ]
        return bring_typed_evidence(query, hits + deeper, retriever, self.settings)

    def ask(self, question: str, history: list[str] | None = None, categories: list[str] | None = None) -> Answer:
        started = time.perf_counter()
        question = (question or "").strip()
        if not question:
            return Answer(question=question, refused=True, message=texts.EMPTY_QUESTION)
        # A pasted page is not a question; its head is enough to search with and keeps
        # one visitor from holding the CPU of a 2-core clinic PC for seconds.
        question = question[: self.settings.max_question_chars]
        retriever = self.retriever()
        query = self.make_query(question, history)
        hits = self._search(query, categories)
        answer = compose(question, query, hits, retriever, self.settings)
        answer.retrieved = [h.chunk.id for h in hits]
        answer.latency_ms = round((time.perf_counter() - started) * 1000, 2)
        return answer

    def _rewrite_follow_up(self, follow: str, previous: str) -> str:
        """Carry the conversation's question over to the follow-up's subject.

        "那糖尿病呢" after "高血压患者多久随访一次" swaps the topic (the previous
        question's first noun) → "糖尿病多久随访一次"; "老年人的话" narrows it →
        "老年人 高血压降压目标是多少"."""
        narrows = bool(re.search(r"^(如果是|要是|对于)|的话[?？。]?$", follow))
        subject = re.sub(r"^(那么|那个|那|还有|如果是|要是|换成|对于|what about|and )|(呢|的话)?[?？。]?$", "", follow).strip()
        subject = re.sub(r"的$", "", subject)
        if not subject:
            return previous
        _, nouns = _names(previous)
        if narrows or not nouns:
            return f"{subject} {previous}"
        return previous.replace(nouns[0], subject, 1)

    def _distinct(self, hits: list[Hit]) -> list[Hit]:
        """Drop passages that repeat a better-ranked one (several versions of one plan)."""
        retriever = self.retriever()  # once: each call reads the index pointer from disk
        kept: list[Hit] = []
        grams: list[set[str]] = []
        for hit in hits:
            g = retriever.shingles_of(hit.chunk)
            if any(jaccard(g, other) >= self.settings.dedup_threshold for other in grams):
                continue
            kept.append(hit)
            grams.append(g)
        for rank, hit in enumerate(kept):
            hit.rank = rank
        return kept


def _translate(tokens: list[str], lexicon: Lexicon) -> dict[str, list[str]]:
    """The question's words in the other language, as the index spells them."""
    chinese = [t for t in tokens if not t.isascii()]
    if chinese:
        return {t: found for t in chinese if (found := lexicon.to_english(t))}
    return lexicon.to_chinese([t for t in tokens if t.isalpha()])


def _english_base_forms(text: str) -> str:
    out = []
    for word in re.findall(r"[a-z]+", text):
        for suffix, repl in (("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
            if len(word) > len(suffix) + 2 and word.endswith(suffix):
                word = word[: -len(suffix)] + repl
                break
        out.append(word)
    return " ".join(out)


_QUESTION_CHARS = re.compile(r"[几多啥咋怎吗么哪谁]")


def _names(text: str) -> tuple[list[str], list[str]]:
    """Place names (jieba's ns tag) and Chinese nouns a question names.

    A question about a place or a thing the knowledge base never mentions (杭州…, 值班费)
    cannot be answered from it, however close the rest of its wording comes."""
    places, nouns = [], []
    for word, flag in tagged_words(text):
        if len(word) < 2 or word.isascii() or _QUESTION_CHARS.search(word):
            continue
        if flag == "ns":
            places.append(word)
        elif flag in ("n", "nz", "nr", "nt", "ng"):
            nouns.append(word)
    return places, nouns
