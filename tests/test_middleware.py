"""Request ids, the access log and the body guard, on the real app."""

from __future__ import annotations

import json
import logging
import queue

import pytest
from fastapi.testclient import TestClient

from conftest import JSON
from rsa_qa.config import Settings
from rsa_qa.http.app import create_app
from rsa_qa.logs import LogWriter, RequestIdFilter
from rsa_qa.search.searcher import Searcher
from rsa_qa.service import Service

SECRET = "zebra-unicorn question about IVIG"


def access_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "rsa_qa.access"]


@pytest.fixture
def capture(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="rsa_qa")
    caplog.handler.addFilter(RequestIdFilter())
    return caplog


def test_access_log_carries_the_request_id_and_never_the_question(
    client: TestClient, capture: pytest.LogCaptureFixture
) -> None:
    client.get("/query", params={"q": SECRET}, headers={"X-Request-ID": "trace-1"})
    client.post("/query", json={"query": SECRET}, headers={"X-Request-ID": "trace-2"})
    lines = access_lines(capture)
    assert [r.request_id for r in lines] == ["trace-1", "trace-2"]  # type: ignore[attr-defined]
    assert " GET /query 200 " in lines[0].getMessage()
    assert " POST /query 200 " in lines[1].getMessage()
    assert all("zebra" not in r.getMessage() for r in capture.records)


def test_the_question_is_logged_when_configured(
    settings: Settings, searcher: Searcher, capture: pytest.LogCaptureFixture
) -> None:
    logged = Settings(corpus_dir=settings.corpus_dir, index_dir=settings.index_dir, log_queries=True)
    with TestClient(create_app(logged, Service(logged, searcher=searcher, not_ready_reason=None))) as client:
        client.get("/query", params={"q": SECRET})
        client.post("/query", json={"query": SECRET})
    messages = [r.getMessage() for r in access_lines(capture)]
    assert "GET /query?q=zebra-unicorn+question+about+IVIG 200" in messages[0]
    assert SECRET in messages[1]


def test_log_lines_inside_a_route_carry_its_request_id(
    settings: Settings, searcher: Searcher, capture: pytest.LogCaptureFixture
) -> None:
    """The id follows the request into the thread pool, where sync routes and reloads run."""
    service = Service(settings, searcher=searcher, not_ready_reason=None)
    with TestClient(create_app(settings, service)) as client:
        assert client.post("/admin/reload", headers={"X-Request-ID": "reload-7"}).status_code == 200
    loaded = [r for r in capture.records if r.name == "rsa_qa.service"]
    assert loaded and loaded[0].request_id == "reload-7"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8"]
)
def test_json_bodies_pass_unchanged(client: TestClient, content_type: str) -> None:
    body = json.dumps({"query": "What daily IVIG dose did Carp give?", "top_k": 1}).encode()
    response = client.post("/query", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 200
    assert response.json()["results"][0]["section"]["number"] == "3.2"


def test_a_body_of_exactly_the_limit_is_read(settings: Settings, searcher: Searcher) -> None:
    small = Settings(corpus_dir=settings.corpus_dir, index_dir=settings.index_dir, max_body_bytes=1024)
    with TestClient(create_app(small, Service(small, searcher=searcher, not_ready_reason=None))) as client:
        padding = 1024 - len(json.dumps({"query": "IVIG", "top_k": 1}).encode())
        body = b'{"query": "IVIG", "top_k": 1' + b" " * padding + b"}"
        assert len(body) == 1024
        assert client.post("/query", content=body, headers=JSON).status_code == 200
        assert client.post("/query", content=body + b" ", headers=JSON).status_code == 413


def test_openapi_documents_every_error_answer(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"401", "413", "415", "422"} <= set(paths["/query"]["post"]["responses"])
    assert "413" not in paths["/sections"]["get"]["responses"]
    assert "401" not in paths["/health"]["get"]["responses"]
    assert {"200", "401", "409"} <= set(paths["/admin/reload"]["post"]["responses"])


class _FlakyStream:
    """A stream whose first write fails, as a closed stderr would."""

    def __init__(self) -> None:
        self.writes: list[str] = []
        self.failed = False

    def write(self, text: str) -> None:
        if not self.failed:
            self.failed = True
            raise OSError("stream closed")
        self.writes.append(text)

    def flush(self) -> None:
        pass


def _record(message: str) -> logging.LogRecord:
    record = logging.LogRecord("rsa_qa.test", logging.INFO, __file__, 1, message, None, None)
    record.request_id = "r1"
    return record


def test_log_writer_writes_queued_lines_in_order_and_survives_a_failed_write() -> None:
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    writer = LogWriter(records, interval=3600)  # written out only when asked, or on stop
    writer.stream = stream = _FlakyStream()  # type: ignore[assignment]
    writer.start()
    records.put(_record("lost"))
    writer.write_out()
    for message in ("first", "second"):
        records.put(_record(message))
    writer.stop()  # writes out what is queued before it returns
    assert len(stream.writes) == 1
    lines = stream.writes[0].splitlines()
    assert [line.rsplit(": ", 1)[1] for line in lines] == ["first", "second"]
    assert all("INFO [r1] rsa_qa.test" in line for line in lines)
