"""ui.render on hand-made answers: escaping, highlight offsets, refusals, the disclaimer."""

from __future__ import annotations

import re

from assistant.models import DISCLAIMER, Answer, AnswerSentence, Citation
from ui import render, texts

PASSAGE = "二、经费预算\n“智医助理”项目概算不超过400万元。我区建设经费由省与市财政按7:3比例分担。"


def _citation(**overrides) -> Citation:
    quote = "我区建设经费由省与市财政按7:3比例分担。"
    start = PASSAGE.index(quote)
    data = dict(
        id=1,
        chunk_id="plan-3",
        title="某区“智医助理”建设实施方案",
        section="二、经费预算",
        source="docs/plan.txt",
        category="management",
        category_label="卫生管理与工作方案",
        year=2020,
        text=PASSAGE,
        quote_start=start,
        quote_end=start + len(quote),
        spans=[(start, start + len(quote))],
        doc_start=100,
        doc_end=100 + len(PASSAGE),
        lang="zh",
    )
    data.update(overrides)
    return Citation(**data)


def _answer(**overrides) -> Answer:
    data = dict(
        question="智医助理项目经费怎么分担？",
        refused=False,
        sentences=[AnswerSentence(text="我区建设经费由省与市财政按7:3比例分担。", citations=[1])],
        citations=[_citation()],
    )
    data.update(overrides)
    return Answer(**data)


def test_answer_has_marker_linked_to_its_source_card():
    out = render.render_answer(_answer(), anchor="t1")
    assert '<sup class="zy-cite"><a href="#t1-src-1"' in out
    assert ">[1]</a></sup>" in out
    assert 'id="t1-src-1"' in out
    assert "某区“智医助理”建设实施方案" in out
    assert "2020年" in out and "卫生管理与工作方案" in out and "docs/plan.txt" in out and "二、经费预算" in out
    assert texts.SOURCES in out


def test_quote_is_marked_at_the_right_offsets():
    out = render.render_answer(_answer())
    marked = re.findall(r"<mark>(.*?)</mark>", out)
    assert marked == ["我区建设经费由省与市财政按7:3比例分担。"]
    # the text before the mark is the passage's beginning, unmarked
    assert "“智医助理”项目概算不超过400万元。<mark>" in out


def test_several_spans_are_each_marked_and_overlaps_merged():
    citation = _citation(spans=[(7, 10), (0, 2), (8, 12)])
    assert render.quote_spans(citation) == [(0, 2), (7, 12)]
    html_ = render.highlight(citation.text, render.quote_spans(citation))
    assert re.findall(r"<mark>(.*?)</mark>", html_) == [PASSAGE[0:2], PASSAGE[7:12]]


def test_quote_start_end_used_when_spans_missing_and_offsets_clamped():
    citation = _citation(spans=[], quote_start=0, quote_end=6)
    assert render.quote_spans(citation) == [(0, 6)]
    assert render.quote_spans(_citation(spans=[(5, 10_000)])) == [(5, len(PASSAGE))]
    assert render.quote_spans(_citation(spans=[(4, 4)], quote_start=4, quote_end=4)) == []


def test_everything_is_escaped():
    evil = "<script>alert(1)</script>"
    passage = f"前言{evil}正文<b>加粗</b>&amp;"
    start = passage.index(evil)
    answer = _answer(
        question=evil,
        message=f"注意{evil}",
        sentences=[AnswerSentence(text=f"句子{evil}", citations=[1])],
        citations=[
            _citation(
                title=f'标题"{evil}',
                section=evil,
                source=f"a'{evil}.txt",
                text=passage,
                spans=[(start, start + len(evil))],
                quote_start=start,
                quote_end=start + len(evil),
            )
        ],
        disclaimer=f"{DISCLAIMER}{evil}",
    )
    out = render.render_answer(answer, anchor='x"><script>')
    out += render.render_turn(evil, render.render_error(evil), 1)
    assert "<script" not in out.lower()
    assert "<b>" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    # the mark wraps the escaped text, the offsets being those of the raw text
    assert "<mark>&lt;script&gt;alert(1)&lt;/script&gt;</mark>" in out
    assert "&amp;amp;" in out


def test_refusal_shows_message_and_no_sources():
    answer = Answer(question="明天天气怎么样？", refused=True, message="知识库中没有找到相关内容，无法回答这个问题。")
    out = render.render_answer(answer)
    assert "知识库中没有找到" in out
    assert 'data-state="refused"' in out
    assert "zy-source" not in out and "<mark>" not in out and "zy-cite" not in out
    assert texts.SOURCES not in out


def test_refusal_never_shows_sources_even_if_citations_present():
    answer = _answer(refused=True, message="知识库中没有找到相关内容。")
    out = render.render_answer(answer)
    assert "zy-source" not in out and "<mark>" not in out


def test_disclaimer_always_present():
    for out in (
        render.render_answer(_answer()),
        render.render_answer(Answer(question="x", refused=True, message="没有")),
        render.render_answer(_answer(disclaimer="")),
        render.render_error("出错了"),
    ):
        assert DISCLAIMER in out
        assert "zy-disclaimer" in out


def test_message_shown_above_sentences():
    note = "以下内容来自不同文件（2017年、2020年），规定可能不一致。"
    out = render.render_answer(_answer(message=note))
    assert out.index(note) < out.index("zy-sentences")


def test_conversation_numbers_turns_and_welcomes_when_empty():
    assert texts.WELCOME in render.render_conversation([])
    out = render.render_conversation(
        [{"question": "问一", "html": render.render_answer(_answer(), "t1")}, {"question": "问二", "html": render.render_pending()}]
    )
    assert out.count('class="zy-turn"') == 2
    assert 'data-turn="2"' in out and texts.THINKING in out
