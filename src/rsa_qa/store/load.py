"""Open an index directory: every file checked against the manifest, then parsed, or refused.

It never serves part of an index: each file is read once, its sha256 compared with the
manifest's, and only the bytes that were checked are parsed, so a rebuild that swaps the
directory mid-load makes a checksum fail instead of mixing two indexes.
"""

from __future__ import annotations

import json
import mmap
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from rsa_qa.errors import REBUILD_HINT, IndexCorrupt, RsaQaError
from rsa_qa.pipeline.chunk import ChunkSettings, Passage
from rsa_qa.pipeline.document import DocumentInfo, Reference
from rsa_qa.store.files import describe_os_error, read_checked, sha256_of, verify_file
from rsa_qa.store.manifest import check_compatible, corpus_changes, read_manifest
from rsa_qa.store.records import (
    INDEX_FILES,
    MANIFEST,
    PASSAGE_OFFSETS,
    PASSAGE_VECTORS,
    PASSAGES,
    SENTENCE_ROWS,
    SENTENCE_VECTORS,
    PassageList,
    SentenceRows,
    document_from_record,
    model_file,
)
from rsa_qa.store.vector_index import Within
from rsa_qa.store.versions import served_version


@dataclass(frozen=True)
class StoredPart:
    """Where one of a database's document parts lies in an index loaded from it."""

    key: str  # the part's key: a digest of its document's id and hash, the model and the chunking
    checksum: str  # of the part's rows, as checked when they were read
    doc_id: str
    passages: range
    sentences: range


