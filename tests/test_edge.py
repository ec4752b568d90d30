"""The HTTP edge over real sockets: uvicorn as `rsa-qa serve` runs it (http/server.py), small limits.

Each case is what a client this project did not write can do to a server: huge or many
headers, a huge URL, bytes that are not HTTP, a head sent slowly or never, more connections
than allowed, a body abandoned halfway. Every refusal is the API's JSON error shape.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from conftest import serving
from rsa_qa.config import Settings
from rsa_qa.http.app import create_app
from rsa_qa.search.searcher import Searcher
from rsa_qa.service import Service

# Status, headers (lower-cased names), body.
Answer = tuple[int, dict[str, str], bytes]
HEALTH = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
LIMITS = {
    "header_timeout_s": 1.0,
    "max_url_bytes": 4096,
    "max_header_bytes": 8192,
    "max_headers": 30,
    "max_connections": 8,
}


@pytest.fixture(scope="module")
def edge(settings: Settings, searcher: Searcher) -> Iterator[tuple[str, int]]:
    limited = settings.model_copy(update=LIMITS)
    app = create_app(limited, Service(limited, searcher=searcher, not_ready_reason=None))
    with serving(app, limited) as url:
        yield "127.0.0.1", int(url.rsplit(":", 1)[1])


def exchange(address: tuple[str, int], *parts: bytes, pause: float = 0.0) -> Answer:
    """Send the parts (pausing between them), read the answer until the server closes."""
    with socket.create_connection(address, timeout=10) as connection:
        for part in parts:
            try:
                connection.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                break  # refused mid-send: the answer is already waiting
            time.sleep(pause)
        return parse(read_all(connection))


def read_all(connection: socket.socket) -> bytes:
    received = b""
    while True:
        try:
            chunk = connection.recv(65536)
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk


def parse(raw: bytes) -> Answer:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, body


def assert_json_error(answer: Answer, status: int, code: str) -> str:
    got, headers, body = answer
    assert got == status, body
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message", "field"} and error["code"] == code
    return str(error["message"])


def test_a_plain_request_still_works(edge: tuple[str, int]) -> None:
    status, _, body = exchange(edge, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 200 and json.loads(body)["status"] == "ok"


def test_one_huge_header_is_431(edge: tuple[str, int]) -> None:
    answer = exchange(edge, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n")
    assert "8192 bytes" in assert_json_error(answer, 431, "headers_too_large")


def test_too_many_headers_is_431(edge: tuple[str, int]) -> None:
    many = b"".join(b"X-H%d: 1\r\n" % n for n in range(40))
    answer = exchange(edge, b"GET /health HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert "30 headers" in assert_json_error(answer, 431, "headers_too_large")


@pytest.mark.parametrize("length", [5000, 70_000])
def test_a_huge_url_is_414(edge: tuple[str, int], length: int) -> None:
    # 70,000 bytes is past httptools' own URL parser (uint16 offsets): still our answer.
    answer = exchange(edge, b"GET /query?q=" + b"a" * length + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert "4096 bytes" in assert_json_error(answer, 414, "uri_too_long")


def test_bytes_that_are_not_http_get_a_json_400(edge: tuple[str, int]) -> None:
    assert_json_error(exchange(edge, b"\x16\x03\x01 hello\r\n\r\n"), 400, "bad_request")


def test_a_head_sent_too_slowly_is_cut_off(edge: tuple[str, int]) -> None:
    lines = [b"GET /health HTTP/1.1\r\n", *(b"X-Slow-%d: 1\r\n" % n for n in range(10)), b"\r\n"]
    started = time.monotonic()
    answer = exchange(edge, *lines, pause=0.3)
    assert "1 s" in assert_json_error(answer, 408, "request_timeout")
    assert time.monotonic() - started < 5


def test_a_connection_that_sends_nothing_is_closed(edge: tuple[str, int]) -> None:
    with socket.create_connection(edge, timeout=10) as idle:
        assert_json_error(parse(read_all(idle)), 408, "request_timeout")


def test_connections_past_the_limit_get_503_and_the_server_recovers(edge: tuple[str, int]) -> None:
    held = [socket.create_connection(edge, timeout=10) for _ in range(LIMITS["max_connections"])]
    try:
        time.sleep(0.2)
        assert_json_error(
            exchange(edge, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"), 503, "too_many_connections"
        )
    finally:
        for connection in held:
            connection.close()
    time.sleep(0.2)
    status, _, _ = exchange(edge, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 200


def test_a_client_that_leaves_mid_body_is_logged_499_not_500(
    edge: tuple[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rsa_qa.access")
    head = (
        b"POST /query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    for _ in range(3):
        with socket.create_connection(edge, timeout=10) as connection:
            connection.sendall(head + b'{"query": "IVI')
            time.sleep(0.1)
    deadline = time.monotonic() + 5
    while sum(" 499 " in r.getMessage() for r in caplog.records) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = [r.getMessage() for r in caplog.records if "POST /query" in r.getMessage()]
    assert len(lines) == 3 and all(" 499 " in line for line in lines), lines


def test_the_api_key_is_stripped_and_a_refusal_is_logged_without_it(
    settings: Settings, searcher: Searcher, caplog: pytest.LogCaptureFixture
) -> None:
    keyed = Settings(**{**settings.model_dump(), "api_key": "  s3cret-key\n"})
    app = create_app(keyed, Service(keyed, searcher=searcher, not_ready_reason=None))
    caplog.set_level(logging.WARNING, logger="rsa_qa.auth")
    with TestClient(app) as client:
        ok = client.get("/sections", headers={"Authorization": "Bearer s3cret-key"})
        assert ok.status_code == 200
        refused = client.get("/sections", headers={"Authorization": "Bearer guessed-key"})
        assert refused.status_code == 401
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "refused GET /sections" in logged and "wrong" in logged
    assert "guessed-key" not in logged and "s3cret" not in logged


def test_the_response_cache_is_bounded_in_bytes(settings: Settings, searcher: Searcher) -> None:
    budget = 300_000
    bounded = settings.model_copy(update={"cache_bytes": budget, "cache_size": 10_000})
    app = create_app(bounded, Service(bounded, searcher=searcher, not_ready_reason=None))
    with TestClient(app) as client:
        for n in range(20):
            body = {"query": f"IVIG and heparin, question {n}", "top_k": 50, "expand": 3}
            assert client.post("/query", json=body).status_code == 200
        cache = app.state.server.responses
        assert 0 < cache.bytes <= budget
        assert 0 < len(cache) < 20, "each answer is large: the budget holds only some"
