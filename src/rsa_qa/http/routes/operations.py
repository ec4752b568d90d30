"""GET /health, GET /ready and POST /admin/reload: what operators and load balancers ask.

/admin/reload takes nothing from the request: the index is read from the configured
RSA_QA_INDEX_DIR, never from a path a client names. When RSA_QA_API_KEY is set it
requires the key, like every endpoint but /health.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from rsa_qa.errors import RsaQaError
from rsa_qa.http.errors import ERROR_CONTENT, error_response
from rsa_qa.schemas import Health, Readiness, ReloadResponse
from rsa_qa.service import Service


def operations_router(service: Service) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health", response_model=Health)
    def health() -> Health:
        """Liveness: 200 while the process runs."""
        return Health()

    @router.get("/ready", response_model=Readiness)
    def ready() -> JSONResponse:
        """Readiness: 200 once a valid index is loaded and the model is warm, 503 with the reason before."""
        searcher = service.searcher
        if searcher is None:
            body = Readiness(ready=False, reason=service.not_ready_reason)
            return JSONResponse(body.model_dump(), status_code=503)
        index = searcher.index
        body = Readiness(
            ready=True, index_version=index.version, passages=len(index.passages), stale=index.stale
        )
        return JSONResponse(body.model_dump())

    @router.post(
        "/admin/reload",
        response_model=ReloadResponse,
        responses={
            409: {
                "description": "The index on disk is missing, broken or built with another model or "
                "chunking; the served one is kept.",
                "content": ERROR_CONTENT,
            }
        },
    )
    async def reload(request: Request) -> ReloadResponse | JSONResponse:
        """Load the index on disk and swap it in; requests already running finish on the old one."""
        if await request.body():
            return error_response(
                422, "validation_error", "reload takes no body: it reads the configured index directory"
            )
        previous = service.searcher.index.version if service.searcher is not None else None
        try:
            done = await run_in_threadpool(service.reload)
        except RsaQaError as exc:
            kept = f"still serving index {previous}" if previous else "no index is served"
            return error_response(409, "reload_failed", f"{exc} ({kept})")
        return ReloadResponse(
            index_version=done.index_version,
            previous_version=done.previous_version,
            changed=done.changed,
            passages=done.passages,
            took_ms=done.took_ms,
        )

    return router
