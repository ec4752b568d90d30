"""The loaded state behind the API and the CLI: settings, model, index, searcher."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

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
    return load_index(settings.index_dir, settings.corpus_dir, embedder.fingerprint())


def rebuild_index(settings: Settings, embedder: Embedder, progress: Progress = print) -> BuildReport:
    return build_index(settings.corpus_dir, settings.index_dir, embedder, chunk_settings(settings), progress)


@dataclass
class Service:
    """What a running server holds; searcher is None until an index loads, with the reason."""

    settings: Settings
    searcher: Searcher | None = None
    not_ready_reason: str | None = "starting"

    def start(self) -> None:
        started = time.perf_counter()
        try:
            embedder = load_embedder(self.settings)
            index = open_index(self.settings, embedder)
            searcher = Searcher(index, embedder)
            searcher.embed_query("warm-up")  # the first encode is slow; pay for it before ready
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
