"""ZhiyiRetriever against LangChain's standard retriever test suite (langchain-tests),
on a real index of the fixture corpus with the real bundled embedding model."""

from __future__ import annotations

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from assistant.langchain_retriever import ZhiyiRetriever


@pytest.fixture(scope="module", autouse=True)
def _index(corpus_settings):
    TestZhiyiRetrieverStandard.settings = corpus_settings


class TestZhiyiRetrieverStandard(RetrieversIntegrationTests):
    settings = None

    @property
    def retriever_constructor(self) -> type[ZhiyiRetriever]:
        return ZhiyiRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"settings": self.settings, "k": 2}

    @property
    def retriever_query_example(self) -> str:
        return "双向转诊"


def test_documents_carry_where_the_passage_is(corpus_settings):
    docs = ZhiyiRetriever(settings=corpus_settings, k=3).invoke("智医助理项目经费怎么分担？")
    assert [d.metadata["rank"] for d in docs] == [1, 2, 3]
    top = docs[0]
    assert "7:3" in top.page_content and top.metadata["source"] == "docs/plan.txt"
    raw = (corpus_settings.knowledge_dir / "docs" / "plan.txt").read_text(encoding="utf-8")
    assert raw[top.metadata["start"]:top.metadata["end"]] == top.page_content  # offsets point into the file
    only = ZhiyiRetriever(settings=corpus_settings, k=3, categories=["core_system"]).invoke("经费")
    assert all(d.metadata["category"] == "core_system" for d in only)
