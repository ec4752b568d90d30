"""The FAISS index of passage vectors: exact (flat) for small corpora, HNSW for large ones.

Both use inner product on unit vectors, i.e. cosine. A flat index compares the question
with every passage: about 10 µs for the article, tens of milliseconds at a million
passages. HNSW walks a graph instead and finds nearly the same nearest passages in well
under a millisecond; `make bench-scale` measures its recall against flat.
"""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np


@dataclass(frozen=True)
class AnnSettings:
    min_passages: int = 50_000
    m: int = 32
    ef_construction: int = 80
    ef_search: int = 64

    def kind_for(self, passages: int) -> str:
        return "hnsw" if passages >= self.min_passages else "flat"


def build_vector_index(vectors: np.ndarray, ann: AnnSettings, kind: str | None = None) -> faiss.Index:
    """kind: "flat" or "hnsw"; by default chosen by the number of vectors."""
    kind = kind or ann.kind_for(len(vectors))
    dimension = vectors.shape[1]
    index: faiss.Index
    if kind == "flat":
        index = faiss.IndexFlatIP(dimension)
    elif kind == "hnsw":
        hnsw = faiss.IndexHNSWFlat(dimension, ann.m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = ann.ef_construction
        hnsw.hnsw.efSearch = ann.ef_search
        index = hnsw
    else:
        raise ValueError(f"unknown vector index kind {kind!r}")
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def index_kind(index: faiss.Index) -> str:
    return "hnsw" if isinstance(index, faiss.IndexHNSW) else "flat"


def set_ef_search(index: faiss.Index, ef_search: int) -> None:
    """A loaded HNSW index searches as wide as the settings say, so it can be tuned without a rebuild."""
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = ef_search
