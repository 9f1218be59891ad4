"""A handout as a file: Markdown, a print-ready HTML page (system CJK fonts, no web fonts),
or Word with real heading styles, a key-numbers table and page numbers (python-docx)."""

from __future__ import annotations

from html import escape
from pathlib import Path

from assistant import texts
from assistant.handout import Handout

FORMATS = (".md", ".html", ".docx")


def _source_line(s) -> str:
    year = f"（{s.year}年）" if s.year else ""
    original = f"；原文：{s.original}" if s.original and s.original != s.title else ""
    kind = f"；{s.authority}" if s.authority else ""
    return f"[{s.number}] {s.title}{year}{kind}{original}；文件 {s.file}"


def _title(h: Handout) -> str:
    return f"{h.topic} · 培训讲义"


def to_markdown(h: Handout) -> str:
    lines = [f"# {_title(h)}", "", f"> {texts.HANDOUT_INTRO}", ""]
    current = None
    for section in h.sections:
        source = h.sources[section.source - 1]
        if source.number != current:
            year = f"（{source.year}年）" if source.year else ""
            lines += [f"## {source.title}{year}", ""]
            current = source.number
        lines += [f"### {section.heading}", ""]
        lines += [f"- {st.text} [{st.source}]" for st in section.statements]
        lines.append("")
    if h.key_numbers:
        lines += [f"## {texts.HANDOUT_KEY_NUMBERS}", "", "| 数值 | 原文 | 出处 |", "|---|---|---|"]
        for k in h.key_numbers:
            lines.append(f"| {'、'.join(k.values)} | {k.statement.replace('|', '｜')} | [{k.source}] |")
        lines.append("")
    lines += [f"## {texts.HANDOUT_SOURCES}", ""] + [f"- {_source_line(s)}" for s in h.sources]
    lines += ["", f"**{h.disclaimer}**", ""]
    return "\n".join(lines)


PRINT_CSS = """
body { font-family: "Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "SimSun", sans-serif;
  max-width: 46em; margin: 2em auto; line-height: 1.7; color: #111; font-size: 12pt; }
h1 { font-size: 20pt; } h2 { font-size: 15pt; border-bottom: 1px solid #999; margin-top: 1.4em; } h3 { font-size: 12.5pt; }
table { border-collapse: collapse; width: 100%; font-size: 10.5pt; } th, td { border: 1px solid #666; padding: 3px 6px; vertical-align: top; }
.intro { color: #444; } .disclaimer { font-weight: bold; color: #9a3412; margin-top: 1.5em; }
sup { color: #0f766e; }
@media print { body { margin: 0; } h2, h3 { page-break-after: avoid; } tr { page-break-inside: avoid; } }
@page { size: A4; margin: 18mm 16mm; }
"""


def to_html(h: Handout) -> str:
    """A whole printable page."""
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(_title(h))}</title>'
            f"<style>{PRINT_CSS}</style></head><body>\n{html_body(h)}\n</body></html>")


def html_body(h: Handout) -> str:
    """The handout's content, for a page of its own or a preview inside another."""
    out = [f"<h1>{escape(_title(h))}</h1>", f'<p class="intro">{escape(texts.HANDOUT_INTRO)}</p>']
    current = None
    for section in h.sections:
        source = h.sources[section.source - 1]
        if source.number != current:
            year = f"（{source.year}年）" if source.year else ""
            out.append(f"<h2>{escape(source.title + year)}</h2>")
            current = source.number
        out.append(f"<h3>{escape(section.heading)}</h3><ul>")
        out += [f"<li>{escape(st.text)}<sup>[{st.source}]</sup></li>" for st in section.statements]
        out.append("</ul>")
    if h.key_numbers:
        out.append(f"<h2>{escape(texts.HANDOUT_KEY_NUMBERS)}</h2><table><thead><tr><th>数值</th><th>原文</th><th>出处</th></tr></thead><tbody>")
        out += [f"<tr><td>{escape('、'.join(k.values))}</td><td>{escape(k.statement)}</td><td>[{k.source}]</td></tr>" for k in h.key_numbers]
        out.append("</tbody></table>")
    out.append(f"<h2>{escape(texts.HANDOUT_SOURCES)}</h2><ol>")
    out += [f"<li>{escape(_source_line(s)[len(f'[{s.number}] '):])}</li>" for s in h.sources]
    out.append(f'</ol><p class="disclaimer">{escape(h.disclaimer)}</p>')
    return "\n".join(out)


def page_number(paragraph) -> None:
    """A PAGE field in the footer: Word fills in each page's number."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    run = paragraph.add_run()
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._r.append(element)


def new_document():
    """A Word document set up for printing Chinese: a CJK body face and page numbers."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Pt

    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.size = Pt(11)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")  # Word picks the CJK face from eastAsia
    footer = doc.sections[0].footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    page_number(footer)
    return doc


def to_docx(h: Handout, path: Path) -> None:
    doc = new_document()
    doc.add_heading(_title(h), level=0)
    doc.add_paragraph(texts.HANDOUT_INTRO)
    current = None
    for section in h.sections:
        source = h.sources[section.source - 1]
        if source.number != current:
            year = f"（{source.year}年）" if source.year else ""
            doc.add_heading(source.title + year, level=1)
            current = source.number
        doc.add_heading(section.heading, level=2)
        for st in section.statements:
            doc.add_paragraph(f"{st.text} [{st.source}]", style="List Bullet")
    if h.key_numbers:
        doc.add_heading(texts.HANDOUT_KEY_NUMBERS, level=1)
        table = doc.add_table(rows=1, cols=3)
        table.style = "Table Grid"
        for cell, text in zip(table.rows[0].cells, ("数值", "原文", "出处")):
            cell.text = text
        for k in h.key_numbers:
            row = table.add_row().cells
            row[0].text, row[1].text, row[2].text = "、".join(k.values), k.statement, f"[{k.source}]"
    doc.add_heading(texts.HANDOUT_SOURCES, level=1)
    for s in h.sources:
        doc.add_paragraph(_source_line(s))
    doc.add_paragraph().add_run(h.disclaimer).bold = True
    doc.save(str(path))


def write(h: Handout, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"讲义只能导出为 {' / '.join(FORMATS)}：{path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".docx":
        to_docx(h, path)
    else:
        path.write_text(to_markdown(h) if suffix == ".md" else to_html(h), encoding="utf-8")
