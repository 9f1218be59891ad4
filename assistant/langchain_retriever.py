"""zhiyi's search as a LangChain retriever, so a site can put it into its own chains.

    from assistant.langchain_retriever import ZhiyiRetriever
    docs = ZhiyiRetriever(k=5).invoke("高血压患者多久随访一次")

It returns the passages the answer engine would quote from — hybrid search (e5 + BM25 +
dictionary route), then the learned passage ranker — as `Document`s whose metadata say
where each passage is (title, section, source file, character offsets) and how it ranked.
No answer is composed and no check runs: refusing is the caller's business here.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, PrivateAttr

from assistant.config import Settings, load_settings
from assistant.pipeline import Assistant


class ZhiyiRetriever(BaseRetriever):
    """Passages from the zhiyi index over `settings` (the usual ``ZHIYI_*`` configuration
    when not given). `k` passages per query; `categories` restricts the document kinds
    (chronic, referral, core_system, management)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    settings: Settings | None = None
    k: int = 5
    categories: list[str] | None = None
    _assistant: Assistant | None = PrivateAttr(default=None)

    def _engine(self) -> Assistant:
        if self._assistant is None:
            self._assistant = Assistant(self.settings or load_settings())
        return self._assistant

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        k = int(kwargs.get("k", self.k))
        if k <= 0 or not query.strip():
            return []
        hits = self._engine().retrieve(query, categories=kwargs.get("categories", self.categories), top_k=k)
        return [
            Document(
                id=hit.chunk.id,
                page_content=hit.chunk.text,
                metadata={
                    "title": hit.chunk.doc.title,
                    "section": hit.chunk.section,
                    "source": hit.chunk.doc.source,
                    "original": hit.chunk.doc.original,
                    "category": hit.chunk.doc.category,
                    "authority": hit.chunk.doc.authority,
                    "year": hit.chunk.doc.year,
                    "start": hit.chunk.start,
                    "end": hit.chunk.end,
                    "lang": hit.chunk.lang,
                    "rank": rank,
                    "score": round(float(hit.score), 6),
                    "dense": round(float(hit.dense), 6),
                },
            )
            for rank, hit in enumerate(hits[:k], start=1)
        ]
