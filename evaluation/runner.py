"""Run items through the assistant, on an index built with the settings under test.

Settings that change what is indexed (chunking, embedding, dedup) need their own index:
asking the live index with ``chunk_size=200`` would silently measure the old chunking.
Such configurations get a separate index under ``<index_dir>/../eval-index/<hash>``,
built (and cached by content hash) by the normal ingest code. Retrieval and answer
settings apply at ask time and reuse whatever index is there.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from assistant.config import Settings
from assistant.pipeline import Assistant
from assistant.store import current_build, read_manifest
from evaluation.items import EvalItem
from evaluation.metrics import ItemResult, aggregate, failed_result, score_item

INDEX_KEYS = ("chunk_size", "chunk_max", "chunk_min", "embed_backend", "embed_model", "dedup_threshold")

Progress = Callable[[str], None]


class RunResult(BaseModel):
    name: str  # which configuration, e.g. the TOML file's name
    settings: dict  # JSON-safe dump of the settings actually used (index_dir included)
    metrics: dict
    items: list[ItemResult] = Field(default_factory=list)
    seconds: float = 0.0
    index_build: str = ""  # name of the build that answered
    saved_to: str = ""  # set by history.save_run


def index_settings(settings: Settings | dict) -> dict:
    data = settings.model_dump(mode="json") if isinstance(settings, Settings) else settings
    return {key: data.get(key) for key in INDEX_KEYS}


def index_hash(settings: Settings | dict) -> str:
    material = json.dumps(index_settings(settings), sort_keys=True, ensure_ascii=False)
    return hashlib.sha1(material.encode("utf-8")).hexdigest()[:12]


def eval_index_dir(base_index_dir: Path, settings: Settings) -> Path:
    return base_index_dir.parent / "eval-index" / index_hash(settings)


def resolve_index(settings: Settings, reference: Settings | None = None) -> Settings:
    """The settings to run with: `settings`, pointed at a separate index if theirs differs.

    What the live index was built with comes from its manifest. With no live index the
    `reference` settings (the configuration without the overrides under test) stand in,
    so an override never gets built into the main index.
    """
    build = current_build(settings.index_dir)
    if build is not None:
        built_with = read_manifest(build).get("settings")
        if not built_with:  # a build that does not say how it was made: take it as it is
            return settings
    else:
        built_with = (reference or settings).model_dump(mode="json")
    if index_settings(built_with) == index_settings(settings):
        return settings
    target = eval_index_dir(settings.index_dir, settings)
    _seed_embedding_cache(settings.index_dir, target)
    return settings.with_overrides({"index_dir": target})


def _seed_embedding_cache(base: Path, target: Path) -> None:
    """Start a new eval index from the main index's vector cache.

    The cache is keyed by (model, text hash), so passages that come out the same under
    the new chunking are not embedded again — the slow part of building an index.
    """
    source = base / "cache" / "embeddings.sqlite"
    destination = target / "cache" / "embeddings.sqlite"
    if source.exists() and not destination.exists():
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)


def prepare(settings: Settings, reference: Settings | None = None, progress: Progress | None = None) -> Settings:
    """Resolve the index for `settings` and make sure it exists; returns the settings to ask with."""
    from ingest.index import build_index

    say = progress or (lambda message: None)
    resolved = resolve_index(settings, reference)
    separate = resolved.index_dir != settings.index_dir
    # A separate eval index is refreshed every time (a no-op when documents and settings
    # are unchanged) so it never lags the knowledge base; the main index is only built
    # when missing — evaluating it as it stands is the point.
    if separate or current_build(resolved.index_dir) is None:
        say(f"正在为评测准备索引：{resolved.index_dir}")
        report = build_index(resolved, progress=say)
        for problem in report.problems:
            say(f"⚠ {problem.source}：{problem.reason}")
    return resolved


def run_items(
    items: Sequence[EvalItem],
    settings: Settings,
    ks: Sequence[int] = (1, 5),
    name: str = "default",
    progress: Progress | None = None,
) -> RunResult:
    """Ask every item on `settings` (as returned by `prepare`) and score the answers."""
    say = progress or (lambda message: None)
    started = time.perf_counter()
    assistant = Assistant(settings)
    retriever = assistant.retriever()
    results: list[ItemResult] = []
    for number, item in enumerate(items, start=1):
        try:
            answer = assistant.ask(item.question, history=item.history or None)
        except Exception as exc:  # one broken question must not hide the other results
            results.append(failed_result(item, exc))
            say(f"⚠ {item.id} 提问出错：{type(exc).__name__}: {exc}")
            continue
        # Ids are looked up on the retriever that answered; a swapped-in build carries its own.
        live = assistant.retriever()
        passages = {cid: live.chunks[live.by_id[cid]].text for cid in answer.retrieved if cid in live.by_id}
        results.append(score_item(item, answer, passages))
        if number % 10 == 0 or number == len(items):
            say(f"已评测 {number}/{len(items)}")
    return RunResult(
        name=name,
        settings=settings.model_dump(mode="json"),
        metrics=aggregate(results, ks),
        items=results,
        seconds=round(time.perf_counter() - started, 2),
        index_build=retriever.build.name,
    )


def stderr_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
