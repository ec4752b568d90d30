"""GET /tools, POST /tools/{name} and POST /query/batch on the real app, model and index."""

from __future__ import annotations

from typing import Any

import jsonschema
import numpy as np
import pytest
from fastapi.testclient import TestClient

from rsa_qa.schemas import MAX_BATCH_QUERIES, BatchQueryResponse, QueryResponse, ToolsResponse
from rsa_qa.search.searcher import Searcher

TOOL_NAMES = ["search_article", "list_sections", "get_passage"]


def test_tools_are_chat_completions_definitions_with_valid_json_schema(client: TestClient) -> None:
    body = client.get("/tools").json()
    ToolsResponse.model_validate(body)
    assert [t["type"] for t in body["tools"]] == ["function"] * 3
    functions = {t["function"]["name"]: t["function"] for t in body["tools"]}
    assert list(functions) == TOOL_NAMES
    for function in functions.values():
        jsonschema.Draft202012Validator.check_schema(function["parameters"])
        assert function["parameters"]["type"] == "object"
        assert function["description"]

    search = functions["search_article"]
    assert "never paraphrase doses, numbers" in search["description"]
    assert search["parameters"]["required"] == ["query"]
    assert set(search["parameters"]["properties"]) == {"query", "top_k", "sections", "docs"}


@pytest.mark.parametrize(
    ("arguments", "valid"),
    [
        ({"query": "What daily IVIG dose did Carp give?"}, True),
        ({"query": "IVIG", "top_k": 3, "sections": ["3.2", "Abstract"]}, True),
        ({"top_k": 3}, False),
        ({"query": "IVIG", "top_k": 0}, False),
        ({"query": "IVIG", "sections": ["3.2; drop table"]}, False),
        ({"query": "IVIG", "docs": ["immunology-rsa-review"]}, True),
        ({"query": "IVIG", "docs": ["../etc/passwd"]}, False),
    ],
)
def test_search_schema_accepts_what_the_api_accepts(
    client: TestClient, arguments: dict[str, Any], valid: bool
) -> None:
    tool = client.get("/tools").json()["tools"][0]["function"]
    validator = jsonschema.Draft202012Validator(tool["parameters"])
    assert validator.is_valid(arguments) is valid
    # The search tool's arguments are a POST /query body.
    assert (client.post("/query", json=arguments).status_code == 200) is valid


def test_tools_for_the_responses_api_are_flat(client: TestClient) -> None:
    chat = client.get("/tools").json()["tools"]
    flat = client.get("/tools", params={"format": "responses"}).json()["tools"]
    assert flat == [{"type": "function", **t["function"]} for t in chat]
    assert client.get("/tools", params={"format": "xml"}).status_code == 422


def test_tools_match_what_mcp_lists(client: TestClient, live_url: str) -> None:
    import anyio
    from mcp import Client

    async def listed() -> dict[str, Any]:
        async with Client(f"{live_url}/mcp") as mcp:
            return {t.name: t.input_schema for t in (await mcp.list_tools()).tools}

    functions = {
        t["function"]["name"]: t["function"]["parameters"] for t in client.get("/tools").json()["tools"]
    }
    assert functions == anyio.run(listed)


def test_calling_a_tool_returns_text_for_the_model_and_json(client: TestClient) -> None:
    body = client.post("/tools/search_article", json={"query": "What daily IVIG dose did Carp give?"}).json()
    assert body["is_error"] is False
    assert "They gave IVIG 400mg/kg per day" in body["content"]
    top = QueryResponse.model_validate(body["structured_content"]).results[0]
    assert top.section.number == "3.2" and top.id in body["content"]


def test_a_failed_tool_call_is_an_error_the_model_can_read(client: TestClient) -> None:
    body = client.post("/tools/get_passage", json={"id": "9.9-99"}).json()
    assert body == {
        "content": "Error executing tool get_passage: no passage with id '9.9-99'; "
        "use the id of a search result",
        "structured_content": None,
        "is_error": True,
    }
    unknown = client.post("/tools/translate", json={})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["field"] == "name"


QUESTIONS = [
    {"query": "What daily IVIG dose did Carp give?", "top_k": 2},
    {"query": "Which study did Liang Baozhu publish?"},
    {"query": "vitamin D", "top_k": 3, "sections": ["3.4"]},
    {"query": "What is the capital of France?", "top_k": 1},
]


def test_batch_answers_each_query_as_query_does_in_order(client: TestClient) -> None:
    response = client.post("/query/batch", json={"queries": QUESTIONS})
    assert response.status_code == 200
    batch = BatchQueryResponse.model_validate(response.json())
    assert [r.query for r in batch.responses] == [q["query"] for q in QUESTIONS]
    for question, answered in zip(QUESTIONS, batch.responses, strict=True):
        single = QueryResponse.model_validate(client.post("/query", json=question).json())
        assert [r.id for r in answered.results] == [r.id for r in single.results]
        assert [r.score for r in answered.results] == pytest.approx(
            [r.score for r in single.results], abs=1e-5
        )
        assert answered.in_scope == single.in_scope
    assert batch.responses[0].results[0].section.number == "3.2"
    assert batch.responses[3].in_scope is False


def test_batch_embeds_all_queries_in_one_model_call(
    client: TestClient, searcher: Searcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    encode = searcher.embedder.encode

    def counting(texts: list[str]) -> np.ndarray:  # the real model, counted
        calls.append(len(texts))
        return encode(texts)

    monkeypatch.setattr(searcher.embedder, "encode", counting)
    assert client.post("/query/batch", json={"queries": QUESTIONS}).status_code == 200
    assert calls == [len(QUESTIONS)]


def test_batch_rows_equal_single_embeddings(searcher: Searcher) -> None:
    questions = [q["query"] for q in QUESTIONS]
    together = searcher.embed_queries(questions)
    alone = np.stack([searcher.embed_query(q) for q in questions])
    np.testing.assert_allclose(together, alone, atol=1e-5)


@pytest.mark.parametrize(
    ("queries", "field"),
    [
        ([], "queries"),
        ([{"query": "IVIG"}] * (MAX_BATCH_QUERIES + 1), "queries"),
        ([{"query": "IVIG"}, {"query": " "}], "queries.1.query"),
        ([{"query": "IVIG", "top_k": 99}], "queries.0.top_k"),
    ],
)
def test_bad_batches_are_422_naming_the_field(client: TestClient, queries: list[Any], field: str) -> None:
    response = client.post("/query/batch", json={"queries": queries})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field
