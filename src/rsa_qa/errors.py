"""Exceptions raised by rsa_qa.

    RsaQaError
     ├── CorpusError            the corpus cannot be read or parsed
     ├── ModelError             the embedding model cannot be loaded
     └── IndexError_            base of the index problems below
          ├── IndexNotFound     no index where one was expected
          ├── IndexCorrupt      a file is missing, truncated or fails its checksum
          └── IndexMismatch     built from another corpus, model or version (stale)

Each carries a sentence meant for the user; the API and the CLI print it as it is.
"""

from __future__ import annotations

REBUILD_HINT = "run `make index` (or `rsa-qa index`) to rebuild it"


class RsaQaError(Exception):
    """Base of every error rsa_qa raises on purpose."""


class CorpusError(RsaQaError):
    pass


class ModelError(RsaQaError):
    pass


class IndexError_(RsaQaError):  # noqa: N801 - the builtin IndexError means something else
    pass


class IndexNotFound(IndexError_):
    pass


class IndexCorrupt(IndexError_):
    pass


class IndexMismatch(IndexError_):
    pass
