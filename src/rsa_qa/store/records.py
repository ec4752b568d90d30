"""The index directory's files, and how passages and documents are written to and read from them.

index/  (a link to one version: see versions.py)
  manifest.json      what the index was built from (model, embedding backend, chunking,
                     the corpus and each document's hash, metadata, sections and
                     references) and a sha256 of every file below
  manifest.sha256    the sha256 of manifest.json itself: nothing in the folder is unchecked
  passages.jsonl     the passages, one JSON object a line, in index order
  passages.offsets.npy  where each line starts (and the file's end): a passage is read
                     on its own, so that a large index is not parsed whole at start
  passages.faiss     FAISS inner-product index of unit-length passage vectors: flat
                     (exact), or HNSW or IVF from settings.ann_min_passages passages on
  sentences.npy      unit-length vectors of every sentence (for highlights and scoring)
  sentences.rows.npy for each sentence row: passage row, start and end in passage text
  search.*           what the searcher knows of every passage (BM25 postings, passage
                     kinds, sections, ids), worked out when the index is built
  README.md          this description, for whoever opens the folder
  model-<backend>.onnx  the exported model the passages were embedded with (ONNX backends),
                     so that a copy of the folder answers on a machine that never exported it
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np

from rsa_qa.pipeline.chunk import Passage
from rsa_qa.pipeline.document import DocumentInfo, DocumentMeta, Reference, Section

# 6: the searcher's tables hold the passages' word-piece vectors (late interaction), so an
# older index is rebuilt by `rsa-qa index --if-stale` rather than ranked without them.
FORMAT_VERSION = 6
MANIFEST = "manifest.json"
MANIFEST_CHECKSUM = "manifest.sha256"
README = "README.md"


def model_file(backend: str) -> str:
    """The exported model inside a version, named by its backend: a server configured for
    another backend does not take it for its own."""
    return f"model-{backend}.onnx"


PASSAGES = "passages.jsonl"
PASSAGE_OFFSETS = "passages.offsets.npy"
PASSAGE_VECTORS = "passages.faiss"
SENTENCE_VECTORS = "sentences.npy"
SENTENCE_ROWS = "sentences.rows.npy"
# Every index has these; manifest["files"] lists them (and model.onnx when there is one).
INDEX_FILES = (PASSAGES, PASSAGE_OFFSETS, PASSAGE_VECTORS, SENTENCE_VECTORS, SENTENCE_ROWS, README)
# From this many passages on, a loaded index reads each passage when it is first asked for
# (and keeps the most recent ones) instead of parsing them all at start.
LAZY_PASSAGES_FROM = 50_000
_KEPT_PASSAGES = 65_536
DESCRIPTION = __doc__ or ""


@dataclass(frozen=True)
class SentenceRow:
    passage: int
    start: int
    end: int


class SentenceRows(Sequence[SentenceRow]):
    """The sentence table as one (n, 3) integer array: passage row, start, end."""

    def __init__(self, array: np.ndarray) -> None:
        if array.ndim != 2 or array.shape[1] != 3:
            raise ValueError("a sentence table has three columns")
        self.array = array
        self.passage = array[:, 0]
        self.start = array[:, 1]
        self.end = array[:, 2]

    @classmethod
    def of(cls, rows: Sequence[SentenceRow] | Sequence[Sequence[int]]) -> SentenceRows:
        values = [(r.passage, r.start, r.end) if isinstance(r, SentenceRow) else tuple(r) for r in rows]
        return cls(np.array(values, dtype=np.int64).reshape(len(values), 3))

    @overload
    def __getitem__(self, index: int) -> SentenceRow: ...
    @overload
    def __getitem__(self, index: slice) -> list[SentenceRow]: ...
    def __getitem__(self, index: int | slice) -> SentenceRow | list[SentenceRow]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        passage, start, end = self.array[index].tolist()
        return SentenceRow(passage, start, end)

    def __len__(self) -> int:
        return len(self.array)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SentenceRows):
            return bool(np.array_equal(self.array, other.array))
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


class PassageList(Sequence[Passage]):
    """The passages of a loaded index, from passages.jsonl and its line offsets.

    A small index is parsed whole; a large one (LAZY_PASSAGES_FROM) parses a passage when it
    is asked for and keeps the most recent ones, so that a million passages are not parsed
    (seconds, gigabytes) before the first question.
    """

    def __init__(self, text: Any, offsets: np.ndarray) -> None:
        self._text = text  # bytes, or a read-only memory map of the file
        self._offsets = offsets
        self._count = len(offsets) - 1
        self._parsed: list[Passage] | None = None
        self._kept: OrderedDict[int, Passage] = OrderedDict()
        self._lock = threading.Lock()
        if self._count < LAZY_PASSAGES_FROM:
            self._parsed = [self._read(i) for i in range(self._count)]

    @property
    def lazy(self) -> bool:
        return self._parsed is None

    def _read(self, row: int) -> Passage:
        start, end = int(self._offsets[row]), int(self._offsets[row + 1])
        return passage_from_record(json.loads(bytes(self._text[start:end])))

    @overload
    def __getitem__(self, index: int) -> Passage: ...
    @overload
    def __getitem__(self, index: slice) -> list[Passage]: ...
    def __getitem__(self, index: int | slice) -> Passage | list[Passage]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        if self._parsed is not None:
            return self._parsed[index]
        row = index + self._count if index < 0 else index
        if not 0 <= row < self._count:
            raise IndexError("passage row out of range")
        with self._lock:
            passage = self._kept.get(row)
            if passage is not None:
                self._kept.move_to_end(row)
                return passage
        passage = self._read(row)
        with self._lock:
            self._kept[row] = passage
            if len(self._kept) > _KEPT_PASSAGES:
                self._kept.popitem(last=False)
        return passage

    def __iter__(self) -> Iterator[Passage]:
        if self._parsed is not None:
            return iter(self._parsed)
        return (self._read(i) for i in range(self._count))

    def __len__(self) -> int:
        return self._count

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and len(self) == len(other) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


def passage_lines(passages: Sequence[Passage]) -> tuple[bytes, np.ndarray]:
    """passages.jsonl's bytes and where each line starts, its end appended."""
    lines = [
        (json.dumps(passage_record(p), ensure_ascii=False, sort_keys=True) + "\n").encode() for p in passages
    ]
    offsets = np.zeros(len(lines) + 1, dtype=np.int64)
    np.cumsum([len(line) for line in lines], out=offsets[1:])
    return b"".join(lines), offsets


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
