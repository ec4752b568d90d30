"""The LangChain retriever against the real app served by uvicorn (the live_url fixture)."""

from __future__ import annotations

import socket
from typing import Any

import anyio
import pytest
from langchain_core.documents import Document
from pydantic import ValidationError

from rsa_qa.langchain import RsaQaRetriever, ServiceError

IVIG_DOSE = "What daily IVIG dose did Carp give?"


def test_invoke_returns_passages_with_section_citations_score_and_id(live_url: str) -> None:
    docs = RsaQaRetriever(base_url=live_url, top_k=3).invoke(IVIG_DOSE)
    assert len(docs) == 3
    first = docs[0]
    assert isinstance(first, Document)
    assert first.id == first.metadata["id"] and first.id.endswith("3.2-03")
    assert "They gave IVIG 400mg/kg per day" in first.page_content
    assert first.metadata["section"] == "3.2"
    assert first.metadata["section_title"] == "Immunoglobulin intravenous infusion therapy in RSA"
    assert first.metadata["rank"] == 1
    assert first.metadata["score"] > docs[1].metadata["score"]
    assert first.metadata["in_scope"] is True
    assert all(h in first.page_content for h in first.metadata["highlights"])


def test_citations_are_full_references(live_url: str) -> None:
    docs = RsaQaRetriever(base_url=live_url, top_k=1).invoke("Which study did Liang Baozhu publish?")
    # The passage that cites the study, or the reference entry itself: both carry it in full.
    assert docs[0].metadata["section"] in ("3.1", "References")
    [citation] = docs[0].metadata["citations"]
    assert citation["marker"] == "[3]"
    assert citation["citation"].startswith("Liang Baozhu. Clinical study")


def test_sections_and_unnumbered_parts(live_url: str) -> None:
    retriever = RsaQaRetriever(base_url=live_url + "/", top_k=5, sections=["Abstract"])
    docs = retriever.invoke("immunotherapy")
    assert [d.metadata["section"] for d in docs] == ["Abstract"]


def test_async_matches_sync(live_url: str) -> None:
    retriever = RsaQaRetriever(base_url=live_url, top_k=3)

    async def ask() -> list[Document]:
        return await retriever.ainvoke(IVIG_DOSE)

    assert [d.id for d in anyio.run(ask)] == [d.id for d in retriever.invoke(IVIG_DOSE)]


def test_top_k_given_to_invoke_is_for_that_call_only(live_url: str) -> None:
    retriever = RsaQaRetriever(base_url=live_url, top_k=4)
    one = retriever.invoke(IVIG_DOSE, top_k=1)
    assert len(one) == 1 and one[0].metadata["id"].endswith("3.2-03")
    assert len(retriever.invoke(IVIG_DOSE, top_k=2)) == 2
    assert len(retriever.invoke(IVIG_DOSE, top_k=None)) == 4
    assert len(retriever.invoke(IVIG_DOSE)) == 4

    async def ask() -> list[Document]:
        return await retriever.ainvoke(IVIG_DOSE, top_k=2)

    assert [d.id for d in anyio.run(ask)] == [d.id for d in retriever.invoke(IVIG_DOSE)][:2]


def test_top_k_given_to_invoke_is_checked_like_the_api_checks_it(live_url: str) -> None:
    retriever = RsaQaRetriever(base_url=live_url)
    for bad in (0, 51, "3", True):
        with pytest.raises(ServiceError, match="top_k"):
            retriever.invoke(IVIG_DOSE, top_k=bad)


def test_another_keyword_to_invoke_is_refused(live_url: str) -> None:
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'k'; the only one it takes is top_k"):
        RsaQaRetriever(base_url=live_url).invoke(IVIG_DOSE, k=1)


def test_an_unknown_field_is_refused_not_ignored() -> None:
    # LangChain's usual `k` is not an alias of top_k: refused, where it used to be ignored.
    k: dict[str, Any] = {"k": 2}
    with pytest.raises(ValidationError, match=r"unknown argument 'k'; the number of passages is top_k"):
        RsaQaRetriever(**k)
    section: dict[str, Any] = {"top_k": 2, "section": ["3.2"]}
    with pytest.raises(ValidationError, match=r"unknown argument 'section'; RsaQaRetriever takes .*sections"):
        RsaQaRetriever(**section)
    with pytest.raises(ValidationError, match="top_k"):
        RsaQaRetriever(top_k=0)
    assert RsaQaRetriever(top_k=2, name="rsa", tags=["t"], metadata={"m": 1}).top_k == 2


def test_a_query_the_service_would_refuse_is_a_service_error_before_sending() -> None:
    # Nothing listens here: the error is the query's, not the connection's.
    retriever = RsaQaRetriever(base_url="http://127.0.0.1:9", timeout=1)
    with pytest.raises(ServiceError, match="query is blank; ask a question of 1 to 1000 characters"):
        retriever.invoke("  ")
    with pytest.raises(ServiceError, match="query is blank"):
        anyio.run(retriever.ainvoke, "")
    with pytest.raises(ServiceError, match=r"sections\.0: String should match pattern"):
        RsaQaRetriever(base_url="http://127.0.0.1:9", sections=["3.2; drop"]).invoke("IVIG")


def test_an_error_answer_is_one_clear_error(live_url: str) -> None:
    with pytest.raises(ServiceError, match="answered 404: Not Found"):
        RsaQaRetriever(base_url=f"{live_url}/not-here").invoke("IVIG")


def test_a_service_that_is_not_running_says_so() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ServiceError, match=r"cannot reach rsa-qa at .*start it with `make run`"):
        RsaQaRetriever(base_url=f"http://127.0.0.1:{port}", timeout=5).invoke("IVIG")
