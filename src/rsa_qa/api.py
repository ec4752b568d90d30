"""HTTP API: create_app(settings) builds the FastAPI application.

Every error leaves in one shape, {"error": {"code", "message", "field"}}, from the
handlers at the bottom; no route returns a traceback.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import numpy as np
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from rsa_qa import __version__
from rsa_qa.admin import admin_router
from rsa_qa.caching import LRUCache
from rsa_qa.chunk import Passage
from rsa_qa.config import Settings, get_settings
from rsa_qa.http_errors import error_response
from rsa_qa.index import DocumentInfo
from rsa_qa.middleware import install_middleware
from rsa_qa.querying import response_key
from rsa_qa.schemas import (
    MAX_QUERY_CHARS,
    MAX_TOP_K,
    DocRef,
    DocumentOut,
    DocumentsResponse,
    ErrorResponse,
    Health,
    Highlight,
    ListedReference,
    PassageOut,
    QueryRequest,
    QueryResponse,
    Readiness,
    ReferenceOut,
    ReferencesResponse,
    Result,
    Scores,
    SectionInfo,
    SectionRef,
    SectionsResponse,
)
from rsa_qa.search import Hit, Searcher, SearchOptions
from rsa_qa.service import Service

log = logging.getLogger(__name__)

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "Unknown passage id or path."},
    422: {"model": ErrorResponse, "description": "A field is missing, of the wrong type or out of range."},
    503: {"model": ErrorResponse, "description": "No valid index is loaded; the message says what to run."},
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def create_app(settings: Settings | None = None, service: Service | None = None) -> FastAPI:
    settings = settings or get_settings()
    service = service or Service(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if service.searcher is None:
            service.start()
        yield
        service.queries.batcher.close()

    app = FastAPI(
        title="rsa-qa",
        version=__version__,
        summary="Verbatim, cited passages from a review of immunological factors in recurrent miscarriage.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    app.state.service = service
    _add_routes(app, service)
    _add_chatbot_routes(app, service, settings)
    app.include_router(admin_router(service))
    _add_error_handlers(app)
    install_middleware(app, settings)
    return app


def _add_chatbot_routes(app: FastAPI, service: Service, settings: Settings) -> None:
    """MCP at /mcp, /tools, /query/batch and the search page at /."""
    # Imported here: these modules build on run_query and the helpers below.
    from rsa_qa.integrations import integrations_router
    from rsa_qa.mcp_server import build_mcp_server, mcp_http_router
    from rsa_qa.web import web_router

    mcp = build_mcp_server(service)
    app.include_router(mcp_http_router(mcp, settings))
    app.include_router(integrations_router(service, mcp))
    app.include_router(web_router())


def _searcher(service: Service) -> Searcher:
    if service.searcher is None:
        raise ApiError(503, "not_ready", service.not_ready_reason or "the index is not loaded")
    return service.searcher


def _add_routes(app: FastAPI, service: Service) -> None:
    @app.get("/health", response_model=Health, tags=["operations"])
    def health() -> Health:
        """Liveness: 200 while the process runs."""
        return Health()

    @app.get("/ready", response_model=Readiness, tags=["operations"])
    def ready() -> JSONResponse:
        """Readiness: 200 once a valid index is loaded and the model is warm, 503 with the reason before."""
        if service.searcher is None:
            body = Readiness(ready=False, reason=service.not_ready_reason)
            return JSONResponse(body.model_dump(), status_code=503)
        index = service.searcher.index
        body = Readiness(ready=True, index_version=index.version, passages=len(index.passages))
        return JSONResponse(body.model_dump())

    @app.post("/query", response_model=QueryResponse, tags=["search"])
    async def query(request: QueryRequest) -> Response:
        """The passages that best answer the question, verbatim, with section and citations."""
        return _json(await answer(service, request))

    @app.get("/query", response_model=QueryResponse, tags=["search"])
    async def query_get(
        q: Annotated[str, Query(description="The question.", max_length=10 * MAX_QUERY_CHARS)],
        top_k: Annotated[int, Query(ge=1, le=MAX_TOP_K)] = 5,
        sections: Annotated[list[str] | None, Query(description="Repeat for several sections.")] = None,
        docs: Annotated[list[str] | None, Query(description="Repeat for several documents.")] = None,
        min_score: Annotated[float | None, Query(ge=-1.0, le=1.0)] = None,
        expand: Annotated[int, Query(ge=0, le=3)] = 0,
    ) -> Response:
        """The same as POST /query, for a browser or curl."""
        try:
            request = QueryRequest(
                query=q, top_k=top_k, sections=sections, docs=docs, min_score=min_score, expand=expand
            )
        except ValidationError as exc:
            raise RequestValidationError(_rename_query_field(exc.errors())) from exc
        return _json(await answer(service, request))

    @app.get("/documents", response_model=DocumentsResponse, tags=["articles"])
    def documents() -> DocumentsResponse:
        """Every article in the index, with its metadata and section tree."""
        searcher = _searcher(service)
        counts = _passage_counts(searcher)
        return DocumentsResponse(documents=[_document(d, counts) for d in searcher.index.documents.values()])

    @app.get("/sections", response_model=SectionsResponse, tags=["articles"])
    def sections() -> SectionsResponse:
        """Every section of every article, in order, with how many passages it has."""
        return list_sections(_searcher(service))

    @app.get("/references", response_model=ReferencesResponse, tags=["articles"])
    def references() -> ReferencesResponse:
        """The reference lists, each entry with its document, marker and full citation."""
        searcher = _searcher(service)
        return ReferencesResponse(
            references=[
                ListedReference(doc_id=d.id, **_reference(searcher, d.id, n).model_dump())
                for d in searcher.index.documents.values()
                for n in sorted(d.references)
            ]
        )

    @app.get("/passages/{passage_id}", response_model=PassageOut, tags=["article"])
    def passage(passage_id: str) -> PassageOut:
        """One passage by id, as returned in results."""
        searcher = _searcher(service)
        found = searcher.passage_by_id(passage_id)
        if found is None:
            raise ApiError(404, "not_found", f"no passage with id {passage_id!r}", "passage_id")
        return passage_out(searcher, found)


async def answer(service: Service, request: QueryRequest) -> QueryResponse:
    """run_query for the server: from the cache, or with the question embedded in a micro-batch.

    The model runs outside the event loop (querying.py); the search itself takes well
    under a millisecond on the article, so it runs here rather than paying a thread hop.
    """
    started = time.perf_counter()
    searcher = _searcher(service)
    key = response_key(request.query, search_options(request), searcher.index.version)
    cached = service.queries.responses.get(key)
    if cached is not None:
        return cached.model_copy(update={"took_ms": _elapsed_ms(started)})
    vector = await service.queries.vector(searcher, request.query)
    response = run_query(searcher, request, query_vector=vector, started=started)
    service.queries.responses.put(key, response)
    return response


def _json(response: QueryResponse) -> Response:
    """The response, serialised once by pydantic: FastAPI would dump, validate and encode it again."""
    return Response(response.model_dump_json(), media_type="application/json")


def search_options(request: QueryRequest) -> SearchOptions:
    return SearchOptions(
        top_k=request.top_k,
        sections=tuple(request.sections) if request.sections else None,
        docs=tuple(request.docs) if request.docs else None,
        min_score=request.min_score,
        expand=request.expand,
    )


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def run_query(
    searcher: Searcher,
    request: QueryRequest,
    query_vector: np.ndarray | None = None,
    started: float | None = None,
) -> QueryResponse:
    started = time.perf_counter() if started is None else started
    found = searcher.search(request.query, search_options(request), query_vector=query_vector)
    return QueryResponse(
        query=request.query,
        results=[_result(searcher, hit) for hit in found.hits],
        in_scope=found.scope.in_scope,
        reason=found.scope.reason,
        index_version=searcher.index.version,
        took_ms=_elapsed_ms(started),
    )


# What a passage's results always carry (document, section, full citations), built once
# per passage and searcher: a response would otherwise validate every citation anew.
_PassageParts = tuple[DocRef, SectionRef, list[ReferenceOut]]
_parts_by_searcher: weakref.WeakKeyDictionary[Searcher, LRUCache[_PassageParts]] = weakref.WeakKeyDictionary()
_PARTS_KEPT = 4096


def _passage_parts(searcher: Searcher, passage: Passage) -> _PassageParts:
    cache = _parts_by_searcher.get(searcher)
    if cache is None:
        cache = _parts_by_searcher.setdefault(searcher, LRUCache(_PARTS_KEPT))
    parts = cache.get(passage.id)
    if parts is None:
        references = [_reference(searcher, passage.doc_id, n) for n in passage.references]
        parts = (_doc_ref(searcher, passage.doc_id), _section(passage), references)
        cache.put(passage.id, parts)
    return parts


def _result(searcher: Searcher, hit: Hit) -> Result:
    passage = hit.passage
    doc, section, references = _passage_parts(searcher, passage)
    return Result(
        id=passage.id,
        rank=hit.rank,
        score=round(hit.score, 6),
        text=passage.text,
        doc=doc,
        section=section,
        references=references,
        highlights=[Highlight(text=h.text, start=h.start, end=h.end) for h in hit.highlights],
        scores=Scores(
            dense=round(hit.dense, 6),
            lexical=round(hit.lexical, 6),
            coverage=round(hit.coverage, 6),
            fused=round(hit.score, 6),
        ),
        context_for=hit.context_for,
    )


def list_sections(searcher: Searcher) -> SectionsResponse:
    counts = _passage_counts(searcher)
    return SectionsResponse(
        sections=[s for d in searcher.index.documents.values() for s in _sections(d, counts)]
    )


def passage_out(searcher: Searcher, passage: Passage) -> PassageOut:
    doc, section, references = _passage_parts(searcher, passage)
    return PassageOut(
        id=passage.id,
        text=passage.text,
        doc=doc,
        section=section,
        references=references,
        start=passage.start,
        end=passage.end,
    )


def _section(passage: Passage) -> SectionRef:
    section = passage.section
    return SectionRef(number=section.number, title=section.title, path=list(section.path))


def _reference(searcher: Searcher, doc_id: str, number: int) -> ReferenceOut:
    reference = searcher.index.reference(doc_id, number)
    return ReferenceOut(number=number, marker=reference.marker, citation=reference.citation)


def _doc_ref(searcher: Searcher, doc_id: str) -> DocRef:
    info = searcher.index.documents[doc_id]
    return DocRef(id=info.id, title=info.title, authors=info.authors, doi=info.doi)


def _passage_counts(searcher: Searcher) -> Counter[tuple[str, str]]:
    """Passages per (document, section key), counted once for a whole listing."""
    return Counter((p.doc_id, p.section.key) for p in searcher.passages)


def _sections(info: DocumentInfo, counts: Counter[tuple[str, str]]) -> list[SectionInfo]:
    return [
        SectionInfo(
            doc_id=info.id,
            number=s.number,
            title=s.title,
            path=list(s.path),
            passage_count=counts[(info.id, s.key)],
        )
        for s in info.sections
    ]


def _document(info: DocumentInfo, counts: Counter[tuple[str, str]]) -> DocumentOut:
    sections = _sections(info, counts)
    return DocumentOut(
        id=info.id,
        title=info.title,
        authors=info.authors,
        affiliation=info.affiliation,
        doi=info.doi,
        year=info.year,
        file=info.file,
        passage_count=sum(s.passage_count for s in sections),
        metadata=info.metadata,
        sections=sections,
    )


def _rename_query_field(errors: Any) -> list[dict[str, Any]]:
    """GET /query calls the question q; say so in its errors."""
    renamed = []
    for error in errors:
        loc = tuple("q" if part == "query" else part for part in error.get("loc", ()))
        renamed.append({**error, "loc": ("query", *loc)})
    return renamed


def _field_of(loc: tuple[Any, ...]) -> str | None:
    """("body", "sections", 0) → "sections.0"; the first part only says where the field was."""
    parts = (
        [str(p) for p in loc[1:]] if loc and loc[0] in ("body", "query", "path") else [str(p) for p in loc]
    )
    return ".".join(parts) or None


def _error(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    return error_response(status, code, message, field)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, exc.field)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        field = _field_of(tuple(first.get("loc", ())))
        message = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
        if first.get("type") == "json_invalid":
            message, field = "the request body is not valid JSON", None
        elif tuple(first.get("loc", ())) == ("body",):
            message = "the request body must be a JSON object"
        elif field:
            message = f"{field}: {message}"
        return _error(422, "validation_error", message, field)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return _error(500, "internal_error", "an unexpected error occurred; it has been logged")
