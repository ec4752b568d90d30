"""create_app(settings): the FastAPI application, its routes, error handlers and middleware.

Every error leaves in one shape, {"error": {"code", "message", "field"}} (errors.py); no
route returns a traceback. /docs (Swagger UI) and /redoc load their scripts and styles from the
fastapi-offline package, served under /static-offline-docs, so they work with no internet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi_offline import FastAPIOffline

from rsa_qa.config import Settings, get_settings
from rsa_qa.http.errors import ERROR_RESPONSES, add_error_handlers
from rsa_qa.http.middleware import install_middleware
from rsa_qa.http.openapi import install_openapi
from rsa_qa.http.routes.articles import articles_router
from rsa_qa.http.routes.mcp import mcp_router
from rsa_qa.http.routes.operations import operations_router
from rsa_qa.http.routes.query import query_router
from rsa_qa.http.routes.tools import tools_router
from rsa_qa.http.routes.web import STATIC, web_router
from rsa_qa.http.state import AppState
from rsa_qa.mcp_server import build_mcp_server
from rsa_qa.service import Service
from rsa_qa.version import VERSION

# Where fastapi-offline serves the files of Swagger UI (/docs) and ReDoc (/redoc).
DOCS_ASSETS = "/static-offline-docs"


def create_app(settings: Settings | None = None, service: Service | None = None) -> FastAPI:
    settings = settings or get_settings()
    state = AppState(service or Service(settings))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if state.service.searcher is None:
            state.service.start()
        yield
        state.service.stop()
        state.encoder.close()

    # FastAPI with /docs pointed at local copies of Swagger UI's files instead of a CDN.
    app = FastAPIOffline(
        redoc_url=None,
        static_url=DOCS_ASSETS,
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

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )
        # ReDoc's script shows its maker's logo from their CDN: images come from this server only.
        page.headers["Content-Security-Policy"] = "img-src 'self' data: blob:"
        return page

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(STATIC / "favicon.ico", media_type="image/x-icon")

    add_error_handlers(app)
    install_middleware(app, settings)
    # Last: it lists the index's values on the schema the middleware has finished documenting.
    install_openapi(app, state.service)
    return app
