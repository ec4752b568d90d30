"""Build, save and load the index directory.

    index/
      manifest.json      what the index was built from (model, embedding backend, chunking,
                         each document's hash, sections and references) and a sha256 of
                         every file below
      passages.jsonl     the passages, one JSON object a line, in index order
      passages.faiss     FAISS inner-product index of unit-length passage vectors: flat
                         (exact), or HNSW or IVF from settings.ann_min_passages passages on
      sentences.npy      unit-length vectors of every sentence (for highlights and scoring)
      sentences.json     for each sentence row: passage row, start and end in passage text
      README.md          this description, for whoever opens the folder

A build writes into a temporary sibling directory and renames it into place, so a failed
build never leaves a half-written index and the previous one stays usable. A rebuild
re-embeds only the documents whose content changed since the previous index.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from rsa_qa import __version__
from rsa_qa.chunk import ChunkSettings, Passage, chunk_document
from rsa_qa.corpus import SourceFile, corpus_files, corpus_hash, read_document
from rsa_qa.embed import Embedder
from rsa_qa.errors import REBUILD_HINT, IndexCorrupt, IndexMismatch, IndexNotFound, RsaQaError
from rsa_qa.parse import Document, Reference, Section
from rsa_qa.text import normalise
from rsa_qa.vector_index import AnnSettings, build_vector_index

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
PASSAGES = "passages.jsonl"
PASSAGE_VECTORS = "passages.faiss"
SENTENCE_VECTORS = "sentences.npy"
SENTENCE_ROWS = "sentences.json"
INDEX_FILES = (PASSAGES, PASSAGE_VECTORS, SENTENCE_VECTORS, SENTENCE_ROWS)
EMBED_BATCH = 256
DEFAULT_ANN = AnnSettings()
Progress = Callable[[str], None]


@dataclass(frozen=True)
class SentenceRow:
    passage: int
    start: int
    end: int


@dataclass
class DocumentInfo:
    """What the index keeps about one document besides its passages."""

    id: str
    file: str
    hash: str
    title: str
    authors: list[str]
    affiliation: str | None
    doi: str | None
    year: str | None
    metadata: dict[str, Any]
    sections: list[Section]
    references: dict[int, Reference]


@dataclass
class LoadedIndex:
    directory: Path
    manifest: dict[str, Any]
    documents: dict[str, DocumentInfo]
    passages: list[Passage]
    vectors: faiss.Index
    sentence_vectors: np.ndarray
    sentence_rows: list[SentenceRow]

    @property
    def version(self) -> str:
        return str(self.manifest["index_version"])

    def reference(self, doc_id: str, number: int) -> Reference:
        return self.documents[doc_id].references[number]


@dataclass
class BuildReport:
    index: LoadedIndex
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        parts = [
            f"{len(getattr(self, name))} {name}" for name in ("added", "changed", "removed", "unchanged")
        ]
        names = [
            f"{name}: {', '.join(getattr(self, name))}"
            for name in ("added", "changed", "removed")
            if getattr(self, name)
        ]
        return "documents " + ", ".join(parts) + ("\n  " + "\n  ".join(names) if names else "")


@dataclass
class _Part:
    """One document's share of the new index: its passages and their vectors."""

    info: DocumentInfo
    passages: list[Passage]
    vectors: np.ndarray | None = None
    sentence_vectors: np.ndarray | None = None


