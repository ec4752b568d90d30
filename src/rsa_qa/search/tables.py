"""What the searcher knows of every passage, as arrays: worked out once, saved in the index.

Working these out means reading every passage: its search terms (BM25 over the passage, its
section title and what it cites), what kind of passage it is, its section and document.
At a million passages that took over a minute at every start, so a build works them out
(derive, which service.build_index hands to the build) and saves them in the index as
`search.*` files; SearchTables.of(index) reads them back memory-mapped, and works them out
only for an index that has none (one assembled in memory, or read from the database).
Saved or worked out, the tables are equal (tests/test_tables.py).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse

from rsa_qa.pipeline.chunk import Passage, section_context
from rsa_qa.pipeline.embed import Embedder, token_vectors
from rsa_qa.search.features import PassageTable
from rsa_qa.store.lexical import LexicalIndex
from rsa_qa.store.load import LoadedIndex
from rsa_qa.store.vector_index import exact_vectors
from rsa_qa.text import normalise, search_terms

log = logging.getLogger(__name__)
# Raised whenever what is saved changes meaning: an index with other tables works them out anew.
TABLES_VERSION = 1
PREFIX = "search."
_SMALL = f"{PREFIX}tables.json"  # everything that is not an array
Progress = Callable[[str], None]


@dataclass
class SearchTables:
    lexical: LexicalIndex
    table: PassageTable
    # Passage frequency of each term of the body's own text (not front matter, a reference
    # list, or the citations a passage is indexed with), and how many body passages there are.
    body_frequency: dict[str, int]
    body_passages: int
    # One unit mean vector per section; table.section_owner gives each passage's among them.
    section_vectors: np.ndarray
    section_keys: list[tuple[str, str]]  # (document, section key) of each of section_vectors' rows
    doc_of: np.ndarray  # each passage's document, numbered in the order of index.documents
    section_of: np.ndarray  # each passage's place in section_names
    section_names: list[tuple[str | None, str]]  # (number, key) of the filterable sections
    ids: list[str]
    id_rank: np.ndarray  # each passage's place among the ids in order: the ranking's tie-break
    citing: dict[tuple[str, int], list[int]]  # (document, reference number) -> citing body passages
    # Late interaction: each passage's word-piece vectors, when the build stored them.
    tokens: PassageTokens | None = None

    @classmethod
    def of(cls, index: LoadedIndex) -> SearchTables:
        saved = index.derived.get(_SMALL)
        if isinstance(saved, dict) and saved.get("version") == TABLES_VERSION:
            try:
                return cls._read(index, saved)
            except (KeyError, TypeError, ValueError) as exc:
                # Checksummed, so written this way by a build of another development state.
                log.warning("the index's search tables cannot be read (%r): working them out", exc)
        return cls.compute(index)

    @classmethod
    def compute(cls, index: LoadedIndex) -> SearchTables:
        passages = index.passages
        own_terms = [_own_terms(p) for p in passages]
        lexical = LexicalIndex(
            [own + _cited_terms(index, p) for p, own in zip(passages, own_terms, strict=True)]
        )
        table = PassageTable.of(passages)
        body_frequency = _passage_frequency(
            own for own, body in zip(own_terms, table.body, strict=True) if body
        )
        # In the order PassageTable numbers them: table.section_owner indexes this list.
        section_keys = list(dict.fromkeys((p.doc_id, p.section.key) for p in passages))
        owner = table.section_owner
        doc_number = {doc_id: i for i, doc_id in enumerate(index.documents)}
        names = list({(p.section.number, p.section.key): None for p in passages})
        name_number = {name: i for i, name in enumerate(names)}
        ids = [p.id for p in passages]
        id_rank = np.empty(len(ids), dtype=np.int64)
        id_rank[sorted(range(len(ids)), key=ids.__getitem__)] = np.arange(len(ids))
        citing: dict[tuple[str, int], list[int]] = defaultdict(list)
        for row, passage in enumerate(passages):
            if table.body[row]:
                for number in passage.references:
                    citing[(passage.doc_id, number)].append(row)
        return cls(
            lexical=lexical,
            table=table,
            body_frequency=body_frequency,
            body_passages=int(table.body.sum()),
            section_vectors=_section_means(exact_vectors(index.vectors), owner, len(section_keys)),
            section_keys=section_keys,
            doc_of=np.array([doc_number[p.doc_id] for p in passages], dtype=np.int32),
            section_of=np.array(
                [name_number[(p.section.number, p.section.key)] for p in passages], dtype=np.int32
            ),
            section_names=names,
            ids=ids,
            id_rank=id_rank,
            citing=dict(citing),
        )

    def files(self) -> dict[str, Any]:
        """The tables as files of an index: name -> array, or a JSON value."""
        size, term_ids, arrays = self.lexical.to_arrays()
        files: dict[str, Any] = {f"{PREFIX}lexical.{name}.npy": array for name, array in arrays.items()}
        files |= {f"{PREFIX}kinds.{name}.npy": getattr(self.table, name) for name in PassageTable.ARRAYS}
        files |= {
            f"{PREFIX}section_vectors.npy": self.section_vectors,
            f"{PREFIX}section_owner.npy": self.table.section_owner,
            f"{PREFIX}doc_of.npy": self.doc_of,
            f"{PREFIX}section_of.npy": self.section_of,
            f"{PREFIX}id_rank.npy": self.id_rank,
        }
        files[_SMALL] = {
            "version": TABLES_VERSION,
            "passages": size,
            "term_ids": term_ids,
            "body_frequency": self.body_frequency,
            "body_passages": self.body_passages,
            "section_names": [list(name) for name in self.section_names],
            "section_keys": [list(key) for key in self.section_keys],
            "section_terms": [sorted(terms) for terms in self.table.section_terms],
            "ids": self.ids,
            "citing": [[doc_id, number, rows] for (doc_id, number), rows in self.citing.items()],
        }
        return files

    @classmethod
    def _read(cls, index: LoadedIndex, small: dict[str, Any]) -> SearchTables:
        files = index.derived
        arrays = {name: files[f"{PREFIX}lexical.{name}.npy"] for name in LexicalIndex.ARRAYS}
        section_terms = tuple(frozenset(terms) for terms in small["section_terms"])
        owner = files[f"{PREFIX}section_owner.npy"]
        table = PassageTable.from_arrays(
            {name: files[f"{PREFIX}kinds.{name}.npy"] for name in PassageTable.ARRAYS}, section_terms, owner
        )
        return cls(
            lexical=LexicalIndex.from_arrays(int(small["passages"]), dict(small["term_ids"]), arrays),
            table=table,
            body_frequency=dict(small["body_frequency"]),
            body_passages=int(small["body_passages"]),
            section_vectors=files[f"{PREFIX}section_vectors.npy"],
            section_keys=[(doc_id, key) for doc_id, key in small["section_keys"]],
            doc_of=files[f"{PREFIX}doc_of.npy"],
            section_of=files[f"{PREFIX}section_of.npy"],
            section_names=[(number, key) for number, key in small["section_names"]],
            ids=list(small["ids"]),
            id_rank=files[f"{PREFIX}id_rank.npy"],
            citing={(doc_id, int(number)): list(rows) for doc_id, number, rows in small["citing"]},
            tokens=PassageTokens.read(files),
        )


def derive(
    index: LoadedIndex, embedder: Embedder | None = None, token_limit: int = 0, progress: Progress = print
) -> dict[str, Any]:
    """For the build: the searcher's tables of an index being written, as its files, and
    with an embedder the passages' word-piece vectors when there are at most token_limit."""
    files = SearchTables.compute(index).files()
    if embedder is not None and 0 < len(index.passages) <= token_limit:
        titled = bool(index.manifest.get("chunking", {}).get("embed_section_titles", True))
        texts = [normalise(p.embedding_text(titled)) for p in index.passages]
        tokens = PassageTokens.encode(embedder, texts, progress)
        if tokens is not None:
            files |= tokens.files()
    return files


