"""`rsa-qa serve` as a process, with the real model: a server's life from no index to SIGTERM.

The tests run in order against one server on 127.0.0.1: it starts without an index, gets
one by SIGHUP, refuses a stale reload, swaps in a rebuilt index under traffic, and stops on
SIGTERM only after the request in flight has its answer.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from conftest import CORPUS
from rsa_qa.config import Settings
from rsa_qa.pipeline.embed import Embedder
from rsa_qa.service import build_index
from rsa_qa.store.load import LoadedIndex
from rsa_qa.store.manifest import read_manifest

RSA_QA = str(Path(sys.executable).with_name("rsa-qa"))
SECRET = "okapi-narwhal"


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    settings: Settings
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for_log(self, text: str, timeout: float = 10) -> None:
        """The server's log is written by another process, a little after the response."""
        deadline = time.monotonic() + timeout
        while text not in self.log_text():
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not logged:\n{self.log_text()}")
            time.sleep(0.1)

    def wait_ready(self, version: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = httpx.get(f"{self.url}/ready", timeout=10)
            if ready.status_code == 200 and ready.json()["index_version"] == version:
                return
            time.sleep(0.2)
        raise AssertionError(f"not ready with {version}:\n{self.log_text()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("serve")
    settings = Settings(corpus_dir=shutil.copytree(CORPUS, root / "corpus"), index_dir=root / "index")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSA_QA_")}
    env |= {"RSA_QA_CORPUS_DIR": str(settings.corpus_dir), "RSA_QA_SHUTDOWN_GRACE_S": "30"}
    log = root / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [RSA_QA, "serve", "--port", "0", "--index-dir", str(settings.index_dir)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=root,
        )
    try:
        url = _wait_for_start(process, log)
        yield Server(process, url, settings, log)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)


def _wait_for_start(process: subprocess.Popen[bytes], log: Path, timeout: float = 180) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", log.read_text(errors="replace"))
        if found:
            return found.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"the server did not start:\n{log.read_text(errors='replace')}")


def test_without_an_index_it_runs_says_what_to_run_and_is_not_ready(server: Server) -> None:
    assert httpx.get(f"{server.url}/health").status_code == 200
    ready = httpx.get(f"{server.url}/ready")
    assert ready.status_code == 503
    assert "make index" in ready.json()["reason"]
    assert "not ready: no index in" in server.log_text() and "make index" in server.log_text()
    query = httpx.post(f"{server.url}/query", json={"query": "IVIG"})
    assert query.status_code == 503 and query.json()["error"]["code"] == "not_ready"
    assert "Traceback" not in server.log_text()


def test_sighup_serves_an_index_built_while_it_runs(server: Server, index: LoadedIndex) -> None:
    shutil.copytree(index.directory, server.settings.index_dir)
    server.process.send_signal(signal.SIGHUP)
    server.wait_ready(index.version)
    answer = httpx.post(f"{server.url}/query", json={"query": "What daily IVIG dose did Carp give?"})
    assert answer.json()["results"][0]["section"]["number"] == "3.2"


def test_a_changed_corpus_keeps_the_index_served_and_ready_says_it_is_stale(
    server: Server, index: LoadedIndex
) -> None:
    article = next(server.settings.corpus_dir.iterdir())
    article.write_text(article.read_text(encoding="utf-8") + "\nA paragraph added later.\n", encoding="utf-8")
    reloaded = httpx.post(f"{server.url}/admin/reload", timeout=60)
    assert reloaded.status_code == 200, reloaded.text
    assert reloaded.json()["index_version"] == index.version
    ready = httpx.get(f"{server.url}/ready")
    assert ready.status_code == 200 and ready.json()["index_version"] == index.version
    assert (
        "changed since the index was built" in ready.json()["stale"] and "make index" in ready.json()["stale"]
    )
    server.wait_for_log("serving a stale index")
    assert httpx.post(f"{server.url}/query", json={"query": "IVIG"}).status_code == 200


def test_a_rebuild_is_swapped_in_while_requests_run(
    server: Server, index: LoadedIndex, embedder: Embedder
) -> None:
    stop = threading.Event()

    def ask() -> list[tuple[int, str]]:
        seen = []
        with httpx.Client(base_url=server.url, timeout=60) as http:
            while not stop.is_set():
                response = http.post("/query", json={"query": "heparin and aspirin", "top_k": 3})
                seen.append((response.status_code, response.json().get("index_version", "")))
        return seen

    with ThreadPoolExecutor(4) as pool:
        askers = [pool.submit(ask) for _ in range(4)]
        build_index(server.settings, embedder, progress=lambda _: None)
        rebuilt = str(read_manifest(server.settings.index_dir)["index_version"])
        reloaded = httpx.post(f"{server.url}/admin/reload", timeout=60)
        time.sleep(0.5)
        stop.set()
        seen = [answer for asker in askers for answer in asker.result(120)]
    assert reloaded.status_code == 200, reloaded.text
    body = reloaded.json()
    assert (body["previous_version"], body["index_version"]) == (index.version, rebuilt)
    assert rebuilt != index.version
    assert {status for status, _ in seen} == {200}, "no request failed during the swap"
    assert {version for _, version in seen} <= {index.version, rebuilt}
    server.wait_ready(rebuilt, timeout=5)


def test_log_lines_carry_request_ids_and_no_question(server: Server) -> None:
    httpx.get(f"{server.url}/query", params={"q": f"{SECRET} IVIG"}, headers={"X-Request-ID": "serve-1"})
    httpx.post(f"{server.url}/query", json={"query": f"{SECRET} IVIG"}, headers={"X-Request-ID": "serve-2"})
    time.sleep(0.3)
    log = server.log_text()
    assert re.search(r"INFO \[serve-1\] rsa_qa\.access: 127\.0\.0\.1 GET /query 200 ", log)
    assert re.search(r"INFO \[serve-2\] rsa_qa\.access: 127\.0\.0\.1 POST /query 200 ", log)
    assert SECRET not in log


def test_sigterm_lets_the_request_in_flight_finish(server: Server) -> None:
    body = json.dumps({"query": "What daily IVIG dose did Carp give?", "top_k": 1}).encode()
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=60) as connection:
        head = (
            f"POST /query HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        connection.sendall(head + body[:10])
        time.sleep(0.5)  # the server has the headers: the request is in flight
        server.process.send_signal(signal.SIGTERM)
        time.sleep(1.0)  # it is shutting down: no new connections, this one still open
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{server.url}/health", timeout=5)
        connection.sendall(body[10:])
        response = _read_response(connection)
    assert response.startswith(b"HTTP/1.1 200 OK\r\n"), response[:200]
    answer = json.loads(response.partition(b"\r\n\r\n")[2])
    assert answer["results"][0]["section"]["number"] == "3.2"
    # uvicorn re-raises SIGTERM once it has shut down cleanly, so the status says why it stopped.
    assert server.process.wait(60) == -signal.SIGTERM
    assert "Application shutdown complete" in server.log_text()
    assert "Traceback" not in server.log_text()


def _read_response(connection: socket.socket) -> bytes:
    """Read until the server closes the connection, as it does when it is shutting down."""
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)
