"""POST /admin/reload: serve the index now on disk, after `rsa-qa index` rebuilt it.

It takes nothing from the request: the index is read from the configured RSA_QA_INDEX_DIR,
never from a path a client names. When RSA_QA_API_KEY is set it requires the key, like
every endpoint but /health.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from rsa_qa.errors import RsaQaError
from rsa_qa.http_errors import ERROR_CONTENT, error_response
from rsa_qa.schemas import ReloadResponse
from rsa_qa.service import Service


def admin_router(service: Service) -> APIRouter:
    router = APIRouter(prefix="/admin", tags=["operations"])

    @router.post(
        "/reload",
        response_model=ReloadResponse,
        responses={
            409: {
                "description": "The index on disk is missing, broken or stale; the served one is kept.",
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
