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


NATIONAL = """---
title: 慢病管理要点（国家指南测试摘要）
year: 2018
category: chronic
authority: national_guideline
---
# 一、分级随访
高血压患者分级随访按血压是否达标分两级管理：
# 二、两级的做法
一级管理：已达标者每3个月复查1次。二级管理：未达标者每2～4周复查1次。
"""

LOCAL = """---
title: 某县高血压分级随访工作方案（测试）
year: 2024
category: chronic
authority: local_plan
---
# 一、分级随访
本县高血压患者分级随访由乡镇卫生院每月汇总一次。
"""


def test_national_documents_first_and_a_list_after_a_colon_comes_along(tmp_path):
    from assistant.handout import build_handout
    from assistant.pipeline import Assistant
    from tests.conftest import index_corpus

    engine = Assistant(index_corpus(tmp_path, {"national.md": NATIONAL, "local.md": LOCAL, "funding.txt": FUNDING}))
    handout = build_handout(engine, "高血压分级随访")
    assert [s.file for s in handout.sources] == ["national.md"]  # the county plan stays out while a national one covers it
    statements = [st.text for section in handout.sections for st in section.statements]
    assert any(t.endswith("分两级管理：") for t in statements)
    assert any("每2～4周复查1次" in t for t in statements)  # the list the colon announced (not itself on topic)
