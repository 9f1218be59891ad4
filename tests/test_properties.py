"""Properties of the offsets a citation rests on, for any input text (hypothesis): every clean
line and every passage points at its own text in the source document, and every quoted span
lies inside its passage. Texts are drawn from what documents are made of — Han characters,
Chinese punctuation, heading numbers, Markdown markup, footnote marks, digits, Latin words,
blank lines and long runs without a line break."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.config import Settings
from assistant.models import DocumentInfo

PIECES = [
    "高血压", "患者", "每年", "随访", "至少", "4次", "面对面", "糖尿病", "转诊", "制度", "应当", "在", "内完成",
    "，", "。", "；", "：", "、", "（", "）", "！", "？", " ", "\n", "\n\n", "\r\n",
    "一、", "（一）", "1.", "2、", "①", "# ", "## ", "- ", "**", "`", "[1]", "[2-3]", "第一章", "第三条",
    "140/90 mmHg", "≥", "<", "7.0", "%", "Health", "bureau", "summary", "First,", "I. ", "\t", "…", "2020年5-7月", "20__年",
]
# Rarer: what cleaning drops or stops at (boilerplate, a reference list).
RARE = ["版权说明：本文档由用户提供并上传", "本站小编", "参考文献", "\ufffd"]

texts = st.lists(st.sampled_from(PIECES * 8 + RARE), min_size=0, max_size=400).map("".join)
# A document long enough to make several passages (hypothesis otherwise favours short ones).
documents = st.lists(st.sampled_from(PIECES * 8 + RARE), min_size=150, max_size=600).map("".join)
CONFIG = Settings(chunk_size=60, chunk_max=120, chunk_min=4)  # small, so that long inputs split often
DOC = DocumentInfo(source="t.md", title="测试")
EXAMPLES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _subsequence(short: str, long: str) -> bool:
    """`short`'s characters appear in `long` in order: what cleaning may do is drop (markup,
    footnote marks, spaces between lines), never add or reorder."""
    it = iter(long)
    return all(ch in it for ch in short)


@EXAMPLES
@given(texts)
def test_every_clean_line_points_at_its_text(text):
    from ingest.clean import clean_lines

    previous_end = 0
    for line in clean_lines(text):
        assert 0 <= line.start < line.end <= len(text)
        assert line.start >= previous_end  # in document order, never overlapping
        previous_end = line.end
        assert line.text.strip()
        assert _subsequence(line.text.replace("…", ""), text[line.start : line.end])


@EXAMPLES
@given(documents)
def test_every_passage_points_at_its_text_in_the_source(text):
    from ingest.chunk import chunk_document
    from ingest.clean import clean_lines

    previous_end = 0
    for chunk in chunk_document(clean_lines(text), DOC, CONFIG):
        assert 0 <= chunk.start < chunk.end <= len(text)
        assert chunk.start >= previous_end
        previous_end = chunk.end
        source = text[chunk.start : chunk.end]
        for piece in chunk.text.replace("…", "").split("\n"):
            assert _subsequence(piece.replace(" ", ""), source), (piece, source)


@EXAMPLES
@given(texts, st.integers(min_value=20, max_value=300))
def test_every_quotable_span_lies_inside_its_passage(text, max_chars):
    from assistant.sentences import answer_spans

    previous_end = 0
    for start, end, _ in answer_spans(text, max_chars):
        assert 0 <= start < end <= len(text)
        assert start >= previous_end
        previous_end = end
        assert text[start:end].strip()


@EXAMPLES
@given(texts, texts)
def test_a_model_sentence_is_quoted_from_inside_its_passage(sentence, body):
    """The verifier quotes, for a model's sentence, a sentence of the passage's own text —
    never of the title line given before it."""
    from assistant.answer.verify import Passage, best_span

    header = "《测试》 · 一、随访"
    passage = Passage(1, f"{header}\n{body}", len(header) + 1)
    start, end = best_span(sentence, passage)
    assert passage.body_start <= start <= end <= len(passage.text)
