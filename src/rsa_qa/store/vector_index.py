"""The FAISS index of passage vectors: exact (flat) for small corpora, approximate for large.

All use inner product on unit vectors, i.e. cosine. A flat index compares the question
with every passage: about 10 µs for the article, tens of milliseconds at a million
passages. HNSW walks a graph and finds nearly the same nearest passages in well under a
millisecond, but building the graph takes minutes from a few hundred thousand passages on
two cores. IVF sorts the passages into clusters and scans only the few nearest the
question; it builds in under a minute at a million. Its lists hold 8-bit codes of the
vectors (a quarter of the memory to scan), and the best of them are re-ranked with the
exact vectors, so its scores, and what reconstruct() returns, are exact. So: flat, then
HNSW, then IVF, by size. `make bench-scale` measures each one's recall against flat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np

KINDS = ("flat", "hnsw", "ivf")
# k-means for IVF learns from this many vectors per list at most (FAISS wants >= 39).
IVF_TRAINING_PER_LIST = 64
# IVF re-ranks this many times the passages asked for with their exact vectors. At a
# million synthetic passages, 4 and 16 gave the same recall@10.
IVF_REFINE_FACTOR = 4


@dataclass(frozen=True)
class AnnSettings:
    min_passages: int = 50_000
    ivf_min_passages: int = 500_000
    m: int = 32
    ef_construction: int = 80
    ef_search: int = 256
    nprobe: int = 64

    def kind_for(self, passages: int) -> str:
        if passages < self.min_passages:
            return "flat"
        return "hnsw" if passages < self.ivf_min_passages else "ivf"

    def ivf_lists(self, passages: int) -> int:
        # 4 x sqrt(n), the low end of FAISS's advice: at a million passages, 4,000 lists of
        # 250 reached the recall of 1,000 lists of 1,000 scanning a third as many vectors.
        # Never so many that a list would learn from fewer than FAISS's 39 vectors.
        return max(1, min(int(round(4 * passages**0.5)), passages // 39))


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
    elif kind == "ivf":
        index = _trained_ivf(vectors, ann)
    else:
        raise ValueError(f"unknown vector index kind {kind!r}")
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def _trained_ivf(vectors: np.ndarray, ann: AnnSettings) -> faiss.Index:
    lists = ann.ivf_lists(len(vectors))
    quantiser = faiss.IndexFlatIP(vectors.shape[1])
    # One 8-bit range for every dimension (uniform), of the vector itself (no residual): at
    # a million passages it scans lists 30 % faster than per-dimension ranges of residuals,
    # at the same recall, which is bounded by the lists probed rather than by the codes.
    ivf = faiss.IndexIVFScalarQuantizer(
        quantiser,
        vectors.shape[1],
        lists,
        faiss.ScalarQuantizer.QT_8bit_uniform,
        faiss.METRIC_INNER_PRODUCT,
        False,  # by_residual
    )
    # A fixed sample keeps rebuilds deterministic and training quick at a million vectors.
    sample = np.random.default_rng(0).permutation(len(vectors))[: lists * IVF_TRAINING_PER_LIST]
    ivf.cp.seed = 0
    ivf.train(np.ascontiguousarray(vectors[np.sort(sample)], dtype=np.float32))
    ivf.nprobe = ann.nprobe
    refined = faiss.IndexRefineFlat(ivf)
    refined.k_factor = IVF_REFINE_FACTOR
    return refined


def exact_vectors(index: faiss.Index) -> np.ndarray:
    """The index's exact vectors, row i for id i, read-only.

    Every kind here keeps them in a flat store (the flat index itself, HNSW's storage,
    IVF's refinement index), and the array is a view of that store rather than a copy: at
    a million passages a copy would take another 1.5 GB. The view is only valid while the
    index lives, so whoever keeps it must keep the index too (the Searcher keeps both).
    """
    store = index
    if isinstance(index, faiss.IndexRefine):
        store = faiss.downcast_index(index.refine_index)
    elif isinstance(index, faiss.IndexHNSW):
        store = faiss.downcast_index(index.storage)
    if not isinstance(store, faiss.IndexFlat) or store.ntotal == 0:
        vectors: np.ndarray = index.reconstruct_n(0, index.ntotal)
        return vectors
    view: np.ndarray = faiss.rev_swig_ptr(store.get_xb(), store.ntotal * store.d)
    view = view.reshape(store.ntotal, store.d)
    view.flags.writeable = False
    return view


def index_kind(index: faiss.Index) -> str:
    if isinstance(index, faiss.IndexHNSW):
        return "hnsw"
    return "ivf" if isinstance(index, faiss.IndexIVF | faiss.IndexRefine) else "flat"


def tune(index: faiss.Index, ann: AnnSettings) -> None:
    """How wide a loaded index searches comes from the settings: tuned without a rebuild."""
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = ann.ef_search
    elif isinstance(index, faiss.IndexIVF | faiss.IndexRefine):
        faiss.extract_index_ivf(index).nprobe = ann.nprobe


@dataclass(frozen=True)
class Within:
    """The passages a filtered search may return: a flag per passage row, and the keys of
    the sections the filter names, for a store that filters by section rather than by row."""

    rows: np.ndarray
    section_keys: tuple[str, ...] | None = None

    @property
    def share(self) -> float:
        return float(self.rows.mean()) if len(self.rows) else 0.0


# A filtered search looks as much wider as the filter is narrower, up to this many times:
# HNSW and IVF find the nearest passages of the whole index, and a filter that keeps 5 %
# of it keeps about 5 % of what they find.
MAX_WIDENING = 64


def search_within(index: faiss.Index, vector: np.ndarray, count: int, within: Within) -> np.ndarray:
    """The rows nearest the vector among those within allows, best first: the index's own
    search restricted to them (FAISS's ID selectors), widened for the filter's narrowness."""
    bits = np.packbits(within.rows, bitorder="little")
    selector = faiss.IDSelectorBitmap(len(within.rows), faiss.swig_ptr(bits))
    widening = min(MAX_WIDENING, max(1.0, 1.0 / max(within.share, 1e-9)))
    params = _restricted(index, selector, widening)
    question = np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32)
    _, found = index.search(question, count, params=params)
    rows: np.ndarray = found[0]
    return rows[rows >= 0]


def _restricted(index: faiss.Index, selector: faiss.IDSelector, widening: float) -> Any:
    """Search parameters of the index's kind, with the selector. SWIG does not keep the C++
    objects that another points to alive: the outermost holds them, as FAISS's own wrappers do."""
    params: Any
    if isinstance(index, faiss.IndexHNSW):
        params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]  # missing from faiss's stubs
        params.efSearch = int(index.hnsw.efSearch * widening)
    elif isinstance(index, faiss.IndexRefine):
        ivf = faiss.extract_index_ivf(index)
        base = faiss.SearchParametersIVF()
        base.nprobe = min(ivf.nlist, int(ivf.nprobe * widening))
        base.sel = selector
        params = faiss.IndexRefineSearchParameters()
        params.k_factor = index.k_factor
        params.base_index_params = base
        params.referenced_objects = [base, selector]
        return params
    else:
        params = faiss.SearchParameters()
    params.sel = selector
    params.referenced_objects = [selector]
    return params
