"""Open an index directory: every file checked against the manifest, then parsed, or refused.

It never serves part of an index: each file is read once, its sha256 compared with the
manifest's, and only the bytes that were checked are parsed, so a rebuild that swaps the
directory mid-load makes a checksum fail instead of mixing two indexes.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from rsa_qa.errors import REBUILD_HINT, IndexCorrupt, RsaQaError
from rsa_qa.pipeline.chunk import ChunkSettings, Passage
from rsa_qa.pipeline.document import DocumentInfo, Reference
from rsa_qa.store.manifest import check_compatible, corpus_changes, read_manifest
from rsa_qa.store.records import (
    INDEX_FILES,
    MANIFEST,
    PASSAGE_VECTORS,
    PASSAGES,
    SENTENCE_ROWS,
    SENTENCE_VECTORS,
    SentenceRow,
    document_from_record,
    passage_from_record,
)


@dataclass
class LoadedIndex:
    directory: Path
    manifest: dict[str, Any]
    documents: dict[str, DocumentInfo]
    passages: list[Passage]
    vectors: faiss.Index
    sentence_vectors: np.ndarray
    sentence_rows: list[SentenceRow]
    # Set when the corpus folder changed since the build: the index is served, marked stale.
    stale: str | None = None

    @property
    def version(self) -> str:
        return str(self.manifest["index_version"])

    def reference(self, doc_id: str, number: int) -> Reference:
        return self.documents[doc_id].references[number]


def load_index(
    index_dir: Path,
    corpus_dir: Path | None = None,
    embedder_fingerprint: str | None = None,
    chunking: ChunkSettings | None = None,
    backend: str | None = None,
) -> LoadedIndex:
    """The index in index_dir, whole and checked, or IndexNotFound/IndexCorrupt/IndexMismatch.
    With corpus_dir, an index the corpus has moved on from is returned with .stale set."""
    manifest = read_manifest(index_dir)
    try:
        check_compatible(manifest, embedder_fingerprint, chunking, backend)
        index = _parse(index_dir, manifest, _read_verified(index_dir, manifest))
        index.stale = corpus_changes(manifest, corpus_dir)
        return index
    except KeyError as exc:
        raise IndexCorrupt(f"{index_dir / MANIFEST} lacks {exc}: {REBUILD_HINT}") from exc
    # A manifest edited by hand can hold any JSON: whatever it breaks is reported, not raised.
    except (OSError, ValueError, RuntimeError, TypeError, AttributeError, IndexError) as exc:
        raise IndexCorrupt(f"{index_dir} cannot be read ({exc}): {REBUILD_HINT}") from exc


def is_fresh(
    index_dir: Path,
    corpus_dir: Path,
    embedder_fingerprint: str | None,
    chunking: ChunkSettings,
    backend: str | None = None,
) -> bool:
    """True when load_index would accept the index; a None fingerprint (no export yet) is stale."""
    if embedder_fingerprint is None:
        return False
    try:
        manifest = read_manifest(index_dir)
        check_compatible(manifest, embedder_fingerprint, chunking, backend)
        _read_verified(index_dir, manifest)
        return corpus_changes(manifest, corpus_dir) is None
    except (RsaQaError, KeyError, TypeError, AttributeError, OSError):
        return False


def _read_verified(index_dir: Path, manifest: dict[str, Any]) -> dict[str, bytes]:
    """Every index file's bytes, each checked against the manifest."""
    checksums = manifest.get("files")
    if not isinstance(checksums, dict):
        raise IndexCorrupt(f"{index_dir / MANIFEST} lists no file checksums: {REBUILD_HINT}")
    contents = {}
    for name in INDEX_FILES:
        path = index_dir / name
        if name not in checksums:
            raise IndexCorrupt(f"{index_dir / MANIFEST} has no checksum for {name}: {REBUILD_HINT}")
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise IndexCorrupt(f"{path} is missing: {REBUILD_HINT}") from exc
        if hashlib.sha256(data).hexdigest() != checksums[name]:
            raise IndexCorrupt(f"{path} fails its checksum (truncated or modified): {REBUILD_HINT}")
        contents[name] = data
    return contents


def _parse(index_dir: Path, manifest: dict[str, Any], contents: dict[str, bytes]) -> LoadedIndex:
    records = [json.loads(line) for line in contents[PASSAGES].decode("utf-8").splitlines()]
    passages = [passage_from_record(r) for r in records]
    vectors = faiss.deserialize_index(np.frombuffer(contents[PASSAGE_VECTORS], dtype=np.uint8))
    sentence_vectors = np.load(io.BytesIO(contents[SENTENCE_VECTORS]), allow_pickle=False)
    rows = [SentenceRow(*r) for r in json.loads(contents[SENTENCE_ROWS].decode("utf-8"))]
    if vectors.ntotal != len(passages) or vectors.d != manifest["model"]["dimension"]:
        raise IndexCorrupt(f"{index_dir / PASSAGE_VECTORS} does not match {PASSAGES}: {REBUILD_HINT}")
    if sentence_vectors.ndim != 2 or sentence_vectors.shape != (len(rows), vectors.d):
        raise IndexCorrupt(f"{index_dir / SENTENCE_VECTORS} does not match {SENTENCE_ROWS}: {REBUILD_HINT}")
    documents = {record["id"]: document_from_record(record) for record in manifest["documents"]}
    return LoadedIndex(index_dir, manifest, documents, passages, vectors, sentence_vectors, rows)