@dataclass(frozen=True)
class PassageTokens:
    """Every passage's word-piece vectors, int8 with one scale a vector (a quarter of float32's
    bytes; cosines within about 0.005), and where each passage's rows start."""

    vectors: np.ndarray  # (word pieces, dimension) int8
    scale: np.ndarray  # (word pieces,) float32: vectors[i] * scale[i] is the unit vector
    start: np.ndarray  # (passages + 1,) int64: passage r's rows are start[r]:start[r + 1]
    FILES = ("tokens.vectors.npy", "tokens.scale.npy", "tokens.start.npy")

    @classmethod
    def encode(cls, embedder: Embedder, texts: Sequence[str], progress: Progress) -> PassageTokens | None:
        if getattr(embedder, "encode_with_tokens", None) is None:
            return None
        progress(f"word-piece vectors of {len(texts)} passages, for late interaction")
        pieces = []
        for text in texts:
            encoded = token_vectors(embedder, text)
            assert encoded is not None
            pieces.append(encoded[1:] if len(encoded) > 1 else encoded[:1])  # never a passage without rows
        stacked = np.vstack(pieces)
        scale = np.maximum(np.abs(stacked).max(axis=1), 1e-12) / 127.0
        vectors = np.round(stacked / scale[:, np.newaxis]).astype(np.int8)
        start = np.concatenate(([0], np.cumsum([len(p) for p in pieces]))).astype(np.int64)
        return cls(vectors, scale.astype(np.float32), start)

    def files(self) -> dict[str, Any]:
        arrays = (self.vectors, self.scale, self.start)
        return {f"{PREFIX}{name}": array for name, array in zip(self.FILES, arrays, strict=True)}

    @classmethod
    def read(cls, files: dict[str, Any]) -> PassageTokens | None:
        if not all(f"{PREFIX}{name}" in files for name in cls.FILES):
            return None
        return cls(*(files[f"{PREFIX}{name}"] for name in cls.FILES))


def _own_terms(passage: Passage) -> list[str]:
    return search_terms(f"{section_context(passage.section)} {passage.text}")


def _cited_terms(index: LoadedIndex, passage: Passage) -> list[str]:
    """A passage is also found by the works it cites ("Carp's trial")."""
    citations = " ".join(
        index.reference(passage.doc_id, n).citation
        for n in passage.references
        if not passage.text.startswith(f"[{n}]")  # an entry's own citation is its text
    )
    return search_terms(citations) if citations else []


def lexical_terms(index: LoadedIndex, passage: Passage) -> list[str]:
    """What BM25 indexes of a passage: its section title, its text and what it cites."""
    return _own_terms(passage) + _cited_terms(index, passage)


def _passage_frequency(term_lists: Iterable[list[str]]) -> dict[str, int]:
    """For each term, how many of the passages hold it."""
    counts: Counter[str] = Counter()
    for terms in term_lists:
        counts.update(set(terms))
    return dict(counts)


def _section_means(vectors: np.ndarray, owner: np.ndarray, sections: int) -> np.ndarray:
    # A sparse sum: numpy's add.at is unbuffered and took 1.7 s at 100k passages.
    membership = scipy.sparse.csr_matrix(
        (np.ones(len(owner), dtype=np.float32), (owner, np.arange(len(owner)))), shape=(sections, len(owner))
    )
    means = np.asarray(membership @ vectors, dtype=np.float32).reshape(sections, vectors.shape[1])
    means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
    return means