@dataclass
class LoadedIndex:
    directory: Path
    manifest: dict[str, Any]
    documents: dict[str, DocumentInfo]
    passages: Sequence[Passage]
    vectors: faiss.Index
    sentence_vectors: np.ndarray
    sentence_rows: SentenceRows
    # Set when the corpus folder changed since the build: the index is served, marked stale.
    stale: str | None = None
    # What a build worked out for the searcher (search/tables.py), by file name: arrays
    # memory-mapped, JSON parsed. Empty for an index assembled in memory.
    derived: dict[str, Any] = field(default_factory=dict)
    # Where the searcher asks for a question's nearest passages, when not `vectors`: (unit
    # question vector, how many, the passages a filter allows) -> passage rows. The
    # database store's asks pgvector.
    nearest: Callable[[np.ndarray, int, Within | None], np.ndarray] | None = None
    # The database store's document parts, in order; empty for an index directory.
    stored_parts: tuple[StoredPart, ...] = ()

    @property
    def model_file(self) -> Path | None:
        """The exported model kept inside the index (ONNX backends), for machines without it."""
        name = model_file(str(self.manifest["model"].get("backend")))
        return self.directory / name if name in self.manifest.get("files", {}) else None

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

    The served version is resolved once (index_dir/current, see versions.py), and every
    file is read from it. The index is compared with corpus_dir, or the folder it was built from
    when that still exists; one the corpus has moved on from is returned with .stale set.
    """
    version_dir = _resolved(index_dir)
    manifest = read_manifest(version_dir)
    try:
        check_compatible(manifest, embedder_fingerprint, chunking, backend)
        index = _parse(version_dir, manifest, _read_verified(version_dir, manifest))
        check_consistent(index)
    except KeyError as exc:
        raise IndexCorrupt(f"{version_dir / MANIFEST} lacks {exc}: {REBUILD_HINT}") from exc
    # A manifest edited by hand can hold any JSON: whatever it breaks is reported, not raised.
    except (OSError, ValueError, RuntimeError, TypeError, AttributeError, IndexError) as exc:
        raise IndexCorrupt(f"{version_dir} cannot be read ({exc}): {REBUILD_HINT}") from exc
    index.stale = corpus_changes(manifest, corpus_dir)
    return index


def is_fresh(
    index_dir: Path,
    corpus_dir: Path,
    embedder_fingerprint: str | None,
    chunking: ChunkSettings,
    backend: str | None = None,
) -> bool:
    """True when load_index would accept the index and the corpus has not changed; a None
    fingerprint (no export yet) is stale."""
    if embedder_fingerprint is None:
        return False
    try:
        version_dir = _resolved(index_dir)
        manifest = read_manifest(version_dir)
        check_compatible(manifest, embedder_fingerprint, chunking, backend)
        _read_verified(version_dir, manifest)
        return corpus_changes(manifest, corpus_dir) is None
    except (RsaQaError, KeyError, TypeError, AttributeError, OSError):
        return False


def _resolved(index_dir: Path) -> Path:
    try:
        return served_version(index_dir).resolve()
    except OSError as exc:
        raise IndexCorrupt(f"{index_dir} cannot be read ({describe_os_error(exc)}): {REBUILD_HINT}") from exc


# The big files: checked by streaming, then memory-mapped rather than read (vectors, tables,
# passages), or read by the embedder (the model): the process holds only the pages it touches.
_MAPPED = frozenset({PASSAGES, PASSAGE_OFFSETS, PASSAGE_VECTORS, SENTENCE_VECTORS, SENTENCE_ROWS})


def _is_mapped(name: str) -> bool:
    return name in _MAPPED or name.endswith((".onnx", ".npy"))


def _read_verified(index_dir: Path, manifest: dict[str, Any]) -> dict[str, bytes]:
    """Every file the manifest lists, each checked against its sha256; the small ones' bytes."""
    checksums = manifest.get("files")
    if not isinstance(checksums, dict):
        raise IndexCorrupt(f"{index_dir / MANIFEST} lists no file checksums: {REBUILD_HINT}")
    missing = [name for name in INDEX_FILES if name not in checksums]
    if missing:
        raise IndexCorrupt(f"{index_dir / MANIFEST} has no checksum for {missing[0]}: {REBUILD_HINT}")
    contents = {}
    streamed = []
    for name, checksum in checksums.items():
        if "/" in str(name) or str(name).startswith("."):
            raise IndexCorrupt(f"{index_dir / MANIFEST} names a file outside the index: {REBUILD_HINT}")
        path = index_dir / str(name)
        if _is_mapped(str(name)):
            streamed.append((path, str(checksum)))
            continue
        data = read_checked(path)
        if sha256_of(data) != checksum:
            raise IndexCorrupt(f"{path} fails its checksum (truncated or modified): {REBUILD_HINT}")
        contents[str(name)] = data
    # sha256 runs outside the GIL: the big files are checked side by side, one per core.
    with ThreadPoolExecutor(max_workers=2) as pool:
        for done in [pool.submit(verify_file, path, checksum) for path, checksum in streamed]:
            done.result()
    return contents


def _parse(index_dir: Path, manifest: dict[str, Any], contents: dict[str, bytes]) -> LoadedIndex:
    offsets = _array(index_dir / PASSAGE_OFFSETS)
    text = _mapped_bytes(index_dir / PASSAGES)
    if offsets.ndim != 1 or len(offsets) < 1 or offsets[0] != 0 or offsets[-1] != len(text):
        raise IndexCorrupt(f"{index_dir / PASSAGE_OFFSETS} does not match {PASSAGES}: {REBUILD_HINT}")
    if len(offsets) > 1 and bool(np.any(np.diff(offsets) <= 0)):
        raise IndexCorrupt(f"{index_dir / PASSAGE_OFFSETS} is out of order: {REBUILD_HINT}")
    passages = PassageList(text, offsets)
    vectors = faiss.read_index(str(index_dir / PASSAGE_VECTORS), faiss.IO_FLAG_MMAP_IFC)
    sentence_vectors = _array(index_dir / SENTENCE_VECTORS)
    rows_array = _array(index_dir / SENTENCE_ROWS)
    if rows_array.ndim != 2 or rows_array.shape[1:] != (3,) or rows_array.dtype.kind != "i":
        raise IndexCorrupt(f"{index_dir / SENTENCE_ROWS} is not a sentence table: {REBUILD_HINT}")
    rows = SentenceRows(rows_array)
    if vectors.ntotal != len(passages) or vectors.d != manifest["model"]["dimension"]:
        raise IndexCorrupt(f"{index_dir / PASSAGE_VECTORS} does not match {PASSAGES}: {REBUILD_HINT}")
    if sentence_vectors.ndim != 2 or sentence_vectors.shape != (len(rows), vectors.d):
        raise IndexCorrupt(f"{index_dir / SENTENCE_VECTORS} does not match {SENTENCE_ROWS}: {REBUILD_HINT}")
    documents = {record["id"]: document_from_record(record) for record in manifest["documents"]}
    derived = {
        str(name): _array(index_dir / name) if str(name).endswith(".npy") else json.loads(contents[name])
        for name in manifest.get("derived", [])
    }
    return LoadedIndex(
        index_dir, manifest, documents, passages, vectors, sentence_vectors, rows, derived=derived
    )


