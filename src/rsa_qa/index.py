"""Build, save and load the index directory.

    index/
      manifest.json      what the index was built from (model, embedding backend, chunking,
                         corpus), and a sha256 of every file below
      passages.jsonl     the passages, one JSON object a line, in index order
      passages.faiss     FAISS inner-product index of unit-length passage vectors: flat
                         (exact), or HNSW from settings.ann_min_passages passages on
      sentences.npy      unit-length vectors of every sentence (for highlights and scoring)
      sentences.json     for each sentence row: passage row, start and end in passage text
      README.md          this description, for whoever opens the folder

A build writes into a temporary sibling directory and renames it into place, so a failed
build never leaves a half-written index and the previous one stays usable.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from rsa_qa import __version__
from rsa_qa.chunk import ChunkSettings, Passage, chunk_document
from rsa_qa.embed import Embedder
from rsa_qa.errors import REBUILD_HINT, CorpusError, IndexCorrupt, IndexMismatch, IndexNotFound
from rsa_qa.parse import Document, Reference, Section, parse_file
from rsa_qa.text import normalise
from rsa_qa.vector_index import AnnSettings, build_vector_index

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PASSAGES = "passages.jsonl"
PASSAGE_VECTORS = "passages.faiss"
SENTENCE_VECTORS = "sentences.npy"
SENTENCE_ROWS = "sentences.json"
CORPUS_SUFFIXES = (".txt", ".md")
DEFAULT_ANN = AnnSettings()
Progress = Callable[[str], None]


@dataclass(frozen=True)
class SentenceRow:
    passage: int
    start: int
    end: int


@dataclass
class LoadedIndex:
    directory: Path
    manifest: dict[str, Any]
    document: dict[str, Any]
    sections: list[Section]
    passages: list[Passage]
    references: dict[int, Reference]
    vectors: faiss.Index
    sentence_vectors: np.ndarray
    sentence_rows: list[SentenceRow]

    @property
    def version(self) -> str:
        return str(self.manifest["index_version"])


def corpus_files(corpus_dir: Path) -> list[Path]:
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus directory {corpus_dir} does not exist")
    files = sorted(p for p in corpus_dir.iterdir() if p.suffix in CORPUS_SUFFIXES and p.is_file())
    if not files:
        raise CorpusError(f"no .txt or .md article in {corpus_dir}")
    return files


def corpus_hash(corpus_dir: Path) -> str:
    digest = hashlib.sha256()
    for file in corpus_files(corpus_dir):
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def load_corpus(corpus_dir: Path) -> Document:
    files = corpus_files(corpus_dir)
    if len(files) > 1:
        names = ", ".join(f.name for f in files)
        raise CorpusError(f"{corpus_dir} holds {len(files)} articles ({names}); one is supported")
    return parse_file(files[0])


def build_index(
    corpus_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    chunking: ChunkSettings,
    progress: Progress = lambda _: None,
    ann: AnnSettings = DEFAULT_ANN,
) -> LoadedIndex:
    started = time.perf_counter()
    progress(f"parsing {corpus_dir}")
    document = load_corpus(corpus_dir)
    passages = chunk_document(document, embedder.count_tokens, chunking)
    progress(f"{len(document.sections)} sections, {len(passages)} passages")
    texts = [normalise(p.embedding_text(chunking.embed_section_titles)) for p in passages]
    progress(f"embedding {len(texts)} passages with {embedder.name} ({embedder.backend})")
    passage_vectors = embedder.encode(texts)
    sentence_rows = [
        SentenceRow(row, start, end)
        for row, passage in enumerate(passages)
        for start, end in passage.sentences
    ]
    progress(f"embedding {len(sentence_rows)} sentences")
    sentence_vectors = embedder.encode(
        [normalise(passages[r.passage].text[r.start : r.end]) for r in sentence_rows]
    )
    manifest = _manifest(corpus_dir, document, passages, embedder, chunking, ann)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.building-", dir=index_dir.parent))
    try:
        vector_index = build_vector_index(passage_vectors, ann)
        _write(staging, manifest, document, passages, vector_index, sentence_vectors, sentence_rows)
        _swap_into_place(staging, index_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    progress(
        f"index {manifest['index_version']} written to {index_dir} in {time.perf_counter() - started:.1f}s"
    )
    return load_index(
        index_dir, embedder_fingerprint=manifest["model"]["fingerprint"], backend=embedder.backend
    )


def _manifest(
    corpus_dir: Path,
    document: Document,
    passages: list[Passage],
    embedder: Embedder,
    chunking: ChunkSettings,
    ann: AnnSettings,
) -> dict[str, Any]:
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
        "vector_index": _vector_index_params(ann, len(passages)),
        "chunking": chunking.as_dict(),
        "corpus_hash": corpus_hash(corpus_dir),
        "passage_count": len(passages),
    }
    version = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    return identity | {
        "index_version": version,
        "document": {"id": document.id, "title": document.title},
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _vector_index_params(ann: AnnSettings, passages: int) -> dict[str, Any]:
    kind = ann.kind_for(passages)
    if kind == "hnsw":
        return {"kind": kind, "m": ann.m, "ef_construction": ann.ef_construction}
    if kind == "ivf":
        return {"kind": kind, "lists": ann.ivf_lists(passages)}
    return {"kind": kind}


def _write(
    directory: Path,
    manifest: dict[str, Any],
    document: Document,
    passages: list[Passage],
    vector_index: faiss.Index,
    sentence_vectors: np.ndarray,
    sentence_rows: list[SentenceRow],
) -> None:
    lines = [json.dumps(_passage_record(p, document), ensure_ascii=False, sort_keys=True) for p in passages]
    (directory / PASSAGES).write_text("\n".join(lines) + "\n", encoding="utf-8")
    faiss.write_index(vector_index, str(directory / PASSAGE_VECTORS))
    np.save(directory / SENTENCE_VECTORS, sentence_vectors, allow_pickle=False)
    rows = [[r.passage, r.start, r.end] for r in sentence_rows]
    (directory / SENTENCE_ROWS).write_text(json.dumps(rows), encoding="utf-8")
    (directory / "README.md").write_text(__doc__ or "", encoding="utf-8")
    manifest["document"] |= _document_metadata(document)
    manifest["files"] = {
        name: _sha256(directory / name)
        for name in (PASSAGES, PASSAGE_VECTORS, SENTENCE_VECTORS, SENTENCE_ROWS)
    }
    (directory / MANIFEST).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def _document_metadata(document: Document) -> dict[str, Any]:
    return {
        "sections": [
            {"key": s.key, "number": s.number, "title": s.title, "path": list(s.path)}
            for s in document.sections
        ],
        "authors": document.authors,
        "affiliation": document.affiliation,
        "doi": document.doi,
        "references": {
            str(n): {"citation": r.citation, "start": r.start, "end": r.end}
            for n, r in sorted(document.references.items())
        },
    }


def _passage_record(passage: Passage, document: Document) -> dict[str, Any]:
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
        _verify_files(index_dir, manifest)
    except (IndexNotFound, IndexCorrupt, IndexMismatch, KeyError):
        return False
    return True


def _verify_files(index_dir: Path, manifest: dict[str, Any]) -> None:
    for name, expected in manifest.get("files", {}).items():
        path = index_dir / name
        if not path.is_file():
            raise IndexCorrupt(f"{path} is missing: {REBUILD_HINT}")
        if _sha256(path) != expected:
            raise IndexCorrupt(f"{path} fails its checksum (truncated or modified): {REBUILD_HINT}")


def load_index(
    index_dir: Path,
    corpus_dir: Path | None = None,
    embedder_fingerprint: str | None = None,
    backend: str | None = None,
) -> LoadedIndex:
    manifest = read_manifest(index_dir)
    try:
        check_fresh(manifest, corpus_dir, embedder_fingerprint, backend=backend)
        _verify_files(index_dir, manifest)
        return _read(index_dir, manifest)
    except KeyError as exc:
        raise IndexCorrupt(f"{index_dir / MANIFEST} lacks {exc}: {REBUILD_HINT}") from exc
    except (OSError, ValueError, RuntimeError, TypeError) as exc:
        raise IndexCorrupt(f"{index_dir} cannot be read ({exc}): {REBUILD_HINT}") from exc


def _read(index_dir: Path, manifest: dict[str, Any]) -> LoadedIndex:
    records = [json.loads(line) for line in (index_dir / PASSAGES).read_text(encoding="utf-8").splitlines()]
    passages = [_passage_from_record(r) for r in records]
    vectors = faiss.read_index(str(index_dir / PASSAGE_VECTORS))
    sentence_vectors = np.load(index_dir / SENTENCE_VECTORS, allow_pickle=False)
    rows = [SentenceRow(*r) for r in json.loads((index_dir / SENTENCE_ROWS).read_text(encoding="utf-8"))]
    if vectors.ntotal != len(passages) or vectors.d != manifest["model"]["dimension"]:
        raise IndexCorrupt(f"{index_dir / PASSAGE_VECTORS} does not match {PASSAGES}: {REBUILD_HINT}")
    if len(sentence_vectors) != len(rows):
        raise IndexCorrupt(f"{index_dir / SENTENCE_VECTORS} does not match {SENTENCE_ROWS}: {REBUILD_HINT}")
    document = manifest["document"]
    references = {
        int(n): Reference(int(n), r["citation"], r["start"], r["end"])
        for n, r in document.get("references", {}).items()
    }
    sections = [Section(s["key"], s["number"], s["title"], tuple(s["path"])) for s in document["sections"]]
    return LoadedIndex(
        index_dir, manifest, document, sections, passages, references, vectors, sentence_vectors, rows
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