def build_index(
    corpus_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    chunking: ChunkSettings,
    progress: Progress = lambda _: None,
    ann: AnnSettings = DEFAULT_ANN,
) -> BuildReport:
    started = time.perf_counter()
    sources = corpus_files(corpus_dir)
    previous = _reusable(index_dir, embedder, chunking, progress)
    old = previous.documents if previous else {}
    previous_rows = _rows_by_document(previous) if previous else {}
    added: list[str] = []
    changed: list[str] = []
    unchanged: list[str] = []
    parts: list[_Part] = []
    for source in sources:
        known = old.get(source.doc_id)
        if previous is not None and known is not None and known.hash == source.hash:
            parts.append(_reused_part(previous, known, *previous_rows[known.id]))
            unchanged.append(source.doc_id)
            continue
        parts.append(_parsed_part(source, embedder, chunking))
        (changed if known else added).append(source.doc_id)
    removed = sorted(set(old) - {s.doc_id for s in sources})
    progress(
        f"parsed {len(sources)} documents from {corpus_dir}: {sum(len(p.passages) for p in parts)} passages"
    )
    _embed_new(parts, embedder, chunking, progress)
    manifest = _manifest(corpus_dir, parts, embedder, chunking, ann)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.building-", dir=index_dir.parent))
    try:
        _write(staging, manifest, parts, ann)
        _swap_into_place(staging, index_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report = BuildReport(
        index=load_index(
            index_dir, embedder_fingerprint=manifest["model"]["fingerprint"], backend=embedder.backend
        ),
        added=added,
        changed=changed,
        removed=removed,
        unchanged=unchanged,
        seconds=time.perf_counter() - started,
    )
    progress(report.summary())
    progress(f"index {manifest['index_version']} written to {index_dir} in {report.seconds:.1f}s")
    return report


def _reusable(
    index_dir: Path, embedder: Embedder, chunking: ChunkSettings, progress: Progress
) -> LoadedIndex | None:
    """The previous index, when its vectors can be kept for unchanged documents."""
    if not (index_dir / MANIFEST).is_file():
        return None
    try:
        previous = load_index(
            index_dir, embedder_fingerprint=embedder.fingerprint(), backend=embedder.backend
        )
        check_fresh(previous.manifest, None, None, chunking)
    except RsaQaError as exc:
        progress(f"re-embedding everything: the previous index cannot be reused ({exc})")
        return None
    return previous


def _rows_by_document(index: LoadedIndex) -> dict[str, tuple[list[int], list[int]]]:
    """Each document's passage rows and sentence rows, found in one pass over the index."""
    rows: dict[str, tuple[list[int], list[int]]] = {doc_id: ([], []) for doc_id in index.documents}
    for row, passage in enumerate(index.passages):
        rows[passage.doc_id][0].append(row)
    for row, sentence in enumerate(index.sentence_rows):
        rows[index.passages[sentence.passage].doc_id][1].append(row)
    return rows


def _reused_part(
    previous: LoadedIndex, info: DocumentInfo, rows: list[int], sentence_rows: list[int]
) -> _Part:
    vectors = np.vstack([previous.vectors.reconstruct(i) for i in rows]) if rows else None
    return _Part(
        info=info,
        passages=[previous.passages[i] for i in rows],
        vectors=vectors,
        sentence_vectors=previous.sentence_vectors[sentence_rows],
    )


def _parsed_part(source: SourceFile, embedder: Embedder, chunking: ChunkSettings) -> _Part:
    document = read_document(source)
    passages = chunk_document(document, embedder.count_tokens, chunking)
    return _Part(info=_document_info(document, source), passages=passages)


def _document_info(document: Document, source: SourceFile) -> DocumentInfo:
    return DocumentInfo(
        id=document.id,
        file=source.path.name,
        hash=source.hash,
        title=document.title,
        authors=document.authors,
        affiliation=document.affiliation,
        doi=document.doi,
        year=document.year,
        metadata=document.metadata,
        sections=document.sections,
        references=document.references,
    )


def _embed_new(parts: list[_Part], embedder: Embedder, chunking: ChunkSettings, progress: Progress) -> None:
    new = [part for part in parts if part.vectors is None]
    passages = [p for part in new for p in part.passages]
    sentences = [p.text[s:e] for p in passages for s, e in p.sentences]
    if not passages:
        return
    progress(
        f"embedding {len(passages)} passages and {len(sentences)} sentences"
        f" with {embedder.name} ({embedder.backend})"
    )
    passage_vectors = _encode(
        embedder, [normalise(p.embedding_text(chunking.embed_section_titles)) for p in passages]
    )
    sentence_vectors = _encode(embedder, [normalise(s) for s in sentences])
    passage_at = sentence_at = 0
    for part in new:
        count = len(part.passages)
        sentence_count = sum(len(p.sentences) for p in part.passages)
        part.vectors = passage_vectors[passage_at : passage_at + count]
        part.sentence_vectors = sentence_vectors[sentence_at : sentence_at + sentence_count]
        passage_at += count
        sentence_at += sentence_count


def _encode(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Embed in batches, with a progress bar on a terminal when the work is long."""
    from tqdm import tqdm

    batches = [texts[i : i + EMBED_BATCH] for i in range(0, len(texts), EMBED_BATCH)]
    show = len(batches) > 4 and sys.stderr.isatty()
    chunks = [embedder.encode(b) for b in tqdm(batches, desc="embedding", unit="batch", disable=not show)]
    if not chunks:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    return np.vstack(chunks).astype(np.float32)


def _manifest(
    corpus_dir: Path, parts: list[_Part], embedder: Embedder, chunking: ChunkSettings, ann: AnnSettings
) -> dict[str, Any]:
    passage_count = sum(len(part.passages) for part in parts)
    identity = {
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "model": {
            "name": embedder.name,
            "backend": embedder.backend,
            "fingerprint": embedder.fingerprint(),
            "dimension": embedder.dimension,
        },
        "normalised_vectors": True,
        "metric": "inner_product",
        "vector_index": _vector_index_params(ann, passage_count),
        "chunking": chunking.as_dict(),
        "corpus_hash": corpus_hash(corpus_dir),
        "document_hashes": {part.info.id: part.info.hash for part in parts},
        "passage_count": passage_count,
    }
    version = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    return identity | {
        "index_version": version,
        "documents": [_document_record(part.info) for part in parts],
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _vector_index_params(ann: AnnSettings, passages: int) -> dict[str, Any]:
    kind = ann.kind_for(passages)
    if kind == "hnsw":
        return {"kind": kind, "m": ann.m, "ef_construction": ann.ef_construction}
    if kind == "ivf":
        return {
            "kind": kind,
            "lists": ann.ivf_lists(passages),
            "codes": "sq8 uniform, refined with exact vectors",
        }
    return {"kind": kind}


def _document_record(info: DocumentInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "file": info.file,
        "hash": info.hash,
        "title": info.title,
        "authors": info.authors,
        "affiliation": info.affiliation,
        "doi": info.doi,
        "year": info.year,
        "metadata": info.metadata,
        "sections": [
            {"key": s.key, "number": s.number, "title": s.title, "path": list(s.path)} for s in info.sections
        ],
        "references": {
            str(n): {
                "citation": r.citation,
                "start": r.start,
                "end": r.end,
                "author": r.author,
                "year": r.year,
            }
            for n, r in sorted(info.references.items())
        },
    }


def _write(directory: Path, manifest: dict[str, Any], parts: list[_Part], ann: AnnSettings) -> None:
    passages = [p for part in parts for p in part.passages]
    lines = [json.dumps(_passage_record(p), ensure_ascii=False, sort_keys=True) for p in passages]
    (directory / PASSAGES).write_text("\n".join(lines) + "\n", encoding="utf-8")
    dimension = int(manifest["model"]["dimension"])
    vectors = [part.vectors for part in parts if part.vectors is not None and len(part.vectors)]
    stacked_vectors = np.vstack(vectors) if vectors else np.zeros((0, dimension), np.float32)
    faiss.write_index(build_vector_index(stacked_vectors, ann), str(directory / PASSAGE_VECTORS))
    sentence_vectors = [part.sentence_vectors for part in parts if part.sentence_vectors is not None]
    stacked = np.vstack(sentence_vectors) if sentence_vectors else np.zeros((0, dimension), np.float32)
    np.save(directory / SENTENCE_VECTORS, stacked.astype(np.float32), allow_pickle=False)
    rows = [[row, s, e] for row, passage in enumerate(passages) for s, e in passage.sentences]
    (directory / SENTENCE_ROWS).write_text(json.dumps(rows), encoding="utf-8")
    (directory / "README.md").write_text(__doc__ or "", encoding="utf-8")
    manifest["files"] = {name: _sha256(directory / name) for name in INDEX_FILES}
    (directory / MANIFEST).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def _passage_record(passage: Passage) -> dict[str, Any]:
    return {
        "id": passage.id,
        "doc_id": passage.doc_id,
        "section": {
            "key": passage.section.key,
            "number": passage.section.number,
            "title": passage.section.title,
            "path": list(passage.section.path),
        },
        "start": passage.start,
        "end": passage.end,
        "text": passage.text,
        "references": list(passage.references),
        "sentences": [list(s) for s in passage.sentences],
    }


def _swap_into_place(staging: Path, index_dir: Path) -> None:
    """Replace index_dir by staging with renames, keeping the old one until the new is in."""
    retired = index_dir.with_name(f".{index_dir.name}.retired-{time.time_ns()}")
    if index_dir.exists():
        index_dir.rename(retired)
    try:
        staging.rename(index_dir)
    except OSError:
        if retired.exists():
            retired.rename(index_dir)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(index_dir: Path) -> dict[str, Any]:
    path = index_dir / MANIFEST
    if not path.is_file():
        raise IndexNotFound(f"no index in {index_dir}: {REBUILD_HINT}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorrupt(f"{path} is unreadable ({exc}): {REBUILD_HINT}") from exc
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatch(f"{path} has an unknown format: {REBUILD_HINT}")
    return manifest


def check_fresh(
    manifest: dict[str, Any],
    corpus_dir: Path | None,
    embedder_fingerprint: str | None,
    chunking: ChunkSettings | None = None,
    backend: str | None = None,
) -> None:
    """Raise IndexMismatch when the index was built from something other than what is here.

    Passage vectors and question vectors must come from the same model through the same
    backend: the backends agree closely, not exactly, so a mix is refused as stale.
    """
    if manifest.get("package_version") != __version__:
        raise IndexMismatch(
            f"index built by rsa-qa {manifest.get('package_version')}, this is {__version__}: {REBUILD_HINT}"
        )
    built_with = manifest["model"].get("backend", "torch")
    if backend is not None and built_with != backend:
        raise IndexMismatch(
            f"index embedded with the {built_with} backend, the settings ask for {backend} "
            f"(RSA_QA_EMBEDDING_BACKEND): {REBUILD_HINT}"
        )
    if embedder_fingerprint is not None and manifest["model"]["fingerprint"] != embedder_fingerprint:
        raise IndexMismatch(f"index built with another embedding model or export of it: {REBUILD_HINT}")
    if chunking is not None and manifest.get("chunking") != chunking.as_dict():
        raise IndexMismatch(f"index built with other chunking settings: {REBUILD_HINT}")
    if corpus_dir is not None and corpus_dir.is_dir() and manifest["corpus_hash"] != corpus_hash(corpus_dir):
        raise IndexMismatch(f"index is stale: {corpus_dir} changed since it was built; {REBUILD_HINT}")


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
        check_fresh(manifest, corpus_dir, embedder_fingerprint, chunking, backend)
        _read_verified(index_dir, manifest)
    except (RsaQaError, KeyError, TypeError, AttributeError, OSError):
        return False
    return True


def _read_verified(index_dir: Path, manifest: dict[str, Any]) -> dict[str, bytes]:
    """Every index file's bytes, each checked against the manifest.

    What is parsed afterwards is exactly what was checked: a rebuild that swaps the
    directory while this runs makes a checksum fail instead of mixing two indexes.
    """
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


def load_index(
    index_dir: Path,
    corpus_dir: Path | None = None,
    embedder_fingerprint: str | None = None,
    chunking: ChunkSettings | None = None,
    backend: str | None = None,
) -> LoadedIndex:
    """The index in index_dir, whole and checked, or IndexNotFound/IndexCorrupt/IndexMismatch."""
    manifest = read_manifest(index_dir)
    try:
        check_fresh(manifest, corpus_dir, embedder_fingerprint, chunking, backend)
        return _read(index_dir, manifest, _read_verified(index_dir, manifest))
    except KeyError as exc:
        raise IndexCorrupt(f"{index_dir / MANIFEST} lacks {exc}: {REBUILD_HINT}") from exc
    # A manifest edited by hand can hold any JSON: whatever it breaks is reported, not raised.
    except (OSError, ValueError, RuntimeError, TypeError, AttributeError, IndexError) as exc:
        raise IndexCorrupt(f"{index_dir} cannot be read ({exc}): {REBUILD_HINT}") from exc


def _read(index_dir: Path, manifest: dict[str, Any], contents: dict[str, bytes]) -> LoadedIndex:
    records = [json.loads(line) for line in contents[PASSAGES].decode("utf-8").splitlines()]
    passages = [_passage_from_record(r) for r in records]
    vectors = faiss.deserialize_index(np.frombuffer(contents[PASSAGE_VECTORS], dtype=np.uint8))
    sentence_vectors = np.load(io.BytesIO(contents[SENTENCE_VECTORS]), allow_pickle=False)
    rows = [SentenceRow(*r) for r in json.loads(contents[SENTENCE_ROWS].decode("utf-8"))]
    if vectors.ntotal != len(passages) or vectors.d != manifest["model"]["dimension"]:
        raise IndexCorrupt(f"{index_dir / PASSAGE_VECTORS} does not match {PASSAGES}: {REBUILD_HINT}")
    if sentence_vectors.ndim != 2 or sentence_vectors.shape != (len(rows), vectors.d):
        raise IndexCorrupt(f"{index_dir / SENTENCE_VECTORS} does not match {SENTENCE_ROWS}: {REBUILD_HINT}")
    documents = {record["id"]: _document_from_record(record) for record in manifest["documents"]}
    return LoadedIndex(index_dir, manifest, documents, passages, vectors, sentence_vectors, rows)


def _document_from_record(record: dict[str, Any]) -> DocumentInfo:
    return DocumentInfo(
        id=record["id"],
        file=record["file"],
        hash=record["hash"],
        title=record["title"],
        authors=list(record["authors"]),
        affiliation=record["affiliation"],
        doi=record["doi"],
        year=record["year"],
        metadata=dict(record["metadata"]),
        sections=[Section(s["key"], s["number"], s["title"], tuple(s["path"])) for s in record["sections"]],
        references={
            int(n): Reference(int(n), r["citation"], r["start"], r["end"], r.get("author"), r.get("year"))
            for n, r in record["references"].items()
        },
    )


def _passage_from_record(record: dict[str, Any]) -> Passage:
    section = record["section"]
    return Passage(
        id=record["id"],
        doc_id=record["doc_id"],
        section=Section(section["key"], section["number"], section["title"], tuple(section["path"])),
        start=record["start"],
        end=record["end"],
        text=record["text"],
        references=tuple(record["references"]),
        sentences=tuple((s, e) for s, e in record["sentences"]),
    )
