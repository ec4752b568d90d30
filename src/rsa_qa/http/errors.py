"""The API's one error shape, {"error": {"code", "message", "field"}}, and the handlers that make it.

Routes, exception handlers and middleware all answer through error_response(), so a client
parses every failure the same way whichever layer refused the request. The core's own
exceptions map to statuses here: NotReady → 503, PassageNotFound → 404.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from rsa_qa.errors import NotReady, PassageNotFound, UnknownFilter, describe_invalid
from rsa_qa.schemas import ErrorResponse

log = logging.getLogger(__name__)

# For the OpenAPI `responses` of an operation.
ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "Unknown passage id or path."},
    422: {"model": ErrorResponse, "description": "A field is missing, of the wrong type or out of range."},
    503: {"model": ErrorResponse, "description": "No valid index is loaded; the message says what to run."},
}


class ApiError(Exception):
    """An error a route answers with, in the one shape."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


class AsciiJSONResponse(JSONResponse):
    """JSON escaped to ASCII: a message that echoes hostile input (a lone surrogate) still encodes."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def error_response(
    status: int, code: str, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = ErrorResponse.model_validate({"error": {"code": code, "message": message, "field": field}})
    return AsciiJSONResponse(body.model_dump(), status_code=status, headers=headers)


def add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.field)

    @app.exception_handler(NotReady)
    async def not_ready(_: Request, exc: NotReady) -> JSONResponse:
        return error_response(503, "not_ready", str(exc))

    @app.exception_handler(UnknownFilter)
    async def unknown_filter(_: Request, exc: UnknownFilter) -> JSONResponse:
        return error_response(422, "validation_error", str(exc), exc.field)

    @app.exception_handler(PassageNotFound)
    async def passage_not_found(_: Request, exc: PassageNotFound) -> JSONResponse:
        return error_response(404, "not_found", str(exc), "passage_id")

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        field, message = describe_invalid(errors)
        if first.get("type") == "json_invalid":
            message, field = "the request body is not valid JSON", None
        elif tuple(first.get("loc", ())) == ("body",):
            message = "the request body must be a JSON object"
        return error_response(422, "validation_error", message, field)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Allow (RFC 9110) names every method of the path: the router only names the first
            # route's, and /query has a GET route and a POST route.
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return error_response(exc.status_code, code, str(exc.detail), headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")


def _allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)
