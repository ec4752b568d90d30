"""The loaded state behind the API and the CLI: settings, model, index, searcher.

A running server swaps in a rebuilt index with reload(): the new index is loaded and
checked completely on the side, then replaces the old one in a single assignment.
Requests already running keep the searcher they started with and finish on it; a reload
that fails leaves the served index as it was.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import faiss

from rsa_qa.chunk import ChunkSettings
from rsa_qa.config import Settings
from rsa_qa.embed import Embedder, create_embedder, embedder_fingerprint
from rsa_qa.errors import RsaQaError
from rsa_qa.index import BuildReport, LoadedIndex, Progress, build_index, is_fresh, load_index
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
        lone_threads=settings.lone_question_threads,
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
    index = load_index(
        settings.index_dir,
        settings.corpus_dir,
        embedder.fingerprint(),
        chunk_settings(settings),
        backend=embedder.backend,
    )
    tune(index.vectors, ann_settings(settings))
    return index


def open_searcher(settings: Settings, embedder: Embedder) -> Searcher:
    return Searcher(
        open_index(settings, embedder), embedder, settings.search_candidates, settings.lexical_budget
    )


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


def rebuild_index(settings: Settings, embedder: Embedder, progress: Progress = print) -> BuildReport:
    return build_index(
        settings.corpus_dir,
        settings.index_dir,
        embedder,
        chunk_settings(settings),
        progress,
        ann_settings(settings),
    )


@dataclass(frozen=True)
class Reloaded:
    index_version: str
    previous_version: str | None
    passages: int
    took_ms: float

    @property
    def changed(self) -> bool:
        return self.index_version != self.previous_version


@dataclass
class Service:
    """What a running server holds; searcher is None until an index loads, with the reason.

    Routes read service.searcher once per request, so reload() can replace it while serving.
    """

    settings: Settings
    searcher: Searcher | None = None
    not_ready_reason: str | None = "starting"
    # Kept when the first load finds no index, so that a reload does not load the model again.
    embedder: Embedder | None = None
    _reload_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    queries: QueryEngine = field(init=False)

    def __post_init__(self) -> None:
        self.queries = QueryEngine(self.settings)

    def start(self) -> None:
        # One question's vector search is too small to share out: OpenMP threads would only
        # contend with the event loop and the model for the two cores.
        faiss.omp_set_num_threads(self.settings.inference_threads)
        try:
            self.reload()
        except RsaQaError as exc:
            self.not_ready_reason = str(exc)
            log.error("not ready: %s", exc)

    def reload(self) -> Reloaded:
        """Load the index on disk and serve it; raises RsaQaError, serving the old one, if it cannot."""
        with self._reload_lock:
            started = time.perf_counter()
            previous = self.searcher
            if previous is not None:
                self.embedder = previous.embedder
            elif self.embedder is None:
                self.embedder = load_embedder(self.settings)
            embedder = self.embedder
            searcher = open_searcher(self.settings, embedder)
            index = searcher.index
            if previous is None:
                warm_up(searcher)
            self.searcher = searcher
            self.not_ready_reason = None
            settle_memory()
            done = Reloaded(
                index_version=index.version,
                previous_version=previous.index.version if previous is not None else None,
                passages=len(index.passages),
                took_ms=round((time.perf_counter() - started) * 1000, 1),
            )
        log.info(
            "index %s loaded (was %s): %d passages in %.0f ms",
            done.index_version,
            done.previous_version,
            done.passages,
            done.took_ms,
        )
        return done

    def reload_in_background(self) -> None:
        """For SIGHUP: reload on a thread, logging the outcome; the signal handler must not block."""

        def run() -> None:
            try:
                self.reload()
            except RsaQaError as exc:
                log.error("reload failed, still serving the previous index: %s", exc)

        threading.Thread(target=run, name="rsa-qa-reload", daemon=True).start()


def settle_memory() -> None:
    """Take the loaded index out of Python's cyclic garbage collection.

    A full collection walks every object: at a million passages (several million objects)
    one took tens of milliseconds, stalling whichever request it fell on. The index is
    never garbage, so it is frozen; unfrozen first, so that whatever a reload left
    unreachable is collected. Objects are still freed when their last reference goes.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


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
