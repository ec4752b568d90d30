"""manifest.json: what an index was built from, and the check that it still matches.

The manifest's identity part (format, package version, model, chunking, corpus hash …)
names the index: its hash is the index_version every response carries.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from rsa_qa.errors import REBUILD_HINT, IndexCorrupt, IndexMismatch, IndexNotFound, RsaQaError
from rsa_qa.pipeline.chunk import ChunkSettings
from rsa_qa.pipeline.corpus import corpus_files, corpus_hash
from rsa_qa.pipeline.document import DocumentInfo
from rsa_qa.pipeline.embed import Embedder
from rsa_qa.pipeline.pdf import pdf_reader_fingerprint
from rsa_qa.store.files import describe_os_error, read_checked, sha256_of
from rsa_qa.store.records import FORMAT_VERSION, MANIFEST, MANIFEST_CHECKSUM, document_record
from rsa_qa.store.vector_index import AnnSettings
from rsa_qa.store.versions import served_version
from rsa_qa.version import VERSION


def make_manifest(
    corpus_hash: str,
    documents: list[DocumentInfo],
    passage_count: int,
    embedder: Embedder,
    chunking: ChunkSettings,
    ann: AnnSettings,
    skipped: list[dict[str, str]] | None = None,
    corpus_dir: Path | None = None,
) -> dict[str, Any]:
    """The manifest of a new index; build.py adds the files' checksums once they are written."""
    identity = {
        "format_version": FORMAT_VERSION,
        "package_version": VERSION,
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
        "corpus_hash": corpus_hash,
        "document_hashes": {info.id: info.hash for info in documents},
        "passage_count": passage_count,
        # Files of the corpus that could not be read: kept out of the index, and named with
        # the hash they had, so that a fixed file makes the index stale and is tried again.
        "skipped": skipped or [],
    }
    # Which reader made the passages of PDFs; an index of no PDF does not depend on it, and
    # keeps its version when the reader changes.
    files = [info.file for info in documents] + [entry["file"] for entry in skipped or []]
    if any(Path(name).suffix == ".pdf" for name in files):
        identity["pdf_reader"] = pdf_reader_fingerprint()
    version = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    return identity | {
        "index_version": version,
        "documents": [document_record(info) for info in documents],
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        # Where the corpus was: a server compares against it while it exists, unless told
        # of another folder. Not part of the identity: a copy elsewhere is the same index.
        "corpus_dir": str(corpus_dir.resolve()) if corpus_dir is not None else None,
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


def read_manifest(index_dir: Path) -> dict[str, Any]:
    """The served version's manifest, after its own checksum (manifest.sha256) has been checked."""
    index_dir = served_version(index_dir)
    path = index_dir / MANIFEST
    try:
        present = path.exists() or path.is_symlink()
    except OSError as exc:
        raise IndexCorrupt(f"{index_dir} cannot be read ({describe_os_error(exc)}): {REBUILD_HINT}") from exc
    if not present:
        raise IndexNotFound(f"no index in {index_dir}: {REBUILD_HINT}")
    body = read_checked(path)
    recorded = read_checked(index_dir / MANIFEST_CHECKSUM)
    if recorded != (sha256_of(body) + "\n").encode():
        raise IndexCorrupt(f"{path} fails its checksum ({MANIFEST_CHECKSUM}): {REBUILD_HINT}")
    try:
        manifest = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorrupt(f"{path} is unreadable ({exc}): {REBUILD_HINT}") from exc
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatch(f"{path} has an unknown format: {REBUILD_HINT}")
    return manifest


def check_compatible(
    manifest: dict[str, Any],
    embedder_fingerprint: str | None,
    chunking: ChunkSettings | None = None,
    backend: str | None = None,
) -> None:
    """Raise IndexMismatch when the index cannot be searched with what is here: another
    package version, model, backend or chunking would give wrong answers, so it is refused.

    Passage vectors and question vectors must come from the same model through the same
    backend: the backends agree closely, not exactly, so a mix is refused.
    """
    if manifest.get("package_version") != VERSION:
        raise IndexMismatch(
            f"index built by rsa-qa {manifest.get('package_version')}, this is {VERSION}: {REBUILD_HINT}"
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


def corpus_changes(manifest: dict[str, Any], corpus_dir: Path | None) -> str | None:
    """Why the index no longer matches the corpus folder, or None when it does. Without a
    folder, the one it was built from, if it is still there.

    A changed corpus does not make the index wrong, only behind: it is served, and /ready
    and the logs say what changed and what to run.
    """
    if corpus_dir is None and manifest.get("corpus_dir"):
        corpus_dir = Path(str(manifest["corpus_dir"]))
    if corpus_dir is None or not corpus_dir.is_dir():
        return None
    try:
        sources = corpus_files(corpus_dir)
    except RsaQaError as exc:
        return f"the corpus cannot be listed ({exc})"
    if manifest["corpus_hash"] == corpus_hash(sources):
        if manifest.get("pdf_reader") != pdf_reader_fingerprint() and any(
            source.path.suffix == ".pdf" for source in sources
        ):
            return f"the PDFs of {corpus_dir} were read by another version of the PDF reader: {REBUILD_HINT}"
        return None
    built = dict(manifest.get("document_hashes", {}))
    built.update({s["id"]: s["hash"] for s in manifest.get("skipped", []) if "id" in s})
    now = {s.doc_id: s.hash for s in sources}
    changes = [
        ("added", sorted(set(now) - set(built))),
        ("changed", sorted(d for d in set(now) & set(built) if now[d] != built[d])),
        ("removed", sorted(set(built) - set(now))),
    ]
    named = "; ".join(f"{kind}: {', '.join(ids)}" for kind, ids in changes if ids)
    return f"{corpus_dir} changed since the index was built ({named or 'renamed files'}): {REBUILD_HINT}"
