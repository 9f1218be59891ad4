"""Turn a decoded document into clean lines with their offsets in the original text.

Real scraped documents carry site boilerplate (copyright notices, "本站小编" prefaces,
breadcrumbs), truncation marks (U+FFFD), pinyin annotations and Markdown markup.
Boilerplate lines are dropped; every other line keeps its offsets, so a citation can
always point back to what the document says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.textnorm import normalize, strip_pinyin

# Matched against the normalised line (simplified, half-width, lower-case).
_BOILERPLATE = [
    r"版权(说明|声明|所有)",
    r"本文档由用户提供并上传",
    r"收益归属内容提供方",
    r"(如|若)内容存在侵权",
    r"^文档简介$",
    r"本站小编|小编为你|小编为您|一篇好文章的诞生",
    r"(希望|但愿)(能够|能|可以)?(帮助|帮)到?(大家|您|你)",
    r"^请欣赏.{0,80}整理",
    r"欢迎(阅读|参考|借鉴)(并|和)?(收藏|下载)?",
    r"^(免费)?下载|^(上一篇|下一篇|相关(推荐|阅读|文章)|阅读全文|展开全文|点击(查看|下载)|扫码|关注(我们|公众号))",
    r"^(本文)?(来源|出处|作者|责任编辑|编辑)[:：]",
    r"^[^。,，]{0,30}>[^。,，]{0,40}$",  # breadcrumbs: "Summary of work > Summary of health work"
    r"^(首页|返回顶部|打印本页|关闭窗口|分享到)",
    r"^\d{4}-\d{1,2}-\d{1,2}\s*\S{0,6}$",  # a bare date stamp, e.g. "2025-02-27方案"
    r"^[\w\u4e00-\u9fff]{1,8}(网|网站|文库|范文网)$",  # a bare site name
    r"^第?\d+\s*页|^page \d+",
    r"^>?\s*本文为.{0,30}摘要",
    r"^>\s*(核对状态|核对说明|核对情况|来源说明)",  # a digest's provenance note: about the text, not knowledge  # the digests' own disclaimer line; the UI shows a disclaimer anyway
    # Journal pages: the inline table switch, DOI lines, site chrome.
    r"^点击查看(表格|大图|图片)$",
    r"doi\s*[:：]\s*10\.\d{4}",
    r"auto translation",
    r"^(出|文|刊)\s*(处|题|期)\s*[:：]",
]
_BOILERPLATE_RE = re.compile("|".join(f"(?:{p})" for p in _BOILERPLATE))
# Where a scraped page's own text ends and the site's lists and comment boxes begin.
_TAIL = re.compile(
    r"^(最新文档|相关文档|相关推荐|猜你喜欢|大家都在看|温馨提示|评论|提交评论|热门文章|推荐阅读|"
    r"recommended articles?|popular articles?|related articles?)[:：]?$"
)
# A journal article's back matter: the reference list (a "参考文献" line followed by "[1]"
# or "1."), and the statements just before it (conflicts of interest, the author list).
_REFERENCES = re.compile(r"^[ \t]*(参考文献|references?)[:：]?[ \t]*\n\s*(\[1\]|1\s*[.．、])", re.M | re.I)
_BACK_MATTER = re.compile(r"^[ \t]*(利益冲突|专家委员会成员|专家组成员|执笔|志谢|致谢|贡献者信息)", re.M)


def back_matter_start(text: str) -> int:
    """Offset where the reference list (and the statements right before it) begin, or the
    text's length. A "参考文献" line inside a table (a column header) has no "[1]" after it."""
    match = _REFERENCES.search(text)
    if not match:
        return len(text)
    start = match.start()
    window = text[max(0, start - 3000):start]
    before = [m.start() for m in _BACK_MATTER.finditer(window)]
    return max(0, start - 3000) + before[0] if before else start
# Reference markers inside sentences ("…首选药物[87,88]"): they point into the cut references.
_FOOTNOTE = re.compile(r"\[\d{1,3}(?:\s*[,，\-－–~]\s*\d{1,3})*\]")
# Document viewers number their pages "N、" and cut words across the break:
# "…加强医疗\n2、机构…". Such a marker follows a long line that stops mid-sentence.
_PAGE_MARKER = re.compile(r"^\d{1,3}、")
_SENTENCE_END = "。；;！!？?：:”」』)）.…"
_MARKUP = re.compile(r"\*\*|`")  # not "__": 20__ is an anonymisation placeholder
_REPLACEMENT_CHAR = "\ufffd"


@dataclass
class Line:
    start: int  # offsets in the decoded document
    end: int
    text: str  # the line as the document says it, minus markup and truncation marks
    raw: str = ""  # the document's own characters from start to end

    def source_offset(self, i: int) -> int:
        """Where character `i` of `text` stands in the document. Cleaning only drops
        characters (markup, footnote marks, a page marker's join) and shows U+FFFD as …,
        so `text` is a subsequence of `raw`: walk both."""
        j = 0
        for k, ch in enumerate(self.text[: i + 1]):
            while j < len(self.raw) and self.raw[j] != ch and not (ch == "…" and self.raw[j] == _REPLACEMENT_CHAR):
                j += 1
            if k < i:
                j += 1
        return self.start + min(j, max(len(self.raw) - 1, 0))


def is_boilerplate(line: str) -> bool:
    return bool(_BOILERPLATE_RE.search(normalize(line)))


def clean_lines(text: str, body_start: int = 0) -> list[Line]:
    lines: list[Line] = []
    pos = 0
    tail_from = int(len(text) * 0.6)
    back_from = back_matter_start(text)
    for raw in text.split("\n"):
        start, end = pos, pos + len(raw)
        pos = end + 1
        if start < body_start:
            continue
        stripped = raw.strip()
        if not stripped or stripped.strip(_REPLACEMENT_CHAR + " ") == "":
            continue
        if start >= tail_from and _TAIL.match(normalize(stripped)):
            break
        if start >= back_from:
            break
        if is_boilerplate(stripped):
            continue
        offset = raw.index(stripped[0])
        display = _FOOTNOTE.sub("", _MARKUP.sub("", stripped)).replace(_REPLACEMENT_CHAR, "…").strip()
        if not display:
            continue
        marker = _PAGE_MARKER.match(display)
        # The previous line "stops mid-sentence" judged without its pinyin: 引導(dǎo) ends in 導.
        if marker and lines and len(lines[-1].text) > 100 and strip_pinyin(lines[-1].text)[-1] not in _SENTENCE_END:
            previous = lines[-1]
            previous.text += display[marker.end() :]
            previous.end = start + offset + len(stripped)
            previous.raw = text[previous.start : previous.end]
            continue
        lines.append(Line(start=start + offset, end=start + offset + len(stripped), text=display, raw=stripped))
    return lines
