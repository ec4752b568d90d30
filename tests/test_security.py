"""Optional bearer auth and CORS, on the real app: off by default, strict when configured."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from conftest import JSON, assert_error_shape
from rsa_qa.config import Settings
from rsa_qa.http.app import create_app
from rsa_qa.search.searcher import Searcher
from rsa_qa.service import Service

API_KEY = "correct-horse-battery-staple"
BEARER = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture(scope="module")
def secured(settings: Settings, searcher: Searcher) -> Iterator[TestClient]:
    secured_settings = Settings(corpus_dir=settings.corpus_dir, index_dir=settings.index_dir, api_key=API_KEY)
    service = Service(secured_settings, searcher=searcher, not_ready_reason=None)
    with TestClient(create_app(secured_settings, service)) as client:
        yield client


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": API_KEY},
        {"Authorization": f"Basic {API_KEY}"},
    ],
    ids=["none", "wrong-key", "no-scheme", "basic-scheme"],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/query"),
        ("GET", "/query?q=IVIG"),
        ("GET", "/ready"),
        ("GET", "/sections"),
        ("GET", "/passages/3.2-01"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("POST", "/admin/reload"),
        ("GET", "/no-such-route"),
    ],
)
def test_every_endpoint_but_health_requires_the_key(
    secured: TestClient, method: str, path: str, headers: dict[str, str]
) -> None:
    body = b'{"query": "IVIG"}' if method == "POST" and path == "/query" else None
    response = secured.request(method, path, content=body, headers={**JSON, **headers})
    assert_error_shape(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


def test_health_is_open_and_the_key_opens_the_rest(secured: TestClient) -> None:
    assert secured.get("/health").status_code == 200
    assert secured.get("/ready", headers=BEARER).status_code == 200
    assert secured.post("/query", json={"query": "IVIG"}, headers=BEARER).status_code == 200
    assert secured.get("/sections", headers={"Authorization": f"bearer {API_KEY}"}).status_code == 200


def test_the_search_page_loads_without_the_key_but_its_queries_need_it(secured: TestClient) -> None:
    page = secured.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert secured.get("/static/app.js").status_code == 200
    assert secured.get("/static/../openapi.json").status_code in (401, 404)
    assert_error_shape(secured.get("/query?q=IVIG"), 401, "unauthorized")


def test_auth_is_checked_before_the_body_is_read(secured: TestClient) -> None:
    response = secured.post("/query", content=b"x" * (Settings().max_body_bytes + 1), headers=JSON)
    assert_error_shape(response, 401, "unauthorized")


def test_openapi_documents_the_bearer_scheme(secured: TestClient) -> None:
    schema = secured.get("/openapi.json", headers=BEARER).json()
    assert schema["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "The key in RSA_QA_API_KEY.",
    }
    assert schema["security"] == [{"bearer": []}]
    assert schema["paths"]["/health"]["get"]["security"] == []
    assert "401" in schema["paths"]["/query"]["post"]["responses"]


# CORS


def test_cors_is_off_by_default(client: TestClient) -> None:
    response = client.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers
    preflight = client.options(
        "/query", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_allows_only_configured_origins(settings: Settings, searcher: Searcher) -> None:
    configured = Settings(api_key=API_KEY, cors_origins="https://app.example, https://other.example")
    assert configured.cors_origins == ["https://app.example", "https://other.example"]
    service = Service(settings, searcher=searcher, not_ready_reason=None)
    with TestClient(create_app(configured, service)) as client:
        preflight = client.options(
            "/query",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert preflight.status_code == 200, "a preflight is answered without the key"
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        refused = client.options(
            "/query", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
        )
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
        answered = client.get("/sections", headers={"Origin": "https://app.example", **BEARER})
        assert answered.headers["access-control-allow-origin"] == "https://app.example"
        assert "x-request-id" in answered.headers["access-control-expose-headers"].lower()
