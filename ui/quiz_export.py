"""A quiz bank as a file: Excel in the column layout exam systems import (题型, 题干, 选项A–E,
答案, 解析, 出处), Word for printing with the answers on pages of their own, JSON in the
`zhiyi eval` item format (so an evaluator can run the bank as a benchmark), and Markdown."""

from __future__ import annotations

import json
import math
from html import escape
from pathlib import Path

from assistant import texts
from assistant.quiz import LETTERS, TYPE_LABELS, TYPES, QuizBank, QuizItem
from ui.handout_export import new_document

FORMATS = (".xlsx", ".docx", ".json", ".jsonl", ".md")
COLUMNS = ["题型", "题干", "选项A", "选项B", "选项C", "选项D", "选项E", "答案", "解析", "出处"]
SECTION_NUMBERS = "一二三四"


def _title(bank: QuizBank) -> str:
    return f"{bank.topic} · 练习题"


def _by_type(bank: QuizBank) -> list[tuple[str, list[QuizItem]]]:
    groups = [(TYPE_LABELS[t], [i for i in bank.items if i.type == t]) for t in TYPES]
    return [(label, items) for label, items in groups if items]


def _answer(item: QuizItem) -> str:
    return item.answer + (f"（也可答：{'、'.join(item.accepted)}）" if item.accepted else "")


def _options(item: QuizItem) -> list[str]:
    return [f"{letter}. {option}" for letter, option in zip(LETTERS, item.options)]


def to_markdown(bank: QuizBank) -> str:
    lines = [f"# {_title(bank)}", "", f"> {texts.QUIZ_INTRO}", ""]
    if bank.message:
        lines += [f"> {bank.message}", ""]
    for number, (label, items) in enumerate(_by_type(bank)):
        lines += [f"## {SECTION_NUMBERS[number]}、{label}", ""]
        for item in items:
            lines.append(f"{item.number}. {item.stem}")
            lines += [f"   - {o}" for o in _options(item)]
            lines += [f"   - **答案**：{_answer(item)}", f"   - **解析**：{item.explanation}", ""]
    lines += [f"**{bank.disclaimer}**", ""]
    return "\n".join(lines)


def html_body(bank: QuizBank) -> str:
    """The bank for reading in the page: questions by type, each answer folded under its question."""
    out = [f"<h1>{escape(_title(bank))}</h1>", f'<p class="intro">{escape(texts.QUIZ_INTRO)}</p>']
    if bank.message:
        out.append(f"<p><strong>{escape(bank.message)}</strong></p>")
    for number, (label, items) in enumerate(_by_type(bank)):
        out.append(f"<h2>{SECTION_NUMBERS[number]}、{escape(label)}</h2>")
        for item in items:
            out.append(f'<div class="zy-quiz-item"><p>{item.number}. {escape(item.stem)}</p>')
            if item.options:
                # Letters written out: the page's own list styles would number them 1, 2, 3.
                out += [f'<div class="zy-quiz-option">{escape(o)}</div>' for o in _options(item)]
            out.append(f"<details><summary>答案：{escape(_answer(item))}</summary><p>{escape(item.explanation)}</p></details></div>")
    out.append(f'<p class="disclaimer"><strong>{escape(bank.disclaimer)}</strong></p>')
    return "\n".join(out)


def eval_items(bank: QuizBank) -> list[dict]:
    """The bank as `zhiyi eval` items: the question as a trainee reads it (options included),
    the keywords a right answer must say, the cited sentence as evidence. The quiz fields ride
    along; the evaluator ignores what it does not score."""
    out = []
    for item in bank.items:
        question = item.stem
        if item.options:
            question += " " + "；".join(_options(item))
        elif item.type == "judge":
            question += " 这种说法对吗？"
        out.append({
            "id": f"quiz-{bank.seed}-{item.number:03d}", "question": question,
            "answer_keywords": [[k] for k in item.keywords], "expect_refusal": False, "category": "quiz",
            "kind": "list" if len(item.keywords) > 1 else "fact", "evidence": item.quotes[0],
            "quiz_type": TYPE_LABELS[item.type], "options": item.options, "answer": item.answer,
            "explanation": item.explanation, "source": item.source.model_dump(),
        })
    return out


def to_xlsx(bank: QuizBank, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    sheet.title = "题库"
    sheet.append(COLUMNS)
    for item in bank.items:
        options = (item.options + [""] * len(LETTERS))[: len(LETTERS)]
        # The 答案 cell holds one answer, as importers expect; other accepted spellings go to 解析.
        explanation = (f"也可答：{'、'.join(item.accepted)}。" if item.accepted else "") + item.explanation
        sheet.append([TYPE_LABELS[item.type], item.stem, *options, item.answer, explanation, item.source.label()])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = {"A": 8, "B": 60, "C": 22, "D": 22, "E": 22, "F": 22, "G": 22, "H": 10, "I": 60, "J": 36}
    for column, width in widths.items():
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        # Row heights from the wrapped text (a Han character is two width units): spreadsheet
        # programs do not grow a row written by openpyxl, so long stems would print cut off.
        lines = max(math.ceil(sum(2 if ord(ch) > 0x2E80 else 1 for ch in str(c.value or "")) / widths[c.column_letter]) for c in row)
        sheet.row_dimensions[row[0].row].height = 15 * max(lines, 1)
    sheet.freeze_panes = "A2"
    # Printed: landscape, one page wide, the header on every page.
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "1:1"
    # A second sheet says where the bank came from; import tools read the first.
    about = book.create_sheet("说明")
    for row in (["主题", bank.topic], ["题目数", len(bank.items)], ["随机种子", bank.seed], ["说明", texts.QUIZ_INTRO],
                ["提示", bank.message], ["声明", bank.disclaimer]):
        about.append(row)
    about.column_dimensions["B"].width = 100
    book.save(str(path))


def to_docx(bank: QuizBank, path: Path) -> None:
    from docx.enum.text import WD_BREAK

    doc = new_document()
    doc.add_heading(_title(bank), level=0)
    doc.add_paragraph(texts.QUIZ_INTRO)
    groups = _by_type(bank)
    for number, (label, items) in enumerate(groups):
        doc.add_heading(f"{SECTION_NUMBERS[number]}、{label}", level=1)
        for item in items:
            doc.add_paragraph(f"{item.number}. {item.stem}")
            for option in _options(item):
                doc.add_paragraph(option).paragraph_format.left_indent = doc.styles["Normal"].font.size * 2
    # The answers start on a page of their own, so the questions can be handed out alone.
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    doc.add_heading("参考答案与解析", level=1)
    for number, (label, items) in enumerate(groups):
        doc.add_heading(f"{SECTION_NUMBERS[number]}、{label}", level=2)
        for item in items:
            paragraph = doc.add_paragraph()
            paragraph.add_run(f"{item.number}. 答案：{_answer(item)}").bold = True
            doc.add_paragraph(f"解析：{item.explanation}")
    doc.add_paragraph().add_run(bank.disclaimer).bold = True
    doc.save(str(path))


def write(bank: QuizBank, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"题库只能导出为 {' / '.join(FORMATS)}：{path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".xlsx":
        to_xlsx(bank, path)
    elif suffix == ".docx":
        to_docx(bank, path)
    elif suffix == ".json":  # one JSON array: a valid JSON file, read by `zhiyi eval` too
        path.write_text(json.dumps(eval_items(bank), ensure_ascii=False, indent=1), encoding="utf-8")
    elif suffix == ".jsonl":
        path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in eval_items(bank)), encoding="utf-8")
    else:
        path.write_text(to_markdown(bank), encoding="utf-8")
