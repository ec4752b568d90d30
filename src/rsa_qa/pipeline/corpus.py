"""The corpus folder → documents: one per .txt, .md or .pdf file.

A document's id is its file name without the extension, as a slug
("immunological-factors-recurrent-miscarriage"). A sidecar file beside it,
NAME.meta.json or NAME.meta.yaml, may set "id" and override what parsing guessed
(title, authors, affiliation, doi, year); other keys are kept as metadata. Markdown
and text files may carry the same fields as YAML front matter.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rsa_qa.errors import CorpusError
from rsa_qa.pipeline.document import Document
from rsa_qa.pipeline.parse import apply_metadata, parse_text
from rsa_qa.pipeline.pdf import pdf_to_text

SUFFIXES = (".txt", ".md", ".pdf")
SIDECAR_SUFFIXES = (".meta.json", ".meta.yaml", ".meta.yml")


@dataclass(frozen=True)
class SourceFile:
    path: Path
    doc_id: str
    hash: str
    sidecar: Path | None
    metadata: dict[str, Any]


def corpus_files(corpus_dir: Path) -> list[SourceFile]:
    """Every article in corpus_dir, in file-name order, with its id and content hash."""
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus directory {corpus_dir} does not exist")
    # Text before Markdown before PDF: when two files share a name, the text keeps the
    # plain id and the other gets its format appended ("review" and "review-pdf").
    paths = sorted(
        (p for p in corpus_dir.iterdir() if p.is_file() and _is_article(p)),
        key=lambda p: (p.stem, SUFFIXES.index(p.suffix)),
    )
    if not paths:
        raise CorpusError(f"no .txt, .md or .pdf article in {corpus_dir}")
    sources: list[SourceFile] = []
    for path in paths:
        sidecar = _sidecar(path)
        metadata = _read_sidecar(sidecar) if sidecar else {}
        doc_id = _slug(str(metadata.get("id") or path.stem))
        if any(s.doc_id == doc_id for s in sources):
            doc_id = f"{doc_id}-{path.suffix.lstrip('.')}"
        digest = hashlib.sha256(path.read_bytes())
        if sidecar:
            digest.update(b"\0" + sidecar.read_bytes())
        sources.append(SourceFile(path, doc_id, digest.hexdigest(), sidecar, metadata))
    return sources


def corpus_hash(sources: list[SourceFile]) -> str:
    """One hash of the whole corpus, from the files' ids and hashes (computed once per build)."""
    digest = hashlib.sha256()
    for source in sources:
        digest.update(f"{source.doc_id}\0{source.hash}\0".encode())
    return digest.hexdigest()


def read_document(source: SourceFile) -> Document:
    if source.path.suffix == ".pdf":
        text = pdf_to_text(source.path)
    else:
        try:
            text = source.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CorpusError(f"cannot read {source.path}: {exc}") from exc
    document = parse_text(text, source.doc_id)
    apply_metadata(document, source.metadata)
    return document


def _is_article(path: Path) -> bool:
    return path.suffix in SUFFIXES and not path.name.startswith(".")


def _sidecar(path: Path) -> Path | None:
    for suffix in SIDECAR_SUFFIXES:
        candidate = path.with_name(path.stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def _read_sidecar(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as exc:
        raise CorpusError(f"cannot read metadata file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise CorpusError(f"{path} must hold a mapping of fields (title, authors, doi …)")
    return data


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if not slug:
        raise CorpusError(f"cannot make a document id from {name!r}")
    return slug
