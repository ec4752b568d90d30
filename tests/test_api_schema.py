"""The API fuzzed from its own OpenAPI schema with schemathesis, on the real app, model and index.

Every operation gets valid and invalid requests (missing fields, wrong types, values out of
range, unexpected parameters), and every check schemathesis has is run on every answer:
no 5xx, only declared statuses, content types, headers and bodies, valid data accepted,
invalid data refused, 405s with Allow, and the rest of `--checks all`.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient

from conftest import CORPUS
from rsa_qa.config import Settings
from rsa_qa.http.app import create_app
from rsa_qa.http.openapi import with_filter_values
from rsa_qa.pipeline.corpus import corpus_files, read_document
from rsa_qa.search.searcher import Searcher
from rsa_qa.service import Service

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", 100))
CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"mode": "all", "max-examples": EXAMPLES, "deterministic": True, "database": "none"},
        # Every check schemathesis has, none excluded (`--checks all`).
        "checks": {"enabled": True},
        "phases": {"stateful": {"enabled": False}},
    }
)


@pytest.fixture(scope="module")
def app(settings: Settings, searcher: Searcher) -> FastAPI:
    # A service of its own: the fuzzer calls POST /admin/reload, which must not touch other tests.
    return create_app(settings, Service(settings, searcher=searcher, not_ready_reason=None))


def _filter_values() -> tuple[list[str], list[str]]:
    """The sections and documents of the corpus, as the served schema lists them, read with
    the pipeline but without the model (the schema is needed when tests are collected)."""
    sections: list[str] = []
    docs = []
    for source in corpus_files(CORPUS):
        document = read_document(source)
        docs.append(source.doc_id)
        held = [p.section for p in document.paragraphs]
        sections += [s.number or s.key for s in dict.fromkeys(held)]
    return list(dict.fromkeys(sections)), docs


# The schema the app serves once its index is loaded; a test checks that it is the same.
schema = schemathesis.openapi.from_dict(
    with_filter_values(create_app(Settings()).openapi(), *_filter_values()), config=CONFIG
)


@schema.parametrize()
def test_every_answer_is_declared_and_none_is_a_server_error(case: schemathesis.Case, app: FastAPI) -> None:
    case.call_and_validate(app=app)


def test_the_served_schema_lists_the_filters_values(client: TestClient, searcher: Searcher) -> None:
    served = client.get("/openapi.json").json()
    request = served["components"]["schemas"]["QueryRequest"]["properties"]
    sections, docs = searcher.filter_values()
    assert request["sections"]["anyOf"][0]["items"]["enum"] == sections and "3.2" in sections
    assert request["docs"]["anyOf"][0]["items"]["enum"] == docs
    assert served == schema.raw_schema, "the fuzzed schema is the one served"
    # Without an index the schema is the generated one, values unlisted.
    assert "enum" not in str(create_app(Settings()).openapi()["components"]["schemas"]["QueryRequest"])


def test_the_schema_is_the_same_every_time_it_is_asked_for(client: TestClient) -> None:
    first, second = (client.get("/openapi.json").json() for _ in range(2))
    assert first == second
    assert "413" in first["paths"]["/query"]["post"]["responses"]
