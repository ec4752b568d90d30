"""The loaded state behind the API and the CLI: settings, model, index, searcher.

A running server swaps in a rebuilt index with reload(): the new index is loaded and
checked completely on the side, then replaces the old one in a single assignment.
Requests already running keep the searcher they started with and finish on it; a reload
that fails leaves the served index as it was.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from rsa_qa.chunk import ChunkSettings
from rsa_qa.config import Settings
from rsa_qa.embed import Embedder, create_embedder
from rsa_qa.errors import RsaQaError
from rsa_qa.index import BuildReport, LoadedIndex, Progress, build_index, load_index
from rsa_qa.search import Searcher

log = logging.getLogger(__name__)


def chunk_settings(settings: Settings) -> ChunkSettings:
    return ChunkSettings(
        max_tokens=settings.chunk_max_tokens,
        model_max_tokens=settings.model_max_tokens,
        embed_section_titles=settings.embed_section_titles,
    )


def load_embedder(settings: Settings) -> Embedder:
    return create_embedder(settings.model_path, settings.model_name)


def open_index(settings: Settings, embedder: Embedder) -> LoadedIndex:
    return load_index(
        settings.index_dir, settings.corpus_dir, embedder.fingerprint(), chunk_settings(settings)
    )


def rebuild_index(settings: Settings, embedder: Embedder, progress: Progress = print) -> BuildReport:
    return build_index(settings.corpus_dir, settings.index_dir, embedder, chunk_settings(settings), progress)


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
    """What a running server holds; searcher is None until an index loads, with the reason."""

    settings: Settings
    searcher: Searcher | None = None
    not_ready_reason: str | None = "starting"
    # Kept when the first load finds no index, so that a reload does not load the model again.
    embedder: Embedder | None = None
    _reload_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def start(self) -> None:
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
            index = open_index(self.settings, embedder)
            searcher = Searcher(index, embedder)
            if previous is None:
                searcher.embed_query("warm-up")  # the first encode is slow; pay for it before ready
            self.searcher = searcher
            self.not_ready_reason = None
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
