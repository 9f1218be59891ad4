"""The passages a training topic is taught from — shared by handouts and quiz banks.

A topic is searched like a question and held to the same relevance floor, so a topic the
base does not cover is refused rather than padded. Of the passages found, only those that
say the topic are kept, national documents before local ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.answer.checks import relevance_floor
from assistant.models import Chunk
from assistant.pipeline import Assistant
from assistant.retrieve import Query, Retriever
from assistant.textnorm import display_text, normalize
from assistant.tokenize import tokenize_normalized

NATIONAL = ("national_regulation", "national_guideline", "society_guideline")
# A digest's quick-reference appendix ("要点速查") restates facts stated in its body.
QUICK_REFERENCE = re.compile(r"速查")


def heading_parts(section: str) -> list[str]:
    """A section path without its trailing numbered lines: a digest's "2. 高血压患者随访时应……"
    is a statement, not a heading ("4.1 按血压水平分类" is a heading)."""
    parts = [p.strip() for p in display_text(section).split(">") if p.strip()]
    while parts and (re.match(r"^\d{1,2}\s*[.、．](?!\d)", parts[-1]) or len(parts[-1]) > 24):
        parts.pop()
    return parts


@dataclass
class TopicPassages:
    query: Query
    retriever: Retriever
    chunks: list[Chunk]  # most relevant first

    def says_topic(self, chunk: Chunk, sentence: str, coverage: float) -> bool:
        """Does this sentence, under its document's title and its section, say the topic? A
        糖尿病转诊 handout or bank wants sentences about 转诊, not any line of a diabetes guideline."""
        said = normalize(f"{chunk.doc.title} {chunk.section} {sentence}")
        return self.retriever.coverage(self.query, set(tokenize_normalized(said)), said) >= coverage

    def with_documents(self, title_coverage: float) -> list[Chunk]:
        """The passages found, then the rest of every document whose title says the topic (at
        least `title_coverage` of it): material on 核心制度 teaches the whole 核心制度要点, not
        only the passages that repeat the words."""
        chunks = list(self.chunks)
        seen = {c.id for c in chunks}
        for source in dict.fromkeys(c.doc.source for c in self.chunks):
            document = self.retriever.document_chunks(source)
            title = normalize(document[0].doc.title)
            if self.retriever.coverage(self.query, set(tokenize_normalized(title)), title) >= title_coverage:
                chunks += [c for c in document if c.id not in seen]
                seen.update(c.id for c in document)
        return chunks


def topic_passages(assistant: Assistant, topic: str, categories: list[str] | None, top_k: int) -> TopicPassages | None:
    """The passages about `topic`, or None when the base does not cover it."""
    settings = assistant.settings
    draft = assistant.draft(topic, None, categories)
    verdict = relevance_floor(draft) if "relevance_floor" in settings.checks else None
    if draft.best is None or (verdict is not None and not verdict.ok):
        return None
    retriever = draft.retriever
    query = draft.question.query
    hits = assistant.search(draft.question, categories, retriever=retriever, top_k=top_k)
    # Only passages that say the topic: a neighbour that shares one word would pad the page.
    kept = [h.chunk for h in hits if retriever.passage_coverage(query, h.chunk) >= settings.handout_coverage]
    # Training teaches the national rules: local plans and work reports only when nothing
    # national covers the topic (a trainer review found a county hospital's own plan and a
    # machine-translated work report read as national rules).
    national = [c for c in kept if c.doc.authority in NATIONAL]
    kept = national or kept
    return TopicPassages(query=query, retriever=retriever, chunks=kept) if kept else None
