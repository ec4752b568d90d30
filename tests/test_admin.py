"""POST /admin/reload through the app: atomic swap, in-flight requests, failures that change nothing.

Plumbing, so the hash embedder stands in for the model; tests/test_serve.py does the same
with the real model and a real server process.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from conftest import CORPUS, HashEmbedder, assert_error_shape
from rsa_qa.config import Settings
from rsa_qa.http.app import create_app
from rsa_qa.service import Service, build_index
from rsa_qa.store.manifest import read_manifest
from rsa_qa.store.records import INDEX_FILES
from rsa_qa.store.versions import served_version as version_folder


class GatedEmbedder(HashEmbedder):
    """Holds the next encode() until released, so that a request can be caught in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.hold_next = False
        self.holding = threading.Event()
        self.release = threading.Event()

    def encode(self, texts: list[str]) -> np.ndarray:
        if self.hold_next:
            self.hold_next = False
            self.holding.set()
            assert self.release.wait(30)
        return super().encode(texts)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    corpus = shutil.copytree(CORPUS, tmp_path / "corpus")
    return Settings(corpus_dir=corpus, index_dir=tmp_path / "index")


@pytest.fixture
def embedder() -> GatedEmbedder:
    return GatedEmbedder()


@pytest.fixture
def client(settings: Settings, embedder: GatedEmbedder) -> Iterator[TestClient]:
    build_index(settings, embedder, progress=lambda _: None)
    with TestClient(create_app(settings, Service(settings, embedder=embedder))) as test_client:
        yield test_client


def rebuild_changed(settings: Settings, embedder: GatedEmbedder) -> str:
    article = next(settings.corpus_dir.iterdir())
    article.write_text(article.read_text(encoding="utf-8") + "\nA paragraph added later.\n", encoding="utf-8")
    build_index(settings, embedder, progress=lambda _: None)
    return version_on_disk(settings)


def version_on_disk(settings: Settings) -> str:
    return str(read_manifest(settings.index_dir)["index_version"])


def served_version(client: TestClient) -> str:
    return str(client.get("/ready").json()["index_version"])


def test_reload_serves_the_rebuilt_index(
    client: TestClient, settings: Settings, embedder: GatedEmbedder
) -> None:
    before = served_version(client)
    unchanged = client.post("/admin/reload").json()
    assert unchanged["changed"] is False and unchanged["index_version"] == before
    after = rebuild_changed(settings, embedder)
    response = client.post("/admin/reload")
    assert response.status_code == 200
    body = response.json()
    assert (body["previous_version"], body["index_version"], body["changed"]) == (before, after, True)
    assert body["passages"] > 0
    assert served_version(client) == after
    assert client.post("/query", json={"query": "IVIG"}).json()["index_version"] == after


def test_a_request_in_flight_finishes_on_the_index_it_started_with(
    client: TestClient, settings: Settings, embedder: GatedEmbedder
) -> None:
    before = served_version(client)
    after = rebuild_changed(settings, embedder)
    embedder.hold_next = True
    with ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(client.post, "/query", json={"query": "What daily IVIG dose did Carp give?"})
        assert embedder.holding.wait(30), "the request reached the model"
        assert client.post("/admin/reload").json()["index_version"] == after
        assert client.post("/query", json={"query": "IVIG"}).json()["index_version"] == after
        embedder.release.set()
        response = in_flight.result(30)
    assert response.status_code == 200
    assert response.json()["index_version"] == before


def test_no_request_fails_while_the_index_is_swapped(
    client: TestClient, settings: Settings, embedder: GatedEmbedder
) -> None:
    before = served_version(client)
    after = rebuild_changed(settings, embedder)
    stop = threading.Event()

    def ask() -> list[tuple[int, str]]:
        seen = []
        while not stop.is_set():
            response = client.post("/query", json={"query": "heparin and aspirin", "top_k": 3})
            seen.append((response.status_code, response.json().get("index_version", "")))
        return seen

    with ThreadPoolExecutor(4) as pool:
        askers = [pool.submit(ask) for _ in range(4)]
        reloads = [client.post("/admin/reload").status_code for _ in range(5)]
        stop.set()
        seen = [answer for asker in askers for answer in asker.result(60)]
    assert reloads == [200] * 5
    assert seen and {status for status, _ in seen} == {200}
    assert {version for _, version in seen} <= {before, after}


def test_a_failed_reload_changes_nothing(client: TestClient, settings: Settings) -> None:
    before = served_version(client)
    vectors = version_folder(settings.index_dir) / "passages.faiss"
    vectors.write_bytes(vectors.read_bytes()[:100])
    response = client.post("/admin/reload")
    assert_error_shape(response, 409, "reload_failed")
    message = response.json()["error"]["message"]
    assert "passages.faiss" in message and f"still serving index {before}" in message
    assert served_version(client) == before
    assert client.post("/query", json={"query": "IVIG"}).status_code == 200


def test_reload_after_a_start_without_an_index_makes_it_ready(settings: Settings) -> None:
    embedder = GatedEmbedder()
    with TestClient(create_app(settings, Service(settings, embedder=embedder))) as client:
        assert client.get("/ready").status_code == 503
        assert_error_shape(client.post("/admin/reload"), 409, "reload_failed")
        build_index(settings, embedder, progress=lambda _: None)
        version = version_on_disk(settings)
        body = client.post("/admin/reload").json()
        assert (body["previous_version"], body["index_version"]) == (None, version)
        assert client.get("/ready").status_code == 200


def test_reload_requires_the_key_when_one_is_set(tmp_path: Path) -> None:
    settings = Settings(corpus_dir=tmp_path, index_dir=tmp_path / "none", api_key="k3y")
    with TestClient(create_app(settings, Service(settings, embedder=HashEmbedder()))) as client:
        assert_error_shape(client.post("/admin/reload"), 401, "unauthorized")
        allowed = client.post("/admin/reload", headers={"Authorization": "Bearer k3y"})
        assert_error_shape(allowed, 409, "reload_failed")


@pytest.mark.parametrize("name", INDEX_FILES)
def test_a_corrupt_index_is_never_served_and_ready_names_the_file(settings: Settings, name: str) -> None:
    embedder = GatedEmbedder()
    build_index(settings, embedder, progress=lambda _: None)
    path = version_folder(settings.index_dir) / name
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with TestClient(create_app(settings, Service(settings, embedder=embedder))) as client:
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert f"{name} fails its checksum" in ready.json()["reason"]
        assert_error_shape(client.post("/query", json={"query": "IVIG"}), 503, "not_ready")
        assert_error_shape(client.get("/sections"), 503, "not_ready")
