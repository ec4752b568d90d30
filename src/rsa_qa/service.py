"""The loaded state behind the API and the CLI: settings, model, index, searcher."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import faiss

from rsa_qa.chunk import ChunkSettings
from rsa_qa.config import Settings
from rsa_qa.embed import Embedder, create_embedder, embedder_fingerprint
from rsa_qa.errors import RsaQaError
from rsa_qa.index import LoadedIndex, build_index, is_fresh, load_index
from rsa_qa.querying import QueryEngine
from rsa_qa.search import Searcher, SearchOptions
from rsa_qa.vector_index import AnnSettings, tune

log = logging.getLogger(__name__)


def chunk_settings(settings: Settings) -> ChunkSettings:
    return ChunkSettings(
        max_tokens=settings.chunk_max_tokens,
        model_max_tokens=settings.model_max_tokens,
        embed_section_titles=settings.embed_section_titles,
    )


def load_embedder(
    settings: Settings, export_if_missing: bool = False, threads: int | None = None
) -> Embedder:
    """The configured embedder; index builds pass export_if_missing (an export takes seconds)
    and may pass threads (a build has the cores to itself; a server shares them)."""
    return create_embedder(
        settings.model_path,
        settings.model_name,
        backend=settings.embedding_backend,
        cache_dir=settings.cache_dir,
        max_tokens=settings.model_max_tokens,
        threads=threads or settings.inference_threads,
        export_if_missing=export_if_missing,
    )


def ann_settings(settings: Settings) -> AnnSettings:
    return AnnSettings(
        min_passages=settings.ann_min_passages,
        ivf_min_passages=settings.ivf_min_passages,
        m=settings.hnsw_m,
        ef_construction=settings.hnsw_ef_construction,
        ef_search=settings.hnsw_ef_search,
        nprobe=settings.ivf_nprobe,
    )


def open_index(settings: Settings, embedder: Embedder) -> LoadedIndex:
    index = load_index(settings.index_dir, settings.corpus_dir, embedder.fingerprint(), embedder.backend)
    tune(index.vectors, ann_settings(settings))
    return index


def open_searcher(settings: Settings, embedder: Embedder) -> Searcher:
    return Searcher(open_index(settings, embedder), embedder, candidates=settings.search_candidates)


def index_is_fresh(settings: Settings) -> bool:
    fingerprint = embedder_fingerprint(
        Path(settings.model_path), settings.embedding_backend, settings.cache_dir
    )
    return is_fresh(
        settings.index_dir,
        settings.corpus_dir,
        fingerprint,
        chunk_settings(settings),
        settings.embedding_backend,
    )


def rebuild_index(settings: Settings, embedder: Embedder, progress=print) -> LoadedIndex:  # type: ignore[no-untyped-def]
    return build_index(
        settings.corpus_dir,
        settings.index_dir,
        embedder,
        chunk_settings(settings),
        progress,
        ann_settings(settings),
    )


@dataclass
class Service:
    """What a running server holds; searcher is None until an index loads, with the reason.

    Routes read service.searcher once per request, so it can be replaced while serving.
    """

    settings: Settings
    searcher: Searcher | None = None
    not_ready_reason: str | None = "starting"
    queries: QueryEngine = field(init=False)

    def __post_init__(self) -> None:
        self.queries = QueryEngine(self.settings)

    def start(self) -> None:
        started = time.perf_counter()
        # One question's vector search is too small to share out: OpenMP threads would only
        # contend with the event loop and the model for the two cores.
        faiss.omp_set_num_threads(self.settings.inference_threads)
        try:
            embedder = load_embedder(self.settings)
            searcher = open_searcher(self.settings, embedder)
            index = searcher.index
            warm_up(searcher)
        except RsaQaError as exc:
            self.not_ready_reason = str(exc)
            log.error("not ready: %s", exc)
            return
        self.searcher = searcher
        self.not_ready_reason = None
        log.info(
            "index %s loaded: %d passages, ready in %.1fs",
            index.version,
            len(index.passages),
            time.perf_counter() - started,
        )


WARM_UP_QUESTIONS = (
    "warm-up",
    "What daily dose of intravenous immunoglobulin was given, and for how long, to women with "
    "recurrent spontaneous abortion who were planning to become pregnant?",
)


def warm_up(searcher: Searcher) -> None:
    """Run the model and a search before ready: the first calls allocate and are slow."""
    vectors = searcher.embedder.encode(list(WARM_UP_QUESTIONS))
    for question, vector in zip(WARM_UP_QUESTIONS, vectors, strict=True):
        searcher.embed_query(question)
        searcher.search(question, SearchOptions(), query_vector=vector)
