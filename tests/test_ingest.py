"""Ingest on real files: cleaning, structure-aware chunks, a real Chroma + BM25 index,
incremental re-ingest, bad files reported while the rest is indexed, atomic swap."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from assistant.config import load_settings
from assistant.models import DocumentInfo
from assistant.store import current_build, read_chunks, read_manifest
from assistant.textnorm import normalize, strip_pinyin
from ingest import index as index_module
from ingest.chunk import chunk_document
from ingest.clean import clean_lines
from ingest.index import build_index, index_is_current
from ingest.load import load_document
from tests.conftest import ENGLISH, GUIDELINE, PLAN, write_corpus


def test_pinyin_annotations_are_stripped_but_real_brackets_survive():
    assert strip_pinyin("版權(quán)說明") == "版權說明"
    assert strip_pinyin("衛（wèi）生") == "衛生"
    assert strip_pinyin("（一）雙向轉(zhuǎn)診 村(街道) HIS(x)") == "（一）雙向轉診 村(街道) HIS(x)"


def test_normalize_makes_script_and_width_irrelevant():
    assert normalize("雙(shuāng)向轉(zhuǎn)診") == normalize("双向转诊")
    assert normalize("ＡＢＣ１２３，") == "abc123,"


def test_boilerplate_dropped_and_placeholders_kept():
    text = "版權(quán)說明:本文檔由用戶提供並上傳,收益歸屬內(nèi)容提供方\n笔构网\n经费为xx万元，20__年完成。\n"
    lines = clean_lines(text)
    assert [line.text for line in lines] == ["经费为xx万元，20__年完成。"]
    # Offsets point at what the document says.
    assert text[lines[0].start : lines[0].end] == "经费为xx万元，20__年完成。"


def test_site_tail_is_cut():
    body = "正文第一段，讲的是卫生工作。\n" * 20
    lines = clean_lines(body + "最新文档\n泵房工劳务合同\n")
    assert all("泵房" not in line.text for line in lines)


def test_chunks_follow_structure_with_sections_and_offsets(tmp_path):
    path = tmp_path / "plan.txt"
    path.write_text(PLAN, encoding="utf-8")
    raw = load_document(path)
    chunks = chunk_document(clean_lines(raw.text), DocumentInfo(source="plan.txt", title="方案"), load_settings(environ={}))
    money = next(c for c in chunks if "7:3" in c.text)
    assert money.section.endswith("二、经费预算")
    assert "三、时间安排" not in money.text  # a passage never spans two sections
    assert raw.text[money.start : money.end].endswith("按7:3比例分担。")
    terminal = next(c for c in chunks if "移动终端设备" in c.text)
    assert "（一）建设“智医助理”系统" in terminal.section
    assert {c.lang for c in chunks} == {"zh"}


def test_english_and_markdown_front_matter(tmp_path):
    (tmp_path / "g.md").write_text(GUIDELINE, encoding="utf-8")
    (tmp_path / "e.txt").write_text(ENGLISH, encoding="utf-8")
    raw = load_document(tmp_path / "g.md")
    assert raw.meta["category"] == "chronic" and raw.meta["year"] == "2017"
    english = chunk_document(clean_lines(load_document(tmp_path / "e.txt").text), DocumentInfo(source="e", title="e"), load_settings(environ={}))
    assert {c.lang for c in english} == {"en"}
    assert any(c.section.startswith("I.") for c in english)


def _settings(root: Path):
    return load_settings({"knowledge_dir": root / "knowledge", "index_dir": root / "index"}, environ={})


def _broken_docx(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types>not really a docx")


def test_bad_files_are_reported_and_the_rest_is_indexed(tmp_path):
    knowledge = write_corpus(tmp_path)
    bad = knowledge / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "binary.txt").write_bytes(bytes(range(256)) * 20)
    (bad / "broken.docx").write_bytes(b"PK\x03\x04 this is not a zip")
    _broken_docx(bad / "broken2.docx")
    (bad / "gbk.txt").write_bytes("基层医疗机构应当落实首诊负责制度，首诊医师对患者负责到底。".encode("gbk"))

    report = build_index(_settings(tmp_path))

    reasons = {p.source: p.reason for p in report.problems}
    assert reasons["bad/empty.txt"] == "文件为空"
    assert "二进制" in reasons["bad/binary.txt"]
    assert "Word" in reasons["bad/broken.docx"] and "Word" in reasons["bad/broken2.docx"]
    assert "bad/gbk.txt" not in reasons  # GBK is a supported encoding, not a failure
    assert report.swapped and report.documents == 6
    chunks = read_chunks(current_build(tmp_path / "index"))
    assert any("首诊负责制度" in c.text for c in chunks)
    assert {c.doc.source for c in chunks} >= {"docs/plan.txt", "guideline.md", "bad/gbk.txt"}


def test_reingest_is_incremental_and_swaps_atomically(tmp_path):
    write_corpus(tmp_path)
    settings = _settings(tmp_path)
    first = build_index(settings)
    assert first.swapped and first.embedded == first.chunks

    again = build_index(settings)
    assert not again.swapped and again.embedded == 0 and again.build == first.build

    plan = tmp_path / "knowledge" / "docs" / "plan.txt"
    plan.write_text(PLAN + "四、保障措施\n各乡镇卫生院要明确一名信息管理员。\n", encoding="utf-8")
    changed = build_index(settings)
    assert changed.swapped and 0 < changed.embedded < changed.chunks  # only the new text is embedded
    assert current_build(settings.index_dir).name == changed.build


def test_changing_the_sentence_encoder_rebuilds_from_the_cache(tmp_path):
    write_corpus(tmp_path)
    settings = _settings(tmp_path)
    build_index(settings)
    assert index_is_current(settings)
    # Sentence vectors from another encoder would be compared with the wrong question vector.
    other = settings.with_overrides({"sentence_encoder": ""})
    assert not index_is_current(other)
    rebuilt = build_index(other)
    assert rebuilt.swapped and rebuilt.embedded == 0  # the passages' vectors come from the cache
    assert read_manifest(current_build(other.index_dir))["sentence_encoder"] == ""


def test_failed_build_keeps_the_previous_index(tmp_path, monkeypatch):
    write_corpus(tmp_path)
    settings = _settings(tmp_path)
    good = build_index(settings)
    (tmp_path / "knowledge" / "new.txt").write_text("新增文件：村卫生室每月盘点一次药品。", encoding="utf-8")

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(index_module, "_write_bm25", explode)
    with pytest.raises(RuntimeError):
        build_index(settings)
    assert current_build(settings.index_dir).name == good.build
    assert not [p for p in (settings.index_dir / "builds").iterdir() if p.name.startswith(".staging")]


def test_a_corpus_with_nothing_usable_keeps_the_previous_index(tmp_path):
    write_corpus(tmp_path)
    settings = _settings(tmp_path)
    good = build_index(settings)
    shutil.rmtree(tmp_path / "knowledge")
    (tmp_path / "knowledge").mkdir()
    (tmp_path / "knowledge" / "empty.txt").write_text("   ", encoding="utf-8")
    report = build_index(settings)
    assert not report.swapped and report.problems[0].reason == "文件为空"
    assert current_build(settings.index_dir).name == good.build


def test_html_docx_and_pdf_are_read(tmp_path):
    import docx
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    (tmp_path / "page.html").write_text(
        "<html><head><title>通知</title><script>var ad=1;</script></head><body><nav>首页 | 登录</nav>"
        "<p>乡村医生每季度参加一次业务培训。</p><footer>版权所有</footer></body></html>",
        encoding="utf-8",
    )
    document = docx.Document()
    document.add_paragraph("一、工作要求")
    document.add_paragraph("村卫生室每月开展一次药品盘点。")
    document.save(str(tmp_path / "plan.docx"))
    fig = plt.figure()
    fig.text(0.1, 0.5, "Village clinics report stock levels every month.")
    fig.savefig(tmp_path / "report.pdf")
    plt.close(fig)

    html = load_document(tmp_path / "page.html").text
    assert "业务培训" in html and "var ad" not in html and "登录" not in html
    assert "药品盘点" in load_document(tmp_path / "plan.docx").text
    assert "stock levels" in load_document(tmp_path / "report.pdf").text


# A journal page as a site scrapes it: a header block, the article, an inline table switch,
# back matter (author list, references) and the site's footer. Invented text, real layout.
JOURNAL_PAGE = """# URL: https://example.org/guide/123
# 标题: 某病基层诊疗指南(2020年) - 某医学杂志
# 发布方/日期: 中华医学会某分会，某医学杂志, 2020,19(1) : 1-9. DOI: 10.3760/cma.j；2020-01-08

