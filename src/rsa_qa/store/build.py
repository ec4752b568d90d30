"""Build the index directory from the corpus.

A build writes a new version beside the others, syncs it, loads it back as a server would,
and only then points the index path at it (versions.py): a failed or killed build never
leaves a half-written index, and the previous one stays served and on disk. Every write is
checked (files.py): a full disk stops the build with one sentence. A rebuild re-embeds only
the documents whose content changed since the previous index.

One bad file does not stop a build: a file that cannot be read or parsed (truncated,
encrypted, scanned without text) is skipped with one line saying why, and listed in the
report and the manifest; with strict=True the build fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rsa_qa.errors import CorpusError, RsaQaError
from rsa_qa.pipeline.chunk import ChunkSettings, Passage, chunk_document
from rsa_qa.pipeline.corpus import SourceFile, corpus_files, corpus_hash, read_document
from rsa_qa.pipeline.document import DocumentInfo
from rsa_qa.pipeline.embed import Embedder
from rsa_qa.store.files import (
    fsync_directory,
    sha256_file,
    sha256_of,
    write_array,
    write_bytes,
    write_faiss,
    write_with,
)
from rsa_qa.store.load import LoadedIndex, load_index
from rsa_qa.store.manifest import check_compatible, make_manifest
from rsa_qa.store.records import (
    DESCRIPTION,
    INDEX_FILES,
    MANIFEST,
    MANIFEST_CHECKSUM,
    PASSAGE_OFFSETS,
    PASSAGE_VECTORS,
    PASSAGES,
    README,
    SENTENCE_ROWS,
    SENTENCE_VECTORS,
    SentenceRows,
    model_file,
    passage_lines,
)
from rsa_qa.store.vector_index import AnnSettings, build_vector_index
from rsa_qa.store.versions import build_lock, new_staging, prune, publish, served_version, tidy
from rsa_qa.text import normalise

EMBED_BATCH = 256
# Versions kept on disk: the one served and the ones `rsa-qa index --rollback` can go back to.
KEEP_VERSIONS = 3
DEFAULT_ANN = AnnSettings()
Progress = Callable[[str], None]
# Works out, from an index being written, files for the layers above to read back at load
# (name -> array, or a JSON value); the searcher's tables (search/tables.py) are one.
Derive = Callable[[LoadedIndex], dict[str, Any]]


@dataclass
class BuildReport:
    index: LoadedIndex
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # file, id, hash, reason
    seconds: float = 0.0
    # Set when the build was published to a database and became its current version.
    published: bool = False

    def summary(self) -> str:
        parts = [
            f"{len(getattr(self, name))} {name}" for name in ("added", "changed", "removed", "unchanged")
        ]
        names = [
            f"{name}: {', '.join(getattr(self, name))}"
            for name in ("added", "changed", "removed")
            if getattr(self, name)
        ]
        names += [f"skipped {s['file']}: {s['reason']}" for s in self.skipped]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        return "documents " + ", ".join(parts) + ("\n  " + "\n  ".join(names) if names else "")


@dataclass
class Part:
    """One document's share of the new index: its passages and their vectors."""

    info: DocumentInfo
    passages: list[Passage]
    vectors: np.ndarray | None = None
    sentence_vectors: np.ndarray | None = None


def build_index_at(
    corpus_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    chunking: ChunkSettings,
    progress: Progress = lambda _: None,
    ann: AnnSettings = DEFAULT_ANN,
    strict: bool = False,
    keep: int = KEEP_VERSIONS,
    derive: Derive | None = None,
) -> BuildReport:
    with build_lock(index_dir):
        tidy(index_dir, is_complete, progress)
        return _build(corpus_dir, index_dir, embedder, chunking, progress, ann, strict, keep, derive)


