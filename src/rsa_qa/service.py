"""The loaded state behind every front end: settings, model, index, searcher.

open_searcher() is the one place a Searcher is made from settings: the server, the MCP
server, `rsa-qa query` and in-process `rsa-qa eval` all get theirs from it, so they search
with the same candidates, budget and vector-index width.

A running server swaps in a rebuilt index with reload(): the new index is loaded and
checked completely on the side, then replaces the old one in a single assignment.
Requests already running keep the searcher they started with and finish on it; a reload
that fails leaves the served index as it was.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import faiss

from rsa_qa.config import Settings
from rsa_qa.errors import NotReady, RsaQaError
from rsa_qa.pipeline.chunk import ChunkSettings
from rsa_qa.pipeline.embed import Embedder, create_embedder, embedder_fingerprint
from rsa_qa.search.model import Models, load_models
from rsa_qa.search.searcher import Searcher, SearchOptions
from rsa_qa.search.tables import derive as derive_search_tables
from rsa_qa.store.build import BuildReport, Progress, build_index_at
from rsa_qa.store.database import DatabaseError, current_version, load_from_database, publish
from rsa_qa.store.load import LoadedIndex, is_fresh, load_index
from rsa_qa.store.manifest import read_manifest
from rsa_qa.store.records import model_file
from rsa_qa.store.vector_index import AnnSettings, tune
from rsa_qa.store.versions import served_version

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
        shipped_export=served_version(settings.index_dir) / model_file(settings.embedding_backend),
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


def open_index(settings: Settings, embedder: Embedder, previous: LoadedIndex | None = None) -> LoadedIndex:
    """The configured index, checked: the database's current version when RSA_QA_DATABASE_URL
    is set, else the index directory's. Compared for staleness with the corpus folder when
    one is configured (RSA_QA_CORPUS_DIR, --corpus), else with the one it was built from.
    `previous`, the index served, lends the database's version the documents both hold."""
    explicit = "corpus_dir" in settings.model_fields_set
    corpus_dir = settings.corpus_dir if explicit else None
    if settings.database_url is not None:
        index = load_from_database(
            settings.database_url.get_secret_value(),
            ann_settings(settings),
            corpus_dir,
            embedder.fingerprint(),
            chunk_settings(settings),
            backend=embedder.backend,
            previous=previous,
        )
    else:
        index = load_index(
            settings.index_dir, corpus_dir, embedder.fingerprint(), chunk_settings(settings), embedder.backend
        )
    tune(index.vectors, ann_settings(settings))
    return index


def open_searcher(
    settings: Settings,
    embedder: Embedder | None = None,
    models: Models | None = None,
    previous: LoadedIndex | None = None,
) -> Searcher:
    """The index in settings.index_dir, checked, behind a Searcher configured by settings,
    ranking with the fitted models (or the ones given)."""
    embedder = embedder or load_embedder(settings)
    return Searcher(
        open_index(settings, embedder, previous),
        embedder,
        settings.search_candidates,
        settings.lexical_budget,
        models or load_models(),
    )


def index_is_fresh(settings: Settings) -> bool:
    """True when the index directory matches the corpus and, with a database, is the
    version the database serves."""
    fingerprint = embedder_fingerprint(
        Path(settings.model_path), settings.embedding_backend, settings.cache_dir
    )
    fresh = is_fresh(
        settings.index_dir,
        settings.corpus_dir,
        fingerprint,
        chunk_settings(settings),
        settings.embedding_backend,
    )
    if not fresh or settings.database_url is None:
        return fresh
    try:
        built = read_manifest(served_version(settings.index_dir).resolve())["index_version"]
        return current_version(settings.database_url.get_secret_value()) == str(built)
    except (RsaQaError, KeyError, OSError):
        return False


def build_index(
    settings: Settings, embedder: Embedder | None = None, progress: Progress = print, strict: bool = False
) -> BuildReport:
    """Build settings.index_dir from settings.corpus_dir, re-embedding only what changed,
    and publish it to the database when RSA_QA_DATABASE_URL is set.

    Without an embedder it loads the configured one, making its ONNX export if missing,
    with every core: a build has the machine to itself.
    """
    embedder = embedder or load_embedder(settings, export_if_missing=True, threads=os.cpu_count())
    report = build_index_at(
        settings.corpus_dir,
        settings.index_dir,
        embedder,
        chunk_settings(settings),
        progress,
        ann_settings(settings),
        strict=strict,
        derive=partial(
            derive_search_tables,
            embedder=embedder,
            token_limit=settings.late_interaction_passages,
            progress=progress,
        ),
    )
    if settings.database_url is not None:
        # The directory is the build's workspace; the database is where replicas read it.
        report.published = publish(report.index, settings.database_url.get_secret_value(), progress)
    return report


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
    _stopping: threading.Event = field(default_factory=threading.Event, repr=False)

    def current_searcher(self) -> Searcher:
        """The searcher to answer with, or NotReady with the reason: the one such guard."""
        searcher = self.searcher
        if searcher is None:
            raise NotReady(self.not_ready_reason or "the index is not loaded yet")
        return searcher

    def start(self) -> None:
        # One question's vector search is too small to share out: OpenMP threads would only
        # contend with the event loop and the model for the two cores.
        faiss.omp_set_num_threads(self.settings.inference_threads)
        try:
            self.reload()
        except RsaQaError as exc:
            self.not_ready_reason = str(exc)
            log.error("not ready: %s", exc)
        if self.settings.database_url is not None:
            self.follow_database()

    def stop(self) -> None:
        self._stopping.set()

    def follow_database(self) -> threading.Thread:
        """Every database_poll_s, load the database's current version if it is not the one
        served: replicas on one database pick up a publish with no reload call."""
        assert self.settings.database_url is not None
        url = self.settings.database_url.get_secret_value()

        def run() -> None:
            refused: str | None = None  # a version that failed its checks is not loaded again
            unreachable: str | None = None
            while not self._stopping.wait(self.settings.database_poll_s):
                wanted = None
                try:
                    wanted = current_version(url)
                    served = self.searcher.index.version if self.searcher is not None else None
                    unreachable = None
                    if wanted is not None and wanted not in (served, refused):
                        self.reload()
                except DatabaseError as exc:
                    if str(exc) != unreachable:  # once per outage, not every poll
                        log.error("cannot follow the database, still serving what was loaded: %s", exc)
                    unreachable = str(exc)
                except RsaQaError as exc:
                    refused = wanted
                    log.error("version %s refused, still serving what was loaded: %s", wanted, exc)

        thread = threading.Thread(target=run, name="rsa-qa-follow", daemon=True)
        thread.start()
        return thread

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
            searcher = open_searcher(
                self.settings, embedder, previous=previous.index if previous is not None else None
            )
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
        if index.stale:
            log.warning("serving a stale index: %s", index.stale)
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


# Words enough for a question of a typical length; the first sentence of the index's
# first passage is added, so the warm-up searches something the corpus holds.
WARM_UP_WORDS = 24


def warm_up_questions(searcher: Searcher) -> list[str]:
    first = searcher.passages[0].text.split() if searcher.passages else []
    return ["warm-up", " ".join(first[:WARM_UP_WORDS]) + "?" if first else "What does the article say?"]


def warm_up(searcher: Searcher) -> None:
    """Run the model and a search before ready: the first calls allocate and are slow."""
    questions = warm_up_questions(searcher)
    vectors = searcher.embedder.encode(questions)
    for question, vector in zip(questions, vectors, strict=True):
        searcher.embed_query(question)
        searcher.search(question, SearchOptions(), query_vector=vector)
