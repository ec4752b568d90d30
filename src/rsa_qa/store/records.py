"""The index directory's files, and how passages and documents are written to and read from them.

index/  (a link to one version: see versions.py)
  manifest.json      what the index was built from (model, embedding backend, chunking,
                     the corpus and each document's hash, metadata, sections and
                     references) and a sha256 of every file below
  manifest.sha256    the sha256 of manifest.json itself: nothing in the folder is unchecked
  passages.jsonl     the passages, one JSON object a line, in index order
  passages.faiss     FAISS inner-product index of unit-length passage vectors: flat
                     (exact), or HNSW or IVF from settings.ann_min_passages passages on
  sentences.npy      unit-length vectors of every sentence (for highlights and scoring)
  sentences.json     for each sentence row: passage row, start and end in passage text
  README.md          this description, for whoever opens the folder
  model-<backend>.onnx  the exported model the passages were embedded with (ONNX backends),
                     so that a copy of the folder answers on a machine that never exported it
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rsa_qa.pipeline.chunk import Passage
from rsa_qa.pipeline.document import DocumentInfo, DocumentMeta, Reference, Section

FORMAT_VERSION = 4
MANIFEST = "manifest.json"
MANIFEST_CHECKSUM = "manifest.sha256"
README = "README.md"


def model_file(backend: str) -> str:
    """The exported model inside a version, named by its backend: a server configured for
    another backend does not take it for its own."""
    return f"model-{backend}.onnx"


PASSAGES = "passages.jsonl"
PASSAGE_VECTORS = "passages.faiss"
SENTENCE_VECTORS = "sentences.npy"
SENTENCE_ROWS = "sentences.json"
# Every index has these; manifest["files"] lists them (and model.onnx when there is one).
INDEX_FILES = (PASSAGES, PASSAGE_VECTORS, SENTENCE_VECTORS, SENTENCE_ROWS, README)
DESCRIPTION = __doc__ or ""


@dataclass(frozen=True)
class SentenceRow:
    passage: int
    start: int
    end: int


def section_record(section: Section) -> dict[str, Any]:
    return {"key": section.key, "number": section.number, "title": section.title, "path": list(section.path)}


def section_from_record(record: dict[str, Any]) -> Section:
    return Section(record["key"], record["number"], record["title"], tuple(record["path"]))


def document_record(info: DocumentInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "file": info.file,
        "hash": info.hash,
        **info.meta.model_dump(),
        "sections": [section_record(s) for s in info.sections],
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
        "abbreviations": dict(sorted(info.abbreviations.items())),
    }


def document_from_record(record: dict[str, Any]) -> DocumentInfo:
    return DocumentInfo(
        id=record["id"],
        file=record["file"],
        hash=record["hash"],
        meta=DocumentMeta.model_validate({name: record[name] for name in DocumentMeta.model_fields}),
        sections=[section_from_record(s) for s in record["sections"]],
        references={
            int(n): Reference(int(n), r["citation"], r["start"], r["end"], r.get("author"), r.get("year"))
            for n, r in record["references"].items()
        },
        abbreviations={str(k): str(v) for k, v in record["abbreviations"].items()},
    )


def passage_record(passage: Passage) -> dict[str, Any]:
    return {
        "id": passage.id,
        "doc_id": passage.doc_id,
        "section": section_record(passage.section),
        "start": passage.start,
        "end": passage.end,
        "text": passage.text,
        "references": list(passage.references),
        "sentences": [list(s) for s in passage.sentences],
    }


def passage_from_record(record: dict[str, Any]) -> Passage:
    return Passage(
        id=record["id"],
        doc_id=record["doc_id"],
        section=section_from_record(record["section"]),
        start=record["start"],
        end=record["end"],
        text=record["text"],
        references=tuple(record["references"]),
        sentences=tuple((s, e) for s, e in record["sentences"]),
    )
