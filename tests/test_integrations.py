"""GET /tools, POST /tools/{name} and POST /query/batch on the real app, model and index."""

from __future__ import annotations

from typing import Any

import jsonschema
import numpy as np
import pytest
from fastapi.testclient import TestClient

from rsa_qa.schemas import (
    MAX_BATCH_QUERIES,
    BatchQueryResponse,
    QueryRequest,
    QueryResponse,
    ToolsResponse,
    strict_schema,
)
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
    assert search["strict"] is True
    assert search["parameters"]["required"] == ["query", "top_k", "sections", "docs"]


# OpenAI's rules for strict function calling ("Structured Outputs: supported schemas"), written
# from its documentation, independently of the code that produces the definitions.
UNSUPPORTED_IN_STRICT = {
    "allOf", "not", "oneOf", "if", "then", "else", "dependentRequired", "dependentSchemas",
    "patternProperties", "unevaluatedProperties", "propertyNames", "minProperties",
    "maxProperties", "uniqueItems", "contains", "minLength", "maxLength", "default", "examples",
}  # fmt: skip
MAX_NESTING, MAX_PROPERTIES, MAX_ENUM_VALUES = 10, 5000, 1000


def strict_mode_problems(schema: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    properties_seen = 0
    if schema.get("type") != "object" or "anyOf" in schema:
        problems.append("the root is not a plain object")

    def walk(node: dict[str, Any], where: str, depth: int) -> None:
        nonlocal properties_seen
        if depth > MAX_NESTING:
            problems.append(f"{where}: nested deeper than {MAX_NESTING}")
        problems.extend(f"{where}: {key} is not supported" for key in UNSUPPORTED_IN_STRICT & set(node))
        if len(node.get("enum", [])) > MAX_ENUM_VALUES:
            problems.append(f"{where}: more than {MAX_ENUM_VALUES} enum values")
        if node.get("type") == "object" or "properties" in node:
            properties = node.get("properties", {})
            properties_seen += len(properties)
            if node.get("additionalProperties") is not False:
                problems.append(f"{where}: additionalProperties is not false")
            if sorted(node.get("required", [])) != sorted(properties):
                problems.append(f"{where}: not every property is required")
            for name, sub in properties.items():
                walk(sub, f"{where}.{name}", depth + 1)
        for name, sub in node.get("$defs", {}).items():
            walk(sub, f"{where}.$defs.{name}", depth)
        if "items" in node:
            walk(node["items"], f"{where}[]", depth + 1)
        for n, option in enumerate(node.get("anyOf", [])):
            walk(option, f"{where}|{n}", depth)

    walk(schema, "parameters", 1)
    if properties_seen > MAX_PROPERTIES:
        problems.append(f"more than {MAX_PROPERTIES} properties")
    return problems


@pytest.mark.parametrize("api_format", ["chat", "responses"])
def test_every_tool_definition_satisfies_openai_strict_mode(client: TestClient, api_format: str) -> None:
    tools = client.get("/tools", params={"format": api_format}).json()["tools"]
    for tool in tools:
        function = tool.get("function", tool)
        assert function["strict"] is True
        assert strict_mode_problems(function["parameters"]) == [], function["name"]


def test_the_strict_check_finds_what_plain_json_schema_would_break(client: TestClient) -> None:
    from rsa_qa.schemas import SearchArguments

    problems = strict_mode_problems(SearchArguments.model_json_schema())
    assert any("not every property is required" in p for p in problems)
    assert any("minLength is not supported" in p for p in problems)
    assert any("default is not supported" in p for p in problems)


@pytest.mark.parametrize(
    ("arguments", "valid"),
    [
        ({"query": "What daily IVIG dose did Carp give?"}, True),
        ({"query": "IVIG", "top_k": 3, "sections": ["3.2", "Abstract"]}, True),
        ({"top_k": 3}, False),
        ({"query": "IVIG", "top_k": 0}, False),
        ({"query": "IVIG", "top_k": "3"}, False),
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
    # A strict-mode model sends every argument, null for the ones it leaves at their default.
    sent = {name: arguments.get(name) for name in tool["parameters"]["properties"]}
    assert validator.is_valid(sent) is valid
    called = client.post("/tools/search_article", json=sent).json()
    assert called["is_error"] is not valid, called["content"]
    # The search tool's arguments are a POST /query body.
    assert (client.post("/query", json=arguments).status_code == 200) is valid


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"query": "IVIG", "k": 3}, "k"),
        ({"query": "IVIG", "top_k": "3"}, "top_k"),
        ({"query": "IVIG", "top_k": True}, "top_k"),
        ({"query": " "}, "query is blank"),
    ],
)
def test_a_tool_call_the_api_would_refuse_is_refused_naming_the_field(
    client: TestClient, arguments: dict[str, Any], named: str
) -> None:
    body = client.post("/tools/search_article", json=arguments).json()
    assert body["is_error"] is True
    assert body["content"].startswith("search_article: ") and named in body["content"]
    assert "pydantic" not in body["content"]


def test_null_arguments_mean_their_defaults(client: TestClient) -> None:
    question = "What daily IVIG dose did Carp give?"
    nulls = {"query": question, "top_k": None, "sections": None, "docs": None}
    called = client.post("/tools/search_article", json=nulls).json()["structured_content"]
    plain = client.post("/query", json={"query": question}).json()
    assert [r["id"] for r in called["results"]] == [r["id"] for r in plain["results"]]
    assert len(called["results"]) == 5


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
    listed_by_mcp = anyio.run(listed)
    assert functions == {name: strict_schema(schema) for name, schema in listed_by_mcp.items()}
    # MCP publishes the same contract the HTTP API checks.
    assert (
        listed_by_mcp["search_article"]["properties"]["query"]
        == (QueryRequest.model_json_schema()["properties"]["query"])
    )


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
