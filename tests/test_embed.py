"""The ONNX backends against the torch reference, on the real article and the dev questions."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from conftest import EVAL
from rsa_qa.config import Settings
from rsa_qa.errors import ModelError
from rsa_qa.pipeline.embed import BACKENDS, Embedder, embedder_fingerprint, model_fingerprint
from rsa_qa.pipeline.onnx_export import export_path
from rsa_qa.search.searcher import Searcher, SearchOptions
from rsa_qa.service import build_index, load_embedder
from rsa_qa.store.load import LoadedIndex
from rsa_qa.text import normalise

ONNX_BACKENDS = [b for b in BACKENDS if b != "torch"]
DEV = [json.loads(line) for line in (EVAL / "dev.jsonl").read_text().splitlines() if line.strip()]
DEV_QUESTIONS = [row["question"] for row in DEV]


def _backend_settings(settings: Settings, backend: str, directory: Path) -> Settings:
    return settings.model_copy(update={"embedding_backend": backend, "index_dir": directory / backend})


@pytest.fixture(scope="session")
def backend_searchers(settings: Settings, session_dir: Path) -> dict[str, Searcher]:
    """One index per backend, each built and queried with that backend alone."""
    searchers = {}
    for backend in BACKENDS:
        configured = _backend_settings(settings, backend, session_dir / "backends")
        embedder = load_embedder(configured, export_if_missing=True)
        searchers[backend] = Searcher(
            build_index(configured, embedder, progress=lambda _: None).index, embedder
        )
    return searchers


def _passage_texts(index: LoadedIndex) -> list[str]:
    return [normalise(p.embedding_text(True)) for p in index.passages]


@pytest.mark.parametrize("backend", ONNX_BACKENDS)
def test_onnx_vectors_match_torch_on_every_passage(
    backend_searchers: dict[str, Searcher], backend: str
) -> None:
    reference = backend_searchers["torch"]
    texts = _passage_texts(reference.index) + DEV_QUESTIONS
    expected = reference.embedder.encode(texts)
    got = backend_searchers[backend].embedder.encode(texts)
    assert got.shape == expected.shape and got.dtype == np.float32
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    cosines = (got * expected).sum(axis=1)
    assert cosines.min() >= 0.99, f"worst: {texts[int(cosines.argmin())][:80]!r} at {cosines.min():.4f}"


@pytest.mark.parametrize("backend", ONNX_BACKENDS)
def test_onnx_top_results_agree_with_torch_on_dev_questions(
    backend_searchers: dict[str, Searcher], backend: str
) -> None:
    """Same verdict on every question; on answerable ones, each backend's best passage among
    the other's first two (int8 word pieces can swap a near tie: 0.536 against 0.549), and
    most of the top 3 shared."""
    options = SearchOptions(top_k=3)
    for row in DEV:
        expected = backend_searchers["torch"].search(row["question"], options)
        got = backend_searchers[backend].search(row["question"], options)
        assert got.scope.in_scope == expected.scope.in_scope, row["question"]
        if row.get("out_of_scope"):
            continue  # the best of several poor matches is noise
        expected_ids = [h.passage.id for h in expected.hits]
        got_ids = [h.passage.id for h in got.hits]
        assert got_ids[0] in expected_ids[:2] and expected_ids[0] in got_ids[:2], row["question"]
        assert len(set(got_ids) & set(expected_ids)) >= 2, row["question"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_text_alone_or_in_a_batch_gets_the_same_vector(
    backend_searchers: dict[str, Searcher], backend: str
) -> None:
    """Micro-batching must not change a question's results."""
    embedder = backend_searchers[backend].embedder
    texts = ["What daily IVIG dose did Carp give?", "heparin", "a much longer question " * 20]
    batched = embedder.encode(texts)
    for text, vector in zip(texts, batched, strict=True):
        assert np.allclose(embedder.encode([text])[0], vector, atol=1e-5)


@pytest.mark.parametrize("backend", ONNX_BACKENDS)
def test_a_lone_question_on_every_core_gets_the_same_vector(settings: Settings, backend: str) -> None:
    """encode_alone runs a second session with more threads; the server uses it when idle."""
    configured = settings.model_copy(
        update={"embedding_backend": backend, "inference_threads": 1, "lone_question_threads": 2}
    )
    embedder = load_embedder(configured, export_if_missing=True)
    for question in DEV_QUESTIONS:
        alone = embedder.encode_alone(normalise(question))  # type: ignore[attr-defined]
        assert float(alone @ embedder.encode([normalise(question)])[0]) >= 0.9999, question


def test_exports_fuse_attention_and_run_every_product_in_int8(
    backend_searchers: dict[str, Searcher], settings: Settings
) -> None:
    """The fused graph is what makes int8 fast (onnx_export.py); an exporter change could undo it."""
    import onnx
    from transformers import AutoConfig

    model_path = Path(settings.model_path)
    layers = AutoConfig.from_pretrained(model_path, local_files_only=True).num_hidden_layers

    def operators(backend: str) -> Counter[str]:
        onnx_file = export_path(settings.cache_dir, model_fingerprint(model_path), backend)
        return Counter(node.op_type for node in onnx.load(str(onnx_file)).graph.node)

    fp32, int8 = operators("onnx"), operators("onnx-int8")
    assert fp32["Attention"] == layers and fp32["EmbedLayerNormalization"] == 1
    assert int8["QAttention"] == layers and int8["MatMulNBits"] == layers  # the feed-forward outputs
    assert int8["MatMul"] == 0 and int8["Attention"] == 0, int8


def test_default_backend_is_one_the_parity_tests_cover() -> None:
    assert Settings().embedding_backend in BACKENDS


def test_fingerprint_is_known_before_loading(embedder: Embedder, settings: Settings) -> None:
    expected = embedder_fingerprint(Path(settings.model_path), settings.embedding_backend, settings.cache_dir)
    assert expected == embedder.fingerprint()


def test_exports_go_to_the_user_cache_whatever_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert Settings().cache_dir == tmp_path / "rsa-qa"
    monkeypatch.setenv("RSA_QA_CACHE_DIR", "/elsewhere")
    assert Settings().cache_dir == Path("/elsewhere")


def test_server_refuses_a_backend_that_was_never_exported(settings: Settings, tmp_path: Path) -> None:
    configured = settings.model_copy(update={"embedding_backend": "onnx", "cache_dir": tmp_path})
    with pytest.raises(ModelError, match="make index"):
        load_embedder(configured)
    assert embedder_fingerprint(Path(settings.model_path), "onnx", tmp_path) is None
