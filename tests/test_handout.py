"""Handouts from a real index of a small corpus: cited statements only, the documents' own
headings, key numbers, refusal of an uncovered topic, and the three file formats."""

from __future__ import annotations

import re
import zipfile

import pytest

from tests.test_ui import CONSULTATION, FUNDING, HYPERTENSION

OLDER = """---
title: 高血压随访管理（旧版测试摘要）
year: 2011
category: chronic
---
# 随访频次
原发性高血压患者每年至少随访3次。
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from assistant.pipeline import Assistant
    from tests.conftest import index_corpus

    settings = index_corpus(
        tmp_path_factory.mktemp("handout"),
        {"funding.txt": FUNDING, "hypertension.md": HYPERTENSION, "consultation.md": CONSULTATION, "older.md": OLDER},
    )
    return Assistant(settings)


def test_every_statement_is_a_sentence_of_its_cited_document(engine):
    from assistant.handout import build_handout

    handout = build_handout(engine, "高血压患者随访")
    assert handout.covered and handout.disclaimer == "仅供参考，不替代临床判断"
    files = {s.number: s.file for s in handout.sources}
    raw = {f: (engine.settings.knowledge_dir / f).read_text(encoding="utf-8") for f in files.values()}
    statements = [st for section in handout.sections for st in section.statements]
    assert statements and all(re.sub(r"\s", "", st.text) in re.sub(r"\s", "", raw[files[st.source]]) for st in statements)
    # Two documents that differ on the interval both appear, newer first, each with its year.
    years = [s.year for s in handout.sources if s.file in ("hypertension.md", "older.md")]
    assert years == [2017, 2011]
    assert any("4次" in st.text for st in statements) and any("3次" in st.text for st in statements)
    assert "funding.txt" not in files.values()  # not about the topic: left out, not padded in
    headings = [section.heading for section in handout.sections]
    assert "一、随访频次" in headings  # the document's own heading
    assert any("4次" in k.values for k in handout.key_numbers)


def test_an_uncovered_topic_is_refused(engine, tmp_path, monkeypatch, capsys):
    from assistant.handout import build_handout
    from ui.cli import main

    handout = build_handout(engine, "火锅底料怎么炒")
    assert not handout.covered and "无法生成讲义" in handout.message and not handout.sections
    monkeypatch.setenv("ZHIYI_KNOWLEDGE_DIR", str(engine.settings.knowledge_dir))
    monkeypatch.setenv("ZHIYI_INDEX_DIR", str(engine.settings.index_dir))
    assert main(["handout", "火锅底料怎么炒", "--out", str(tmp_path / "x.docx")]) == 1
    assert "无法生成讲义" in capsys.readouterr().err and not (tmp_path / "x.docx").exists()


def test_handout_files_print_well(engine, tmp_path):
    from docx import Document

    from assistant.handout import build_handout
    from ui.handout_export import write

    handout = build_handout(engine, "高血压患者随访")
    for suffix in (".md", ".html", ".docx"):
        write(handout, tmp_path / f"h{suffix}")
    markdown = (tmp_path / "h.md").read_text(encoding="utf-8")
    assert markdown.startswith("# 高血压患者随访 · 培训讲义") and "## 资料来源" in markdown and "仅供参考，不替代临床判断" in markdown
    html = (tmp_path / "h.html").read_text(encoding="utf-8")
    assert "http" not in html and "Noto Sans CJK SC" in html and "@page" in html  # system fonts, print layout
    doc = Document(str(tmp_path / "h.docx"))
    styles = {p.style.name for p in doc.paragraphs}
    assert {"Title", "Heading 1", "Heading 2", "List Bullet"} <= styles and len(doc.tables) == 1
    footer = zipfile.ZipFile(tmp_path / "h.docx").read("word/footer1.xml").decode()
    assert "PAGE" in footer  # page numbers
    with pytest.raises(ValueError):
        write(handout, tmp_path / "h.pdf")
