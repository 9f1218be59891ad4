"""Typed shapes that cross module boundaries: chunks (ingest → index → assistant),
citations and answers (assistant → UI / CLI / eval)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

DISCLAIMER = "仅供参考，不替代临床判断"

Category = Literal["chronic", "referral", "core_system", "management"]

CATEGORY_LABELS: dict[str, str] = {
    "chronic": "慢病管理",
    "referral": "分级诊疗与转诊",
    "core_system": "医疗质量安全核心制度",
    "management": "卫生管理与工作方案",
}


# The kind of document, strongest first: ranking prefers the stronger source for a
# clinical question, and the citation card shows it.
Authority = Literal["national_regulation", "national_guideline", "society_guideline", "local_plan", "work_report", ""]

AUTHORITY_LABELS: dict[str, str] = {
    "national_regulation": "国家规范性文件",
    "national_guideline": "国家指南",
    "society_guideline": "学会指南",
    "local_plan": "地方方案",
    "work_report": "工作总结",
    "": "",
}


class DocumentInfo(BaseModel):
    """What a citation says about where a passage comes from."""

    source: str  # file name relative to the knowledge directory
    title: str
    original: str = ""  # for a digest: the original document it summarises
    authority: Authority = ""
    category: Category = "management"
    year: int | None = None
    issuer: str = ""
    doc_number: str = ""


class Chunk(BaseModel):
    id: str
    doc: DocumentInfo
    section: str = ""  # heading path, e.g. "一、建设内容 > （一）建设“智医助理”系统"
    start: int  # character offsets of the passage in the decoded source file
    end: int
    text: str  # what the document says (original script, boilerplate removed)
    search_text: str  # normalised: simplified, half-width, pinyin annotations stripped
    lang: Literal["zh", "en"]
    content_hash: str


class Citation(BaseModel):
    id: int  # 1-based marker number shown as [n]
    chunk_id: str
    title: str
    section: str
    source: str
    category: Category
    category_label: str
    original: str = ""  # the original document a digest summarises
    authority: str = ""
    authority_label: str = ""
    year: int | None = None
    text: str  # the passage as the document says it
    quote_start: int  # span of the quoted sentence(s) within `text`
    quote_end: int
    spans: list[tuple[int, int]] = Field(default_factory=list)  # every quoted sentence, within `text`
    doc_start: int  # the passage's offsets in the source file
    doc_end: int
    lang: Literal["zh", "en"]
    score: float = 0.0

    @property
    def quoted(self) -> str:
        """The quoted sentence(s) as the passage says them."""
        return self.text[self.quote_start:self.quote_end]


class AnswerSentence(BaseModel):
    text: str
    citations: list[int]


def sentence_line(sentence: AnswerSentence) -> str:
    """A sentence as text, its [n] markers after it."""
    return sentence.text + "".join(f"[{c}]" for c in sentence.citations)


class DroppedSentence(BaseModel):
    text: str  # what the model wrote (never shown to the doctor)
    reason: str  # the failed check: number / comparison / negation / name / support / uncited / empty
    detail: str = ""


class Generation(BaseModel):
    """What the language model did for one answer: for the evaluator and the answer log."""

    model: str
    passages: int = 0  # passages given to the model
    generated: int = 0  # sentences it wrote
    kept: int = 0  # of which the verifier kept
    recited: int = 0  # kept after moving the citation to the passage that supports it
    dropped: list[DroppedSentence] = Field(default_factory=list)
    fallback: str = ""  # why the extractive answer was served instead ("" when it was not)
    seconds: float = 0.0
    done: bool = False  # False on the partial answers streamed while the model still writes


class Answer(BaseModel):
    question: str
    refused: bool
    message: str = ""  # the refusal text, or a note such as sources disagreeing
    sentences: list[AnswerSentence] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    disclaimer: str = DISCLAIMER
    confidence: float = 0.0  # the answerability model's probability that this answer is right
    refused_by: str = ""  # the check that refused it ("" when answered)
    refusal_reason: str = ""  # that check's reason, for the evaluator
    signals: dict[str, float] = Field(default_factory=dict)  # what the checks and the model read
    backend: Literal["extractive", "llm"] = "extractive"  # who wrote the sentences
    generation: Generation | None = None  # set whenever a language model was asked
    latency_ms: float = 0.0
    retrieved: list[str] = Field(default_factory=list)  # chunk ids in rank order, for evaluation

    def to_text(self, quotes: bool = True) -> str:
        """Readable rendering with [n] markers, for the terminal (and, without the quoted
        lines under each source, for chat clients of the API)."""
        lines: list[str] = []
        if self.message:
            lines.append(self.message)
        lines.extend(sentence_line(s) for s in self.sentences)
        if self.citations:
            lines.append("")
            lines.append("来源：")
            for c in self.citations:
                year = f"（{c.year}）" if c.year else ""
                section = f" · {c.section}" if c.section else ""
                lines.append(f"[{c.id}] {c.title}{year}{section} — {c.source}")
                if quotes:
                    lines.append(f"    「{c.quoted}」")
        lines.append("")
        lines.append(f"⚠ {self.disclaimer}")
        return "\n".join(lines)


class FileProblem(BaseModel):
    source: str
    reason: str  # Chinese, shown to the user as is


class IngestReport(BaseModel):
    build: str = ""
    documents: int = 0
    chunks: int = 0
    embedded: int = 0  # chunks whose vectors were computed (the rest came from the cache)
    seconds: float = 0.0
    problems: list[FileProblem] = Field(default_factory=list)
    swapped: bool = False  # False when the previous index was kept
