"""Shared fixtures: the real article, the real model, a real index built into a temp dir."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import uvicorn
from fastapi.testclient import TestClient

from rsa_qa.config import Settings, get_settings
from rsa_qa.http.app import create_app
from rsa_qa.http.server import server_config
from rsa_qa.pipeline.document import Document
from rsa_qa.pipeline.embed import Embedder, load_tokenizer
from rsa_qa.pipeline.parse import parse_file
from rsa_qa.search.searcher import Searcher
from rsa_qa.service import Service, build_index, load_embedder
from rsa_qa.store.load import LoadedIndex
from rsa_qa.store.records import MANIFEST, MANIFEST_CHECKSUM
from rsa_qa.store.versions import served_version

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
ARTICLE = CORPUS / "immunology-rsa-review.txt"
EVAL = ROOT / "eval"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No RSA_QA_* variable from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("RSA_QA_"):
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def document() -> Document:
    return parse_file(ARTICLE)


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rsa-qa")


@pytest.fixture(scope="session")
def settings(session_dir: Path) -> Settings:
    return Settings(corpus_dir=CORPUS, index_dir=session_dir / "index")


@pytest.fixture(scope="session")
def embedder(settings: Settings) -> Embedder:
    return load_embedder(settings, export_if_missing=True)


@pytest.fixture(scope="session")
def index(settings: Settings, embedder: Embedder) -> LoadedIndex:
    return build_index(settings, embedder, progress=lambda _: None).index


@pytest.fixture(scope="session")
def searcher(index: LoadedIndex, embedder: Embedder) -> Searcher:
    return Searcher(index, embedder)


@pytest.fixture(scope="session")
def client(settings: Settings, searcher: Searcher) -> Iterator[TestClient]:
    app = create_app(settings, Service(settings, searcher=searcher, not_ready_reason=None))
    with TestClient(app) as test_client:
        yield test_client


class HashEmbedder:
    """Deterministic stand-in for plumbing tests: vectors from a hash of the text."""

    name = "hash-embedder"
    backend = "hash"
    dimension = 16

    def __init__(self, fail_on: str | None = None) -> None:
        self.fail_on = fail_on
        self._tokenizer = load_tokenizer(Path(Settings().model_path))

    def fingerprint(self) -> str:
        return "hash-embedder-v1"

    def encode(self, texts: list[str]) -> np.ndarray:
        if self.fail_on is not None and any(self.fail_on in t for t in texts):
            raise RuntimeError("embedding failed on purpose")
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            vector = np.random.default_rng(seed).standard_normal(self.dimension)
            rows.append(vector / np.linalg.norm(vector))
        return np.array(rows, dtype=np.float32).reshape(len(texts), self.dimension)

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()


@contextmanager
def serving(app: Any, settings: Settings) -> Iterator[str]:
    """The app on uvicorn as `rsa-qa serve` runs it (its limits from settings), on a free port of
    127.0.0.1 in a thread; its URL for as long as the block runs."""
    server = uvicorn.Server(server_config(app, settings, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, name="test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_url(settings: Settings, searcher: Searcher) -> Iterator[str]:
    """The real app served by uvicorn on 127.0.0.1, for clients that need a socket."""
    with serving(
        create_app(settings, Service(settings, searcher=searcher, not_ready_reason=None)), settings
    ) as url:
        yield url


def assert_error_shape(response: Any, status: int, code: str) -> None:
    """The API's one error shape, and nothing of a traceback in it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["code"] == code
    assert body["error"]["message"] and "Traceback" not in response.text


def rewrite_manifest(index_dir: Path, manifest: dict[str, Any]) -> None:
    """Write a changed manifest with a matching manifest.sha256, as a deliberate edit would:
    for tests of what the loader checks beyond the checksums."""
    body = (json.dumps(manifest) + "\n").encode()
    version = served_version(index_dir)
    (version / MANIFEST).write_bytes(body)
    (version / MANIFEST_CHECKSUM).write_bytes((hashlib.sha256(body).hexdigest() + "\n").encode())


def resign_file(index_dir: Path, name: str) -> None:
    """Record a deliberately changed file's new checksum in the manifest."""
    version = served_version(index_dir)
    manifest = json.loads((version / MANIFEST).read_text(encoding="utf-8"))
    manifest["files"][name] = hashlib.sha256((version / name).read_bytes()).hexdigest()
    rewrite_manifest(index_dir, manifest)