def _build(
    corpus_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    chunking: ChunkSettings,
    progress: Progress,
    ann: AnnSettings,
    strict: bool,
    keep: int,
    derive: Derive | None,
) -> BuildReport:
    started = time.perf_counter()
    sources = corpus_files(corpus_dir)
    previous = _reusable(index_dir, embedder, chunking, progress)
    old = previous.documents if previous else {}
    previous_rows = _rows_by_document(previous) if previous else {}
    added: list[str] = []
    changed: list[str] = []
    unchanged: list[str] = []
    parts: list[Part] = []
    skipped: list[dict[str, str]] = []
    for source in sources:
        known = old.get(source.doc_id)
        if previous is not None and known is not None and known.hash == source.hash:
            parts.append(_reused_part(previous, known, *previous_rows[known.id]))
            unchanged.append(source.doc_id)
            continue
        try:
            parts.append(_parsed_part(source, embedder, chunking))
        except Exception as exc:  # noqa: BLE001 - any file's failure is that file's, not the build's
            reason = _why_unreadable(exc)
            if strict:
                raise CorpusError(
                    f"{source.path.name}: {reason} (without --strict it would be skipped)"
                ) from exc
            progress(f"skipped {source.path.name}: {reason}")
            skipped.append(
                {"file": source.path.name, "id": source.doc_id, "hash": source.hash, "reason": reason}
            )
            continue
        (changed if known else added).append(source.doc_id)
    if not parts:
        raise CorpusError(
            f"no article in {corpus_dir} could be read: "
            + "; ".join(f"{s['file']}: {s['reason']}" for s in skipped)
        )
    # A document whose file has become unreadable leaves the index with its file.
    removed = sorted(set(old) - {part.info.id for part in parts})
    progress(
        f"parsed {len(sources)} documents from {corpus_dir}: {sum(len(p.passages) for p in parts)} passages"
    )
    _embed_new(parts, embedder, chunking, progress)
    passage_count = sum(len(part.passages) for part in parts)
    infos = [part.info for part in parts]
    manifest = make_manifest(
        corpus_hash(sources), infos, passage_count, embedder, chunking, ann, skipped, corpus_dir
    )
    if previous is not None and previous.version == manifest["index_version"]:
        progress(f"index {previous.version} is already built from this corpus: nothing written")
        # A build killed after it switched `current` has not tidied up: this one does.
        _remove_unversioned_files(index_dir)
        _prune(index_dir, keep, is_complete, progress)
        return BuildReport(index=previous, unchanged=unchanged, skipped=skipped)
    staging = new_staging(index_dir)
    try:
        write_files(staging, manifest, parts, ann, getattr(embedder, "onnx_file", None), derive)
        # Loaded back as a server will load it, before anything points at it.
        checked = load_index(
            staging, embedder_fingerprint=manifest["model"]["fingerprint"], backend=embedder.backend
        )
        checked.directory = publish(index_dir, staging, manifest["index_version"])
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _remove_unversioned_files(index_dir)
    _prune(index_dir, keep, is_complete, progress)
    report = BuildReport(
        index=checked,
        added=added,
        changed=changed,
        removed=removed,
        unchanged=unchanged,
        skipped=skipped,
        seconds=time.perf_counter() - started,
    )
    progress(report.summary())
    progress(f"index {manifest['index_version']} written to {index_dir} in {report.seconds:.1f}s")
    return report


def _reusable(
    index_dir: Path, embedder: Embedder, chunking: ChunkSettings, progress: Progress
) -> LoadedIndex | None:
    """The previous index, when its vectors can be kept for unchanged documents."""
    if not (served_version(index_dir) / MANIFEST).is_file():
        return None
    try:
        previous = load_index(
            index_dir, embedder_fingerprint=embedder.fingerprint(), backend=embedder.backend
        )
        check_compatible(previous.manifest, None, chunking)
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
) -> Part:
    vectors = np.vstack([previous.vectors.reconstruct(i) for i in rows]) if rows else None
    return Part(
        info=info,
        passages=[previous.passages[i] for i in rows],
        vectors=vectors,
        sentence_vectors=previous.sentence_vectors[sentence_rows],
    )


def _parsed_part(source: SourceFile, embedder: Embedder, chunking: ChunkSettings) -> Part:
    document = read_document(source)
    passages = chunk_document(document, embedder.count_tokens, chunking)
    if not passages:
        raise CorpusError("no text to index (a scanned PDF needs OCR first)")
    return Part(info=document.info(source.path.name, source.hash), passages=passages)


