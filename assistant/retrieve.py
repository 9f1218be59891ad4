"""Hybrid retrieval: dense (Chroma, one query per passage language) + BM25, fused,
reranked by how much of the question a passage says, then balanced across languages.

Multilingual-e5 scores every Chinese passage above every English one for a Chinese
question, so each language gets its own dense list (fused by weighted reciprocal rank
with the BM25 list) and its own z-scores; the best other-language passages that stand
out among their own language are given places in the top k.
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant import texts
from assistant.config import Settings
from assistant.embed import PROBE, get_embedder
from assistant.lexicon import LEXICON, Lexicon
from assistant.models import Chunk
from assistant.sentences import WITHHELD, answer_spans, split_sentences
from assistant.similarity import shingles
from assistant.store import CHUNK_TOKENS, SENTENCE_SPANS, SENTENCE_VECTORS, build_collection, index_text, read_chunks, read_manifest
from assistant.textnorm import detect_language, normalize
from assistant.tokenize import tokenize_normalized


_ASKING = re.compile(r"[怎么多少几啥咋哪吗呢谁]")  # question words are not mistyped domain words


def _mentions(text: str, token: str) -> bool:
    """Substring match, except that a number must stand alone: 40 is not in 140mmHg."""
    if token[0].isdigit():
        return re.search(rf"(?<![\d.]){re.escape(token)}(?![\d])", text) is not None
    return token in text


def _said(query: "Query", tok: str, tokens: set[str], text: str) -> bool:
    """Whether a text says one of the question's tokens, itself or through a synonym."""
    return tok in tokens or _mentions(text, tok) or any(alt in text for alt in query.alternatives.get(tok, ()))


@dataclass
class Hit:
    chunk: Chunk
    score: float  # fused
    dense: float = 0.0  # cosine similarity
    dense_z: float = -3.0  # standing among passages of the same language
    bm25: float = 0.0
    rank: int = 0


@dataclass
class Query:
    """A question after normalisation and synonym expansion."""

    text: str  # normalised question (+ expansions)
    tokens: list[str]
    core_text: str  # the user's own words, normalised
    core_tokens: list[str]  # their tokens, without expansions
    units: list[tuple[str, list[str]]] = field(default_factory=list)  # their words, each with its tokens
    places: list[str] = field(default_factory=list)  # place names the question is about
    alternatives: dict[str, list[str]] = field(default_factory=dict)  # user token → standard terms meaning it
    nouns: list[str] = field(default_factory=list)  # nouns the question names (checked against the evidence)
    translations: dict[str, list[str]] = field(default_factory=dict)  # user token → index tokens in the other language
    vector: np.ndarray | None = None
    expansions: list[str] = field(default_factory=list)


class VectorsIncompatible(RuntimeError):
    """This process cannot embed questions comparably with the index's vectors (Chinese message)."""


