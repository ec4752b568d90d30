"""create_app(settings): the FastAPI application, its routes, error handlers and middleware.

Every error leaves in one shape, {"error": {"code", "message", "field"}} (errors.py); no
route returns a traceback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from rsa_qa.config import Settings, get_settings
from rsa_qa.http.errors import ERROR_RESPONSES, add_error_handlers
from rsa_qa.http.middleware import install_middleware
from rsa_qa.http.routes.articles import articles_router
from rsa_qa.http.routes.mcp import mcp_router
from rsa_qa.http.routes.operations import operations_router
from rsa_qa.http.routes.query import query_router
from rsa_qa.http.routes.tools import tools_router
from rsa_qa.http.routes.web import web_router
from rsa_qa.http.state import AppState
from rsa_qa.mcp_server import build_mcp_server
from rsa_qa.service import Service
from rsa_qa.version import VERSION


def create_app(settings: Settings | None = None, service: Service | None = None) -> FastAPI:
    settings = settings or get_settings()
    state = AppState(service or Service(settings))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if state.service.searcher is None:
            state.service.start()
        yield
        state.encoder.close()

    app = FastAPI(
        title="rsa-qa",
        version=VERSION,
        summary="Verbatim, cited passages from scientific articles, found by retrieval only.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    app.state.server = state
    mcp = build_mcp_server(state.service)
    for router in (
        operations_router(state.service),
        query_router(state),
        articles_router(state.service),
        tools_router(mcp),
        mcp_router(mcp, settings),
        web_router(),
    ):
        app.include_router(router)
    add_error_handlers(app)
    install_middleware(app, settings)
    return app