def _array(path: Path) -> np.ndarray:
    array: np.ndarray = np.load(path, mmap_mode="r", allow_pickle=False)
    return array


def _mapped_bytes(path: Path) -> Any:
    """The file's bytes, memory-mapped read-only (b"" for an empty file, which mmap refuses)."""
    with path.open("rb") as handle:
        if path.stat().st_size == 0:
            return b""
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)


def check_consistent(index: LoadedIndex) -> None:
    """Every reference inside the index points at something it holds: a passage's document,
    section and citations, a sentence's passage and span, the counts the manifest gives.

    A large index, whose passages are read when asked for, has its tables checked as arrays
    (every sentence within the passages); its passages were checked one by one when it was
    built, and every byte of them against the manifest's checksums at this load.
    """
    where = index.directory / PASSAGES
    if index.manifest.get("passage_count") != len(index.passages):
        raise IndexCorrupt(f"{index.directory / MANIFEST} counts other passages than {where}: {REBUILD_HINT}")
    if len(index.passages) and not index.documents:
        raise IndexCorrupt(f"{index.directory / MANIFEST} lists no documents for {where}: {REBUILD_HINT}")
    if isinstance(index.passages, PassageList) and index.passages.lazy:
        rows = index.sentence_rows
        if len(rows) and (
            int(rows.passage.min()) < 0
            or int(rows.passage.max()) >= len(index.passages)
            or bool(np.any(rows.start < 0))
            or bool(np.any(rows.end <= rows.start))
        ):
            raise IndexCorrupt(
                f"{index.directory / SENTENCE_ROWS}: a row is outside the passages: {REBUILD_HINT}"
            )
        return
    sections = {doc_id: {s.key for s in info.sections} for doc_id, info in index.documents.items()}
    ids = set()
    for row, passage in enumerate(index.passages):
        info = index.documents.get(passage.doc_id)
        problem = None
        if info is None:
            problem = f"passage {row} belongs to a document the manifest does not list ({passage.doc_id})"
        elif passage.section.key not in sections[passage.doc_id]:
            problem = f"passage {passage.id} is in a section its document lacks"
        elif any(n not in info.references for n in passage.references):
            problem = f"passage {passage.id} cites a reference its document lacks"
        elif passage.id in ids:
            problem = f"passage id {passage.id} is used twice"
        if problem:
            raise IndexCorrupt(f"{where}: {problem}: {REBUILD_HINT}")
        ids.add(passage.id)
    rows, table = index.sentence_rows, index.directory / SENTENCE_ROWS
    named = (rows.passage >= 0) & (rows.passage < len(index.passages))
    if not named.all():
        raise IndexCorrupt(f"{table}: row {int(np.argmin(named))} names no passage: {REBUILD_HINT}")
    lengths = np.array([len(passage.text) for passage in index.passages], dtype=np.int64)
    inside = (rows.start >= 0) & (rows.start < rows.end) & (rows.end <= lengths[rows.passage])
    if not inside.all():
        raise IndexCorrupt(f"{table}: row {int(np.argmin(inside))} is outside its passage: {REBUILD_HINT}")
