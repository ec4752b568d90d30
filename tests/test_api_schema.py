"""The API fuzzed from its own OpenAPI schema with schemathesis, on the real app, model and index.

Every operation gets valid and invalid requests (missing fields, wrong types, values out of
range, unexpected parameters); every answer must be a non-5xx status the schema declares,
with the content type and body it declares.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rsa_qa.config import Settings
from rsa_qa.http.app import create_app
from rsa_qa.search.searcher import Searcher
from rsa_qa.service import Service

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", 100))
CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"mode": "all", "max-examples": EXAMPLES, "deterministic": True, "database": "none"},
        "checks": {
            "enabled": False,
            "not_a_server_error": {"enabled": True},
            "status_code_conformance": {"enabled": True},
            "content_type_conformance": {"enabled": True},
            "response_schema_conformance": {"enabled": True},
            "response_headers_conformance": {"enabled": True},
        },
        "phases": {"stateful": {"enabled": False}},
    }
)


# The schema as the app publishes it; building the app starts nothing (no model, no index).
schema = schemathesis.openapi.from_dict(create_app(Settings()).openapi(), config=CONFIG)


@pytest.fixture(scope="module")
def app(settings: Settings, searcher: Searcher) -> FastAPI:
    # A service of its own: the fuzzer calls POST /admin/reload, which must not touch other tests.
    return create_app(settings, Service(settings, searcher=searcher, not_ready_reason=None))


@schema.parametrize()
def test_every_answer_is_declared_and_none_is_a_server_error(case: schemathesis.Case, app: FastAPI) -> None:
    case.call_and_validate(app=app)


def test_the_fuzzed_schema_is_the_one_served(client: TestClient) -> None:
    assert client.get("/openapi.json").json() == schema.raw_schema
