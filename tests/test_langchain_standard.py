"""LangChain's own conformance suite for retrievers (langchain-tests), against the real app.

RetrieversIntegrationTests brings its tests: the number of results as a constructor field
and as an invoke keyword (both top_k here), invoke and ainvoke returning Documents, and a
check that none of its tests is overridden or deleted.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from rsa_qa.langchain import RsaQaRetriever


class TestRsaQaRetrieverStandard(RetrieversIntegrationTests):
    base_url: str

    @pytest.fixture(autouse=True)
    def _service(self, live_url: str) -> None:
        # The suite builds retrievers from retriever_constructor_params, some outside any
        # fixture, so the server's address is set on the test's instance before it runs.
        self.base_url = live_url

    @property
    def retriever_constructor(self) -> type[RsaQaRetriever]:
        return RsaQaRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        # Not 1 or 3, the counts the suite asks for, so that a count it gets is the one it asked.
        return {"base_url": self.base_url, "top_k": 5}

    @property
    def retriever_query_example(self) -> str:
        return "What daily IVIG dose did Carp give?"

    @property
    def num_results_arg_name(self) -> str:
        return "top_k"
