"""rsa-qa: retrieval-only question answering over scientific articles.

The public Python API, for use without the HTTP server::

    from rsa_qa import QueryRequest, Settings, build_index, open_searcher, run_query

    settings = Settings(corpus_dir="corpus", index_dir="index")
    build_index(settings)                       # corpus/ → index/ (re-embeds what changed)
    searcher = open_searcher(settings)          # the index, checked, with the model
    response = run_query(searcher, QueryRequest(query="What daily IVIG dose did Carp give?"))
    for result in response.results:
        print(result.rank, result.section.path, result.text, result.references)

Names are imported on first use, so `import rsa_qa` stays cheap for the command line.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from rsa_qa.version import VERSION

__version__ = VERSION

if TYPE_CHECKING:
    from rsa_qa.answers import run_query
    from rsa_qa.config import Settings, get_settings
    from rsa_qa.errors import (
        CorpusError,
        IndexCorrupt,
        IndexMismatch,
        IndexNotFound,
        IndexWriteError,
        ModelError,
        NotReady,
        PassageNotFound,
        RsaQaError,
    )
    from rsa_qa.schemas import (
        DocRef,
        Highlight,
        PassageOut,
        QueryRequest,
        QueryResponse,
        ReferenceOut,
        Result,
        Scores,
        SectionRef,
    )
    from rsa_qa.search.searcher import Searcher, SearchOptions
    from rsa_qa.service import build_index, open_searcher

# Public name → the module that defines it.
_EXPORTS = {
    "Settings": "rsa_qa.config",
    "get_settings": "rsa_qa.config",
    "build_index": "rsa_qa.service",
    "open_searcher": "rsa_qa.service",
    "Searcher": "rsa_qa.search.searcher",
    "SearchOptions": "rsa_qa.search.searcher",
    "run_query": "rsa_qa.answers",
    "QueryRequest": "rsa_qa.schemas",
    "QueryResponse": "rsa_qa.schemas",
    "Result": "rsa_qa.schemas",
    "DocRef": "rsa_qa.schemas",
    "SectionRef": "rsa_qa.schemas",
    "ReferenceOut": "rsa_qa.schemas",
    "Highlight": "rsa_qa.schemas",
    "Scores": "rsa_qa.schemas",
    "PassageOut": "rsa_qa.schemas",
    "RsaQaError": "rsa_qa.errors",
    "CorpusError": "rsa_qa.errors",
    "ModelError": "rsa_qa.errors",
    "NotReady": "rsa_qa.errors",
    "PassageNotFound": "rsa_qa.errors",
    "IndexNotFound": "rsa_qa.errors",
    "IndexCorrupt": "rsa_qa.errors",
    "IndexMismatch": "rsa_qa.errors",
    "IndexWriteError": "rsa_qa.errors",
}

__all__ = [
    "__version__",
    "Settings",
    "get_settings",
    "build_index",
    "open_searcher",
    "Searcher",
    "SearchOptions",
    "run_query",
    "QueryRequest",
    "QueryResponse",
    "Result",
    "DocRef",
    "SectionRef",
    "ReferenceOut",
    "Highlight",
    "Scores",
    "PassageOut",
    "RsaQaError",
    "CorpusError",
    "ModelError",
    "NotReady",
    "PassageNotFound",
    "IndexNotFound",
    "IndexCorrupt",
    "IndexMismatch",
    "IndexWriteError",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rsa_qa' has no attribute {name!r}")
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