class Retriever:
    def __init__(self, build: Path, settings: Settings):
        import bm25s

        self.build = build
        self.settings = settings
        self.manifest = read_manifest(build)
        self.chunks: list[Chunk] = read_chunks(build)
        self.by_id = {c.id: i for i, c in enumerate(self.chunks)}
        self.langs = sorted({c.lang for c in self.chunks})
        self._collection = build_collection(build, self.manifest, settings.chroma_url)
        self._bm25 = bm25s.BM25.load(str(build / "bm25"))
        # The same vectors as in Chroma, for scoring the few passages only BM25 found.
        self._vectors = np.load(build / "vectors.npy")
        self.embedder = get_embedder(settings)
        if self.embedder.name != self.manifest.get("embedder"):
            raise VectorsIncompatible(texts.EMBEDDER_MISMATCH.format(built=self.manifest.get("embedder"), now=self.embedder.name))
        if self.manifest.get("probe") is not None:  # builds before the probe have the name check only
            agreement = float(np.dot(self.embedder.query(PROBE), np.asarray(self.manifest["probe"], dtype=np.float32)))
            if not agreement >= settings.probe_min_cosine:
                raise VectorsIncompatible(texts.PROBE_MISMATCH.format(agreement=agreement))
        # Token statistics for lexical coverage and sentence scoring.
        self.chunk_tokens: list[set[str]] = self._read_tokens(build) or [set(tokenize_normalized(index_text(c))) for c in self.chunks]
        df: dict[str, int] = {}
        for tokens in self.chunk_tokens:
            for tok in tokens:
                df[tok] = df.get(tok, 0) + 1
        self._df = df
        self._n = len(self.chunks)
        # Built at ingest; an older build without it gets one now (≈1.5 s).
        lexicon_file = build / LEXICON
        self.lexicon = Lexicon.load(lexicon_file) if lexicon_file.exists() else Lexicon.build(df)
        self._documents: dict[str, str] = {}
        self._by_source: dict[str, list[Chunk]] | None = None
        self._corpus: str | None = None
        self._other_than: dict[str, np.ndarray] = {}
        self._sentences: dict[int, list[tuple[set[str], str]]] = {}
        self._shingles: dict[str, set[str]] = {}
        self._withheld: dict[str, float] = {}
        self._by_length: dict[int, list[str]] = {}
        # Sentence vectors by (chunk id, start, end): those ingest computed, plus any a build
        # without them needs, encoded on first use.
        self._sentence_vectors: dict[tuple[str, int, int], np.ndarray] = {}
        self._question_vector: tuple[str | None, np.ndarray | None] = (None, None)
        self._load_sentence_vectors()
        self._section_cache: dict[int, set[str]] = {}
        self._wildcards: dict[str, str] | None = None
        for tok in df:
            self._by_length.setdefault(len(tok), []).append(tok)

    def _read_tokens(self, build: Path) -> list[set[str]] | None:
        """The passages' tokens as ingest cut them; None for a build made before they were
        stored (or one whose file does not match its passages), which are cut again here."""
        try:
            stored = json.loads((build / CHUNK_TOKENS).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(stored, list) or len(stored) != len(self.chunks):
            return None
        # One string object per distinct token: json makes a new one for every occurrence.
        return [set(map(sys.intern, tokens)) for tokens in stored]

    def _near_words(self) -> dict[str, str]:
        """Each 3–4 character word the base uses in several passages under every one-character
        wildcard of it (慢?肺 → 慢阻肺), the most used word winning: spelling() looks a
        mistyped piece up in a few dictionary reads instead of scanning the vocabulary."""
        if self._wildcards is None:
            table: dict[str, str] = {}
            for size in (3, 4):
                for word in self._by_length.get(size, ()):
                    if self._df.get(word, 0) < 3:
                        continue
                    for k in range(size):
                        key = word[:k] + "?" + word[k + 1:]
                        if key not in table or self._df[word] > self._df[table[key]]:
                            table[key] = word
            self._wildcards = table
        return self._wildcards

    def _load_sentence_vectors(self) -> None:
        """Sentence vectors computed at ingest, when made by the encoder now configured."""
        from assistant.embed import get_sentence_embedder

        encoder = get_sentence_embedder(self.settings)
        vectors, spans = self.build / SENTENCE_VECTORS, self.build / SENTENCE_SPANS
        if encoder is None or not vectors.exists() or self.manifest.get("sentence_encoder") != encoder.name:
            return
        matrix = np.load(vectors).astype(np.float32)
        for (i, s, e), v in zip(np.load(spans).tolist(), matrix):
            self._sentence_vectors[(self.chunks[i].id, s, e)] = v

    def sentence_similarities(self, question: str, spans: list[tuple[Chunk, int, int]]) -> np.ndarray | None:
        """Cosine of the question to each sentence span (sentence encoder), sentences cached."""
        from assistant.embed import get_sentence_embedder

        encoder = get_sentence_embedder(self.settings)
        if encoder is None or not spans:
            return None
        keys = [(c.id, s, e) for c, s, e in spans]
        todo = [i for i, k in enumerate(keys) if k not in self._sentence_vectors]
        if todo:
            vectors = encoder.passages([normalize(spans[i][0].text[spans[i][1]:spans[i][2]]) for i in todo])
            for i, v in zip(todo, vectors):
                self._sentence_vectors[keys[i]] = v.astype(np.float32)
        matrix = np.stack([self._sentence_vectors[k] for k in keys])
        # The passage ranker and the candidates ask with the same question; one tuple read
        # and written whole, so concurrent questions never pair a text with another's vector.
        cached = self._question_vector
        if cached[0] != question:
            cached = (question, encoder.query(question))
            self._question_vector = cached
        return matrix @ cached[1]

    def idf(self, token: str) -> float:
        return self.idf_of_df(self._df.get(token, 0))

    def idf_of_df(self, df: int) -> float:
        return math.log(1 + (self._n - df + 0.5) / (df + 0.5))

    def in_vocabulary(self, token: str) -> bool:
        return token in self._df

    def knows(self, term: str) -> bool:
        """Whether the knowledge base uses this word, allowing one wrong character
        (village doctors type 病列 for 病例)."""
        if term in self._df:
            return True
        for word in self._by_length.get(len(term), ()):
            # Two-character words must keep their first character (病列 → 病例).
            if sum(a != b for a, b in zip(word, term)) <= 1 and (len(term) > 2 or word[0] == term[0]):
                return True
        return False

    def document_text(self, source: str) -> str:
        """A document's text in search form, its title and year first (a question naming the
        2017 edition is about a document whose year is 2017, said or not in its body)."""
        if source not in self._documents:
            chunks = self.document_chunks(source)
            head = f"{chunks[0].doc.title} {chunks[0].doc.original} {chunks[0].doc.year or ''}" if chunks else ""
            self._documents[source] = normalize(head) + "\n" + "\n".join(c.search_text for c in chunks)
        return self._documents[source]

    def document_chunks(self, source: str) -> list[Chunk]:
        """One document's passages, in the document's order."""
        if self._by_source is None:
            self._by_source = {}
            for chunk in self.chunks:
                self._by_source.setdefault(chunk.doc.source, []).append(chunk)
            for chunks in self._by_source.values():
                chunks.sort(key=lambda c: c.start)
        return self._by_source.get(source, [])

    def spelling(self, text: str) -> str:
        """The question with a mistyped domain word put right: a run of 3–4 Han characters the
        knowledge base never uses, one character away from a word it uses in several passages
        (慢组肺 → 慢阻肺, 高血亚 → 高血压). Shorter words are left alone: two characters one
        apart are too often two real words (油价, 油脂)."""
        out = text
        fixed: set[int] = set()  # positions already put right: a window over them is left alone
        for size in (4, 3):
            for i in range(len(out) - size + 1):
                piece = out[i:i + size]
                if (
                    fixed & set(range(i, i + size))
                    or not all("\u4e00" <= ch <= "\u9fff" for ch in piece)
                    or _ASKING.search(piece)
                    or self.says(piece)
                ):
                    continue
                found = [self._near_words().get(piece[:k] + "?" + piece[k + 1:]) for k in range(size)]
                found = [w for w in found if w is not None and w != piece]
                best = max(found, key=lambda w: self._df[w], default=None)
                if best is not None:
                    out = out[:i] + best + out[i + size:]
                    fixed |= set(range(i, i + size))
        return out

    def says(self, phrase: str) -> bool:
        """Whether any passage contains this exact phrase."""
        if self._corpus is None:
            self._corpus = "\n".join(c.search_text for c in self.chunks)
        return phrase in self._corpus

    @staticmethod
    def passage_text(chunk: Chunk) -> str:
        """What a passage says in search form, with the title and section it sits under."""
        return Retriever.section_text(chunk) + " " + chunk.search_text

    def passage_coverage(self, query: Query, chunk: Chunk) -> float:
        """Coverage of the question by a whole passage, its title and section included."""
        return self.coverage(query, self.tokens_of(chunk), self.passage_text(chunk))

    def passage_translated_coverage(self, query: Query, chunk: Chunk) -> float:
        """`translated_coverage` of a whole passage, its title and section included."""
        return self.translated_coverage(query, self.tokens_of(chunk), self.passage_text(chunk))

    def best_sentence_coverage(self, query: Query, idx: int) -> float:
        """How much of the question one sentence of the passage covers: an answer is
        usually one sentence, not words scattered over a paragraph."""
        if idx not in self._sentences:
            text = self.chunks[idx].search_text
            self._sentences[idx] = [(set(tokenize_normalized(text[s:e])), text[s:e]) for s, e in split_sentences(text)]
        return max((self._rerank_coverage(query, toks, sent) for toks, sent in self._sentences[idx]), default=0.0)

    def shingles_of(self, chunk: Chunk) -> set[str]:
        """Character shingles of a passage, for spotting copies (computed once)."""
        if chunk.id not in self._shingles:
            self._shingles[chunk.id] = shingles(chunk.search_text)
        return self._shingles[chunk.id]

    def withheld_share(self, chunk: Chunk) -> float:
        """Share of a passage's quotable sentences that say their figure was withheld
        (sentences.WITHHELD); a property of the passage, computed once."""
        if chunk.id not in self._withheld:
            spans = answer_spans(chunk.text, self.settings.max_sentence_chars)
            said = sum(bool(WITHHELD.search(normalize(chunk.text[s:e]))) for s, e, _ in spans)
            self._withheld[chunk.id] = said / len(spans) if spans else 0.0
        return self._withheld[chunk.id]

    def tokens_of(self, chunk: Chunk) -> set[str]:
        return self.chunk_tokens[self.by_id[chunk.id]]

    def translated_coverage(self, query: Query, tokens: set[str], text: str) -> float:
        """IDF-weighted share of the question's words a text in the other language says,
        through the dictionary or the synonym list (白内障 → cataract). Only whole words count:
        the parts search segmentation adds (内障 of 白内障) translate to noise."""
        total = covered = 0.0
        words = {t for t in query.core_tokens if not ((len(t) == 1 and not t.isascii()) or t[0].isdigit())}
        for tok in words:
            if any(tok != other and tok in other for other in words):
                continue
            weight = self.idf(tok)
            total += weight
            if (
                tok in tokens
                or any(alt in text for alt in query.alternatives.get(tok, ()))
                or any(t in tokens for t in query.translations.get(tok, ()))
            ):
                covered += weight
        return covered / total if total else 0.0

    def is_rare(self, term: str) -> bool:
        """In at most ~1% of passages: specific enough that an answer must mention it."""
        return self._df.get(term, 0) <= max(1, self._n * self.settings.rare_share)

    def word_coverage(self, query: Query, tokens: set[str], text: str) -> float:
        """Coverage with each of the question's words weighed once, however many tokens
        search segmentation cuts it into: otherwise a long term (糖化血红蛋白 → five
        tokens) outweighs the word that says what is asked about it (诊断). A word found
        only in parts counts by the share of its characters they cover."""
        total = covered = 0.0
        for word, parts in query.units:
            weight = max(self.idf(p) for p in parts)
            total += weight
            if _said(query, word, tokens, text):
                covered += weight
            else:
                covered += weight * max((len(p) / len(word) for p in parts if _said(query, p, tokens, text)), default=0.0)
        return covered / total if total else 0.0

    def _rerank_coverage(self, query: Query, tokens: set[str], text: str) -> float:
        plain = self.coverage(query, tokens, text)
        if not query.units or self.settings.word_weight <= 0:
            return plain
        return (1 - self.settings.word_weight) * plain + self.settings.word_weight * self.word_coverage(query, tokens, text)

    def coverage(self, query: Query, tokens: set[str], text: str, whole_words: bool = False) -> float:
        """IDF-weighted share of the user's own words found in a text (a synonym counts).

        Expansions make recall; coverage of what the user actually typed makes precision."""
        total = covered = 0.0
        for tok in set(query.core_tokens):
            if whole_words and ((len(tok) == 1 and not tok.isascii()) or tok[0].isdigit()):
                # In one sentence a lone character (人, 吃) is found inside any word, and the
                # question's numbers are weighed separately (quoted values, stated ranges).
                continue
            weight = self.idf(tok)
            total += weight
            if _said(query, tok, tokens, text):
                covered += weight
        return covered / total if total else 0.0

    def _allowed(self, categories: list[str]) -> np.ndarray:
        if not categories:
            return np.ones(self._n, dtype=bool)
        return np.array([c.doc.category in categories for c in self.chunks])

    def _dense_of(self, idx: int, vector: np.ndarray, stats: dict[str, tuple[float, float]]) -> tuple[float, float]:
        """Cosine and z-score of a passage that only BM25 found (outside the dense candidates)."""
        cos = float(self._vectors[idx] @ vector)
        mean, std = stats.get(self.chunks[idx].lang, (cos, 1.0))
        return cos, (cos - mean) / std

    def _dense(
        self, vector: np.ndarray, categories: list[str], stats: dict[str, tuple[float, float]]
    ) -> dict[int, tuple[float, float]]:
        """chunk index → (cosine, per-language z-score); `stats` receives each language's (mean, std)."""
        out: dict[int, tuple[float, float]] = {}
        for lang in self.langs:
            where: dict = {"lang": lang}
            if categories:
                where = {"$and": [where, {"category": {"$in": categories}}]}
            n = min(self.settings.candidates, self._n)
            result = self._collection.query(
                query_embeddings=[vector.tolist()], n_results=n, where=where, include=["distances"]
            )
            ids = result["ids"][0]
            if not ids:
                continue
            sims = 1.0 - np.asarray(result["distances"][0], dtype=np.float32)
            mean, std = float(sims.mean()), max(float(sims.std()), 0.01)
            stats[lang] = (mean, std)
            for cid, sim in zip(ids, sims):
                out[self.by_id[cid]] = (float(sim), (float(sim) - mean) / std)
        return out

    def _translated_bm25(self, query: Query, allowed: np.ndarray, query_lang: str) -> np.ndarray | None:
        """BM25 of an English question's dictionary translation over the Chinese passages.

        Only English questions: their words map onto the Chinese guidelines' terms
        (annual salary → 年薪) well enough to rank by, while Chinese words fan out into too
        many English ones (卫生 → health, hygiene…) to rank the English reports by."""
        if not query.translations or self.settings.translated_weight <= 0:
            return None
        vocab = self._bm25.vocab_dict
        if query_lang == "en":
            tokens = [t for alts in query.translations.values() for t in alts[: self.settings.translations_per_word] if t in vocab]
        else:
            # A Chinese question's words that no Chinese passage uses (美沙酮, 成都) can only
            # be answered in English; their whole-word translations rank the English passages.
            tokens = [
                t
                for word in query.core_tokens
                if len(word) > 1 and not word.isascii() and not self.in_vocabulary(word) and word not in query.alternatives
                for t in self.lexicon.whole_word(word)[: self.settings.translations_per_word]
                if t in vocab
            ]
        if not tokens:
            return None
        return np.where(allowed & self._not_lang(query_lang), self._bm25.get_scores(tokens), 0.0)

    def _not_lang(self, lang: str) -> np.ndarray:
        if lang not in self._other_than:
            self._other_than[lang] = np.array([c.lang != lang for c in self.chunks])
        return self._other_than[lang]

    def _balance_languages(
        self, ranked: list[int], dense: dict[int, tuple[float, float]], query_lang: str, query: Query
    ) -> list[int]:
        """Give the best passages in the other language a place near the top when they
        stand out among their own language (z-score), whatever their raw scores.

        Multilingual-e5 ranks any same-language passage above any other-language one, and
        BM25 cannot match across languages, so without this a Chinese question never
        reaches the English passage that answers it.
        """
        def admitted(i: int) -> bool:
            # Standing out among its language, or saying the question's concepts in its
            # own words (via the synonym list: hypertension → 高血压).
            return dense.get(i, (0, -9))[1] >= self.settings.cross_min_z or (
                query.alternatives and self.coverage(query, self.chunk_tokens[i], self.chunks[i].search_text) >= 0.5
            )

        others = [i for i in ranked if self.chunks[i].lang != query_lang and admitted(i)]
        others.sort(key=lambda i: dense.get(i, (0, -9))[1], reverse=True)
        others = others[: self.settings.cross_slots]
        if not others:
            return ranked
        rest = [i for i in ranked if i not in others]
        out = rest[: self.settings.top_k - len(others)] + others + rest[self.settings.top_k - len(others) :]
        return out

    def _fuse(
        self, dense: dict[int, tuple[float, float]], bm25: np.ndarray, translated: np.ndarray | None, query_lang: str
    ) -> dict[int, float]:
        """Weighted reciprocal-rank fusion of one dense list per language, the BM25 list and
        the BM25 list of an English question's translation (see `_translated_bm25`)."""
        fused: dict[int, float] = {}

        def add(order: list[int], weight: float) -> None:
            for rank, idx in enumerate(order):
                fused[idx] = fused.get(idx, 0.0) + weight / (self.settings.rrf_k + rank + 1)

        for lang in self.langs:
            order = sorted((i for i in dense if self.chunks[i].lang == lang), key=lambda i: dense[i][0], reverse=True)
            add(order, self.settings.dense_weight * (1.0 if lang == query_lang else self.settings.cross_weight))
        add([int(i) for i in np.argsort(-bm25)[: self.settings.candidates] if bm25[i] > 0], self.settings.bm25_weight)
        if translated is not None:
            weight = self.settings.translated_weight if query_lang == "en" else self.settings.unknown_words_weight
            add([int(i) for i in np.argsort(-translated)[: self.settings.candidates] if translated[i] > 0], weight)
        return fused

    def section_tokens(self, chunk: Chunk) -> set[str]:
        """The words of a passage's document title and section path (computed once)."""
        idx = self.by_id[chunk.id]
        if idx not in self._section_cache:
            self._section_cache[idx] = set(tokenize_normalized(self.section_text(chunk)))
        return self._section_cache[idx]

    @staticmethod
    def section_text(chunk: Chunk) -> str:
        return normalize(f"{chunk.doc.title} {chunk.section}")

    def _rerank(self, ranked: list[int], fused: dict[int, float], query: Query) -> list[int]:
        """Among the passages fusion found, prefer those that say what the user asked:
        coverage of the question by the whole passage and by its best single sentence."""
        if self.settings.coverage_weight <= 0 or not ranked:
            return ranked
        head = ranked[: self.settings.rerank_depth]
        top = fused[head[0]] or 1.0  # every list may be empty (dense_weight=0, no shared words)
        # The passage's title and section path count as its words: a section named 转诊 holds
        # the referral criteria even where a list item does not repeat the word. A document's
        # authority (national regulation … work report) breaks near-ties toward the stronger source.
        score = {
            i: fused[i] / top
            + self.settings.coverage_weight
            * (0.5 * self._rerank_coverage(query, self.chunk_tokens[i] | self.section_tokens(self.chunks[i]), self.passage_text(self.chunks[i]))
               + 0.5 * self.best_sentence_coverage(query, i))
            + self.settings.authority_rerank * self.settings.authority_weight(self.chunks[i].doc.authority)
            for i in head
        }
        return sorted(head, key=lambda i: score[i], reverse=True) + ranked[len(head) :]

    def search(self, query: Query, categories: list[str] | None = None, k: int | None = None) -> list[Hit]:
        categories = categories or []
        k = k or self.settings.candidates
        allowed = self._allowed(categories)
        vocab = self._bm25.vocab_dict
        bm25_tokens = [t for t in query.tokens if t in vocab]
        bm25 = self._bm25.get_scores(bm25_tokens) if bm25_tokens else np.zeros(self._n)
        bm25 = np.where(allowed, bm25, 0.0)
        if query.vector is None:
            query.vector = self.embedder.query(query.text)
        stats: dict[str, tuple[float, float]] = {}
        dense = self._dense(query.vector, categories, stats)

        query_lang = detect_language(query.core_text)
        fused = self._fuse(dense, bm25, self._translated_bm25(query, allowed, query_lang), query_lang)
        ranked = self._rerank(sorted(fused, key=lambda i: fused[i], reverse=True), fused, query)
        ranked = self._balance_languages(ranked, dense, query_lang, query)

        hits = []
        for idx in ranked[:k]:
            cos, z = dense.get(idx) or self._dense_of(idx, query.vector, stats)
            hits.append(Hit(chunk=self.chunks[idx], score=fused[idx], dense=cos, dense_z=z, bm25=float(bm25[idx])))
        for rank, hit in enumerate(hits):
            hit.rank = rank
        return hits