def _why_unreadable(exc: Exception) -> str:
    """One line for the build log: the error's own words for ours, its kind for others."""
    if isinstance(exc, RsaQaError):
        return str(exc)
    return f"cannot be parsed ({type(exc).__name__}: {exc})"


def _embed_new(parts: list[Part], embedder: Embedder, chunking: ChunkSettings, progress: Progress) -> None:
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


def write_files(
    directory: Path,
    manifest: dict[str, Any],
    parts: list[Part],
    ann: AnnSettings,
    model: Path | None,
    derive: Derive | None = None,
) -> None:
    """Every file of a version, each checked and synced, then the manifest and its checksum."""
    passages = [p for part in parts for p in part.passages]
    text, offsets = passage_lines(passages)
    write_bytes(directory / PASSAGES, text)
    write_array(directory / PASSAGE_OFFSETS, offsets)
    dimension = int(manifest["model"]["dimension"])
    vectors = [part.vectors for part in parts if part.vectors is not None and len(part.vectors)]
    stacked_vectors = np.vstack(vectors) if vectors else np.zeros((0, dimension), np.float32)
    vector_index = build_vector_index(stacked_vectors, ann)
    write_faiss(directory / PASSAGE_VECTORS, vector_index)
    sentence_vectors = [part.sentence_vectors for part in parts if part.sentence_vectors is not None]
    stacked = np.vstack(sentence_vectors) if sentence_vectors else np.zeros((0, dimension), np.float32)
    write_array(directory / SENTENCE_VECTORS, stacked.astype(np.float32))
    rows = SentenceRows.of(
        [(row, s, e) for row, passage in enumerate(passages) for s, e in passage.sentences]
    )
    write_array(directory / SENTENCE_ROWS, rows.array)
    write_bytes(directory / README, DESCRIPTION.encode())
    names = list(INDEX_FILES)
    if derive is not None:
        documents = {part.info.id: part.info for part in parts}
        built = LoadedIndex(directory, manifest, documents, passages, vector_index, stacked, rows)
        derived = derive(built)
        for name, value in derived.items():
            if isinstance(value, np.ndarray):
                write_array(directory / name, np.ascontiguousarray(value))
            else:
                write_bytes(directory / name, json.dumps(value, ensure_ascii=False).encode())
        manifest["derived"] = list(derived)
        names += list(derived)
    if model is not None:
        name = model_file(str(manifest["model"]["backend"]))
        _place_model(model, directory / name)
        names.append(name)
    manifest["files"] = {name: sha256_file(directory / name) for name in names}
    body = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
    write_bytes(directory / MANIFEST, body)
    write_bytes(directory / MANIFEST_CHECKSUM, (sha256_of(body) + "\n").encode())
    fsync_directory(directory)


def _place_model(model: Path, target: Path) -> None:
    """The exported model inside the version: a hard link to the cache's copy (exports are
    never changed in place) where the file system allows, a copy elsewhere."""
    try:
        os.link(model, target)
        return
    except OSError:
        pass
    with model.open("rb") as source:
        write_with(target, lambda handle: shutil.copyfileobj(source, handle, 1 << 20))


def _prune(index_dir: Path, keep: int, complete: Callable[[Path], bool], progress: Progress) -> None:
    for pruned in prune(index_dir, keep, complete):
        progress(f"removed old version {pruned.name} (keeping {keep})")


def _remove_unversioned_files(index_dir: Path) -> None:
    """An index built before versions kept its files in the folder itself; `current` now
    names a version, so they are dead weight."""
    for name in (MANIFEST, MANIFEST_CHECKSUM, PASSAGES, PASSAGE_VECTORS, SENTENCE_VECTORS, "sentences.json"):
        (index_dir / name).unlink(missing_ok=True)


def is_complete(version: Path) -> bool:
    """A version whose manifest is whole (what a build publishes only after checking it)."""
    try:
        manifest = (version / MANIFEST).read_bytes()
        recorded = (version / MANIFEST_CHECKSUM).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return False
    return recorded == sha256_of(manifest) + "\n"
