"""POST /query, GET /query and POST /query/batch: questions in, ranked passages out."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError

from rsa_qa.answers import elapsed_ms, run_query, search_options
from rsa_qa.errors import UnknownFilter
from rsa_qa.http.state import AppState, response_key
from rsa_qa.schemas import (
    MAX_DOCS,
    MAX_QUERY_CHARS,
    MAX_SECTIONS,
    MAX_TOP_K,
    QUERY_SCHEMA,
    BatchQueryRequest,
    BatchQueryResponse,
    DocSelector,
    QueryRequest,
    QueryResponse,
    SectionSelector,
)


def query_router(state: AppState) -> APIRouter:
    router = APIRouter(tags=["search"])
    service = state.service

    @router.post("/query", response_model=QueryResponse)
    async def query(request: QueryRequest) -> Response:
        """The passages that best answer the question, verbatim, with section and citations."""
        return _json(await answer(state, request))

    @router.get("/query", response_model=QueryResponse)
    async def query_get(
        q: Annotated[
            str,
            Query(
                description=f"The question, 1–{MAX_QUERY_CHARS} characters after surrounding whitespace "
                "is stripped.",
                json_schema_extra=QUERY_SCHEMA,
            ),
        ],
        top_k: Annotated[int, Query(ge=1, le=MAX_TOP_K)] = 5,
        sections: Annotated[
            list[SectionSelector] | None,
            Query(max_length=MAX_SECTIONS, description="Repeat for several sections."),
        ] = None,
        docs: Annotated[
            list[DocSelector] | None, Query(max_length=MAX_DOCS, description="Repeat for several documents.")
        ] = None,
        min_score: Annotated[float | None, Query(ge=-1.0, le=1.0)] = None,
        expand: Annotated[int, Query(ge=0, le=3)] = 0,
    ) -> Response:
        """The same as POST /query, for a browser or curl."""
        try:
            request = QueryRequest(
                query=q, top_k=top_k, sections=sections, docs=docs, min_score=min_score, expand=expand
            )
        except ValidationError as exc:
            raise RequestValidationError(_as_query_parameters(exc)) from exc
        return _json(await answer(state, request))

    @router.post("/query/batch", response_model=BatchQueryResponse)
    def query_batch(batch: BatchQueryRequest) -> BatchQueryResponse:
        """Several questions at once: embedded in one model call, answered in the order sent."""
        started = time.perf_counter()
        searcher = service.current_searcher()  # once, so a reload cannot split the batch
        for number, request in enumerate(batch.queries):
            try:
                searcher.check_filters(search_options(request))
            except UnknownFilter as exc:
                raise UnknownFilter(f"queries.{number}.{exc.field}", f"queries.{number}.{exc}") from exc
        vectors = searcher.embed_queries([q.query for q in batch.queries])
        responses = [
            run_query(searcher, request, query_vector=vector)
            for request, vector in zip(batch.queries, vectors, strict=True)
        ]
        return BatchQueryResponse(responses=responses, took_ms=elapsed_ms(started))

    return router


async def answer(state: AppState, request: QueryRequest) -> QueryResponse:
    """run_query for the server: from the cache, or with the question embedded on a model thread.

    The model runs outside the event loop (search/encoding.py); the search itself takes well
    under a millisecond on the article, so it runs here rather than paying a thread hop.
    """
    started = time.perf_counter()
    searcher = state.service.current_searcher()
    key = response_key(request.query, search_options(request), searcher.index.version)
    cached = state.responses.get(key)
    if cached is not None:
        return cached.model_copy(update={"took_ms": elapsed_ms(started)})
    vector = await state.encoder.vector(searcher.embedder, request.query)
    response = run_query(searcher, request, query_vector=vector, started=started)
    state.responses.put(key, response)
    return response


def _json(response: QueryResponse) -> Response:
    """The response, serialised once by pydantic: FastAPI would dump, validate and encode it again."""
    return Response(response.model_dump_json(), media_type="application/json")


def _as_query_parameters(exc: ValidationError) -> list[dict[str, object]]:
    """GET /query calls the question q; its errors say so, located in the query string."""
    return [
        {**error, "loc": ("query", *("q" if part == "query" else part for part in error.get("loc", ())))}
        for error in exc.errors()
    ]
