"""Exceptions raised by rsa_qa, and the one way a validation failure is put into words.

    RsaQaError
     ├── CorpusError            the corpus cannot be read or parsed
     ├── ModelError             the embedding model cannot be loaded
     ├── NotReady               no index is loaded (yet); the reason says what to run
     ├── PassageNotFound        no passage has the id asked for
     ├── UnknownFilter          a section or document filter names none the index holds
     └── IndexError_            base of the index problems below
          ├── IndexNotFound     no index where one was expected
          ├── IndexCorrupt      a file is missing, unreadable, truncated, fails its checksum,
          │                     or disagrees with another
          ├── IndexMismatch     built with another model, backend, chunking or version
          └── IndexWriteError   a build could not write or sync a file (a full disk)

Each carries a sentence meant for the user; the API, the MCP tools and the CLI show it as
it is (HTTP 503 for NotReady, 404 for PassageNotFound).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

REBUILD_HINT = "run `make index` (or `rsa-qa index`) to rebuild it"


class RsaQaError(Exception):
    """Base of every error rsa_qa raises on purpose."""


class CorpusError(RsaQaError):
    pass


class ModelError(RsaQaError):
    pass


class NotReady(RsaQaError):
    pass


class PassageNotFound(RsaQaError):
    pass


class UnknownFilter(RsaQaError):
    """A filter that names nothing in the index: refused, not answered with nothing."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class IndexError_(RsaQaError):  # noqa: N801 - the builtin IndexError means something else
    pass


class IndexNotFound(IndexError_):
    pass


class IndexCorrupt(IndexError_):
    pass


class IndexMismatch(IndexError_):
    pass


class IndexWriteError(IndexError_):
    pass


# Where FastAPI says a request field was; the field's own name follows.
_REQUEST_PARTS = ("body", "query", "path")


def describe_invalid(errors: Sequence[Mapping[str, Any]]) -> tuple[str | None, str]:
    """(field, message) for the first of pydantic's validation errors, as users are told it.

    field is dotted ("sections.0", "queries.1.query"); the message names the field unless
    it already begins with it ("query is blank; …").
    """
    first = errors[0] if errors else {}
    loc = tuple(first.get("loc", ()))
    if loc and loc[0] in _REQUEST_PARTS:
        loc = loc[1:]
    field = ".".join(str(part) for part in loc) or None
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    if field and not re.match(rf"{re.escape(field.split('.')[0])}\b", message):
        message = f"{field}: {message}"
    return field, message
