"""Read a file into text, whatever its format and encoding, or say plainly why not."""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

SUPPORTED = {".txt", ".md", ".markdown", ".html", ".htm", ".docx", ".pdf"}


class LoadError(Exception):
    """A file that cannot be indexed; the message is Chinese and shown to users."""


@dataclass
class RawDocument:
    path: Path
    text: str  # decoded text; chunk offsets refer to it
    meta: dict[str, str] = field(default_factory=dict)  # front matter of Markdown digests


def _decode(data: bytes) -> str:
    if not data.strip():
        raise LoadError("文件为空")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    sample = data[:8192]
    # Text in any of our encodings has no NUL bytes; binary files almost always do.
    if b"\x00" in sample or sum(b < 9 or 13 < b < 32 for b in sample) > len(sample) * 0.05:
        raise LoadError("不是文本文件（疑似二进制文件或损坏），已跳过")
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.chaos > 0.3:
        raise LoadError("无法识别文件编码（支持 UTF-8、GB18030/GBK）")
    return str(best)


_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)


def _front_matter(text: str) -> dict[str, str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}
    meta: dict[str, str] = {}
    for line in match.group(1).splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            meta[key.strip()] = value.strip()
    meta["_body_start"] = str(match.end())
    return meta


# A scraper's header: "# URL: …", "# 标题: 中国成人失眠诊断与治疗指南(2017版) - 中华神经科杂志",
# "# 发布方/日期: 中华医学会…, 中华神经科杂志, 2018,51(5)… ；2018-05-08". It describes the
# page; it is not a heading of the document.
_SCRAPE_HEADER = re.compile(r"\A(?:#\s*[^\n:：]{1,12}[:：][^\n]*\n)+")
_HEADER_KEYS = {"标题": "title", "title": "title", "发布方/日期": "issuer", "发布方": "issuer", "来源": "issuer", "url": "url"}


def _scrape_header(text: str) -> dict[str, str]:
    match = _SCRAPE_HEADER.match(text)
    if not match:
        return {}
    meta: dict[str, str] = {}
    for line in match.group(0).splitlines():
        key, value = re.split(r"[:：]", line.lstrip("#").strip(), maxsplit=1)
        name = _HEADER_KEYS.get(key.strip().lower())
        if name and value.strip():
            meta[name] = value.strip()
    if not meta:
        return {}
    if "title" in meta:
        # "指南标题 - 期刊名": the page title carries the journal after a dash.
        meta["title"] = re.split(r"\s+[-–—|]\s+", meta["title"])[0].strip()
    issuer = meta.get("issuer", "")
    years = re.findall(r"(?:19|20)\d{2}", issuer)
    if years:
        meta["year"] = years[0]
    meta["issuer"] = re.split(r"[,，]", issuer)[0].strip()
    meta["_body_start"] = str(match.end())
    return meta


def _html_text(markup: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup(["script", "style", "noscript", "nav", "footer", "header", "aside", "form", "iframe"]):
        tag.decompose()
    title = soup.title.get_text(strip=True) if soup.title else ""
    body = soup.body or soup
    lines = [line.strip() for line in body.get_text("\n").splitlines()]
    text = "\n".join(line for line in lines if line)
    return f"{title}\n{text}" if title and not text.startswith(title) else text


def _docx_text(path: Path) -> str:
    import docx

    try:
        document = docx.Document(str(path))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise LoadError("Word 文档已损坏或无法打开") from exc
    except Exception as exc:  # python-docx raises assorted parser errors on broken XML
        raise LoadError(f"Word 文档无法解析（{type(exc).__name__}）") from exc
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text.strip() for cell in row.cells))
    return "\n".join(parts)


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, OSError, KeyError) as exc:
        raise LoadError("PDF 文件已损坏或无法解析") from exc
    text = "\n".join(pages)
    if not text.strip():
        raise LoadError("PDF 中没有可提取的文字（可能是扫描件，请先做文字识别）")
    return text


def load_document(path: Path) -> RawDocument:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise LoadError(f"不支持的文件类型 {suffix or '（无扩展名）'}，支持 txt、md、html、docx、pdf")
    try:
        if suffix == ".docx":
            text = _docx_text(path)
        elif suffix == ".pdf":
            text = _pdf_text(path)
        else:
            text = _decode(path.read_bytes())
            if suffix in (".html", ".htm"):
                text = _html_text(text)
    except OSError as exc:
        raise LoadError(f"无法读取文件（{exc.strerror or exc}）") from exc
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise LoadError("文件为空")
    meta = _front_matter(text) if suffix in (".md", ".markdown") else {}
    if not meta and suffix in (".txt", ".md", ".markdown"):
        meta = _scrape_header(text)
    return RawDocument(path=path, text=text, meta=meta)
