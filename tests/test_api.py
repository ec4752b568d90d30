"""The HTTP contract, through FastAPI's TestClient on the real app and index."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rsa_qa.config import Settings
from rsa_qa.http.app import create_app
from rsa_qa.schemas import QueryResponse


def test_query_contract(client: TestClient) -> None:
    response = client.post("/query", json={"query": "What daily IVIG dose did Carp give?"})
    assert response.status_code == 200
    body = response.json()
    QueryResponse.model_validate(body)
    assert set(body) == {
        "query",
        "results",
        "in_scope",
        "in_scope_probability",
        "reason",
        "index_version",
        "took_ms",
    }
    assert body["in_scope"] is True and 0 < body["in_scope_probability"] <= 1
    assert len(body["results"]) == 5
    top = body["results"][0]
    assert top["rank"] == 1
    assert top["section"] == {
        "number": "3.2",
        "title": "Immunoglobulin intravenous infusion therapy in RSA",
        "path": [
            "3 Advances in immunotherapy for immunological factors in recurrent abortion",
            "3.2 Immunoglobulin intravenous infusion therapy in RSA",
        ],
    }
    assert "400mg/kg" in top["text"]
    assert top["scores"]["fused"] == top["score"]
    assert body["in_scope"] is True


def test_references_are_resolved_to_full_citations(client: TestClient) -> None:
    body = client.post(
        "/query", json={"query": "Which reference concerns ACA conversion with low molecular heparin?"}
    ).json()
    cited = [r for result in body["results"] for r in result["references"]]
    assert {"number": 4, "marker": "[4]"}.items() <= cited[0].items()
    assert cited[0]["citation"].startswith("Wu Jing, Huang Huamei")


def test_unnumbered_sections_have_null_number(client: TestClient) -> None:
    body = client.post("/query", json={"query": "keywords", "sections": ["Keywords"]}).json()
    assert body["results"][0]["section"] == {"number": None, "title": "Keywords", "path": ["Keywords"]}


def test_get_query_matches_post(client: TestClient) -> None:
    got = client.get("/query", params={"q": "What daily IVIG dose did Carp give?", "top_k": 3}).json()
    posted = client.post("/query", json={"query": "What daily IVIG dose did Carp give?", "top_k": 3}).json()
    assert [r["id"] for r in got["results"]] == [r["id"] for r in posted["results"]]


def test_sections_filter_includes_subsections(client: TestClient) -> None:
    body = client.post("/query", json={"query": "treatment", "top_k": 50, "sections": ["3"]}).json()
    assert {r["section"]["number"] for r in body["results"]} <= {"3.1", "3.2", "3.3", "3.4"}


BAD_REQUESTS: list[tuple[dict[str, Any], str]] = [
    ({"query": ""}, "query"),
    ({"query": "   \n\t "}, "query"),
    ({"query": "x" * 1001}, "query"),
    ({"query": "ok", "top_k": 0}, "top_k"),
    ({"query": "ok", "top_k": 51}, "top_k"),
    ({"query": "ok", "top_k": "five"}, "top_k"),
    ({"query": "ok", "sections": ["3.2; drop table"]}, "sections.0"),
    ({"query": "ok", "min_score": 2}, "min_score"),
    ({"query": "ok", "unknown": 1}, "unknown"),
    ({"top_k": 3}, "query"),
    ({"query": 42}, "query"),
]


@pytest.mark.parametrize(("body", "field"), BAD_REQUESTS)
def test_bad_input_is_a_422_naming_the_field(client: TestClient, body: dict[str, Any], field: str) -> None:
    response = client.post("/query", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["field"] == field
    assert field.split(".")[0] in error["message"]


def test_the_query_limit_counts_what_was_sent_as_the_schema_says(client: TestClient) -> None:
    # maxLength in the OpenAPI schema applies to the string as sent, whitespace included.
    assert client.post("/query", json={"query": "  " + "a" * 996 + "  "}).status_code == 200
    response = client.post("/query", json={"query": "  " + "a" * 997 + "  "})
    assert response.status_code == 422
    assert "1000" in response.json()["error"]["message"]


def test_invalid_json_is_a_422(client: TestClient) -> None:
    response = client.post("/query", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["message"] == "the request body is not valid JSON"


def test_blank_get_query_names_q(client: TestClient) -> None:
    response = client.get("/query", params={"q": " "})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "q"


def test_sections_endpoint(client: TestClient) -> None:
    sections = client.get("/sections").json()["sections"]
    numbers = [s["number"] for s in sections]
    assert numbers == [None, None, None, "1", "2", "3", "3.1", "3.2", "3.3", "3.4", "4", None]
    assert sections[-1]["title"] == "References"
    counts = {s["number"] or s["title"]: s["passage_count"] for s in sections}
    assert counts["3"] == 0 and counts["References"] == 5, "each reference entry is a passage"
    assert all(counts[n] >= 1 for n in ("Abstract", "1", "2", "3.1", "3.2", "3.3", "3.4", "4"))


def test_references_endpoint(client: TestClient) -> None:
    references = client.get("/references").json()["references"]
    assert [r["marker"] for r in references] == ["[1]", "[2]", "[3]", "[4]", "[5]"]
    assert references[2]["citation"].startswith("Liang Baozhu. Clinical study")


def test_passage_by_id(client: TestClient) -> None:
    hit = client.post("/query", json={"query": "Carp IVIG 400mg/kg"}).json()["results"][0]
    passage = client.get(f"/passages/{hit['id']}").json()
    assert passage["text"] == hit["text"]
    assert passage["section"] == hit["section"]
    assert passage["end"] > passage["start"]


def test_unknown_passage_is_404(client: TestClient) -> None:
    response = client.get("/passages/no-such-id")
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": "no passage with id 'no-such-id'; use the id of a search result",
        "field": "passage_id",
    }


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["ready"] is True


def test_openapi_documents_the_contract(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/query", "/sections", "/references", "/passages/{passage_id}", "/ready"} <= set(schema["paths"])
    assert "ErrorResponse" in schema["components"]["schemas"]
    assert client.get("/docs").status_code == 200


def test_without_an_index_ready_is_503_and_queries_say_why(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "missing", corpus_dir=tmp_path)
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").status_code == 200
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert "make index" in ready.json()["reason"]
        response = client.post("/query", json={"query": "IVIG"})
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "not_ready"


def test_a_repeated_question_is_answered_from_the_cache(client: TestClient) -> None:
    server = client.app.state.server  # type: ignore[attr-defined]
    body = {"query": "Which anticoagulant dose was given with aspirin?", "top_k": 3}
    first = client.post("/query", json=body).json()
    hits = server.responses.hits
    second = client.post("/query", json=body).json()
    assert server.responses.hits == hits + 1
    assert {**first, "took_ms": 0} == {**second, "took_ms": 0}
    other = client.post("/query", json={**body, "top_k": 1}).json()
    assert len(other["results"]) == 1, "options are part of the key"


def test_concurrent_queries_get_the_answers_they_would_get_alone(client: TestClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    questions = [f"{q} (variant {i})" for i in range(4) for q in ("IVIG dose", "heparin", "vitamin D")]
    alone = {
        q: [r["id"] for r in client.post("/query", json={"query": q}).json()["results"]] for q in questions
    }
    client.app.state.server.responses.clear()  # type: ignore[attr-defined]
    client.app.state.server.encoder.vectors.clear()  # type: ignore[attr-defined]
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(lambda q: client.post("/query", json={"query": q}).json(), questions))
    for question, body in zip(questions, together, strict=True):
        assert [r["id"] for r in body["results"]] == alone[question]


def test_an_unknown_section_or_document_is_a_422_naming_it(client: TestClient) -> None:
    for body, field in (
        ({"query": "IVIG dose", "sections": ["9"]}, "sections"),
        ({"query": "IVIG dose", "docs": ["no-such-article"]}, "docs"),
    ):
        response = client.post("/query", json=body)
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["field"] == field and repr(body[field][0]) in error["message"]
    batch = client.post(
        "/query/batch", json={"queries": [{"query": "IVIG"}, {"query": "IVIG", "sections": ["9.9"]}]}
    )
    assert batch.status_code == 422 and batch.json()["error"]["field"] == "queries.1.sections"
    assert client.get("/query", params={"q": "IVIG", "sections": "9"}).status_code == 422


def test_the_verdict_under_a_filter_is_about_the_filtered_passages(client: TestClient) -> None:
    question = "What dose of IVIG did Christiansen give?"
    everywhere = client.post("/query", json={"query": question}).json()
    assert everywhere["in_scope"] is True
    for section in ("1", "Front matter"):
        filtered = client.post("/query", json={"query": question, "sections": [section]}).json()
        assert filtered["in_scope"] is False, (section, filtered["reason"])
        assert filtered["in_scope_probability"] < everywhere["in_scope_probability"]
    where_it_is = client.post("/query", json={"query": question, "sections": ["3.2"]}).json()
    assert where_it_is["in_scope"] is True
