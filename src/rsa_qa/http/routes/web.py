"""The search page: GET / serves a static page that asks /query and /sections from the browser.

No build step and nothing from a CDN: the page is three files in rsa_qa/http/static/.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent.parent / "static"


def web_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    router.mount("/static", StaticFiles(directory=STATIC), name="static")
    return router
