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

from rsa_qa.errors import REBUILD_HINT, IndexCorrupt, IndexMismatch, IndexNotFound
from rsa_qa.pipeline.chunk import ChunkSettings
from rsa_qa.pipeline.corpus import corpus_files, corpus_hash
from rsa_qa.pipeline.document import DocumentInfo
from rsa_qa.pipeline.embed import Embedder
from rsa_qa.store.records import FORMAT_VERSION, MANIFEST, document_record
from rsa_qa.store.vector_index import AnnSettings
from rsa_qa.version import VERSION


def make_manifest(
    corpus_hash: str,
    documents: list[DocumentInfo],
    passage_count: int,
    embedder: Embedder,
    chunking: ChunkSettings,
    ann: AnnSettings,
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
    }
    version = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    return identity | {
        "index_version": version,
        "documents": [document_record(info) for info in documents],
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
    if corpus_dir is not None and corpus_dir.is_dir():
        if manifest["corpus_hash"] != corpus_hash(corpus_files(corpus_dir)):
            raise IndexMismatch(f"index is stale: {corpus_dir} changed since it was built; {REBUILD_HINT}")