某病基层诊疗指南(2020年)
某医学杂志, 2020,19(1) : 1-9. DOI: 10.3760/cma.j.issn.1671-7368.2020.01.001
一、诊断
某病的诊断依据为空腹指标≥7.0 mmol/L[3,4]，需非同日复查确认[5]。
二、治疗
某病的首选药物为甲药，起始剂量每日500 mg[12]。
点击查看表格
表1
常用药物
执笔 张三、李四
专家委员会成员 王五(某医院)
参考文献
[1]
SmithJ. A study of something[J]. J Med, 2019, 1: 1-2.
出    处：某医学杂志2020年19卷1期
分享到
"""


def test_a_scraped_journal_page_keeps_its_title_and_loses_its_back_matter(tmp_path):
    path = tmp_path / "guide.txt"
    path.write_text(JOURNAL_PAGE, encoding="utf-8")
    raw = load_document(path)
    # The scraper's header names the document; it is not a heading of it.
    assert raw.meta["title"] == "某病基层诊疗指南(2020年)"
    assert raw.meta["issuer"] == "中华医学会某分会" and raw.meta["year"] == "2020"
    lines = clean_lines(raw.text, body_start=int(raw.meta["_body_start"]))
    texts = [line.text for line in lines]
    assert not any(t.startswith("# ") for t in texts)
    # Reference markers are out of the quotable text; the offsets still point at the source.
    drug = next(line for line in lines if "首选药物" in line.text)
    assert drug.text == "某病的首选药物为甲药，起始剂量每日500 mg。"
    assert raw.text[drug.start:drug.end].startswith("某病的首选药物为甲药")
    # The author list, the references and the site footer are not knowledge.
    joined = "\n".join(texts)
    for gone in ("执笔", "专家委员会", "参考文献", "SmithJ", "出    处", "分享到", "点击查看表格", "DOI"):
        assert gone not in joined, gone


def test_a_site_added_guideline_is_indexed_under_its_own_title_and_authority(tmp_path):
    from tests.conftest import index_corpus

    settings = index_corpus(tmp_path, {"guide.txt": JOURNAL_PAGE})
    chunks = read_chunks(current_build(settings.index_dir))
    assert {c.doc.title for c in chunks} == {"某病基层诊疗指南(2020年)"}
    assert {c.doc.authority for c in chunks} == {"society_guideline"}  # from its issuer
    assert not any("标题" in c.section or "URL" in c.section for c in chunks)


def test_verification_records_are_not_indexed_as_knowledge(tmp_path):
    from tests.conftest import index_corpus

    settings = index_corpus(
        tmp_path,
        {"plan.txt": PLAN, "VERIFICATION.md": "# 核对记录\n每个数字的出处。\n"},
    )
    (settings.knowledge_dir / "verification").mkdir()
    (settings.knowledge_dir / "verification" / "plan.md").write_text("| 事实 | 出处 |\n", encoding="utf-8")
    report = build_index(settings, force=True)
    assert report.documents == 1
    assert {c.doc.source for c in read_chunks(current_build(settings.index_dir))} == {"plan.txt"}


def test_an_index_loads_the_tokens_ingest_cut_and_they_are_the_ones_it_would_cut_again(corpus_settings, monkeypatch):
    """Opening an index reads each passage's tokens from the build instead of cutting every
    passage again (most of the load time at county scale): they must be the same tokens, and
    a build made before they were stored must load exactly as before."""
    from assistant.pipeline import Assistant
    from assistant.retrieve import Retriever
    from assistant.store import CHUNK_TOKENS

    build = current_build(corpus_settings.index_dir)
    assert (build / CHUNK_TOKENS).exists()
    stored = Assistant(corpus_settings).retriever().chunk_tokens
    monkeypatch.setattr(Retriever, "_read_tokens", lambda self, build: None)  # as for an older build
    cut_again = Retriever(build, corpus_settings).chunk_tokens
    assert stored == cut_again and any(stored)
