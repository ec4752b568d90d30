"""What every request passes through before a route sees it, outermost first:

    RequestContext   a request id (X-Request-ID) on the response and on every log line; the access log
    HeadAsGet        HEAD wherever GET is allowed: the GET's status and headers, no body
    CORSMiddleware   only when RSA_QA_CORS_ORIGINS is set (security.py)
    BearerAuth       only when RSA_QA_API_KEY is set (security.py)
    BodyGuard        a body must be UTF-8 JSON of at most RSA_QA_MAX_BODY_BYTES, sent as application/json

They are plain ASGI middleware, so they cover every route and mount, including ones added
later, and they answer in the API's one error shape, {"error": {"code", "message", "field"}}.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rsa_qa.config import Settings
from rsa_qa.http.errors import ERROR_CONTENT, error_response
from rsa_qa.http.security import add_auth_and_cors, document_auth
from rsa_qa.logs import request_id

REQUEST_ID_HEADER = "X-Request-ID"
# Logged for a request whose client disconnected before any answer: not a server error.
CLIENT_CLOSED = 499
# A client's own request id is kept only when it is short and plain; it ends up in log lines.
_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_LOGGED_BODY_CHARS = 2000
access_log = logging.getLogger("rsa_qa.access")


def install_middleware(app: FastAPI, settings: Settings) -> None:
    """Register the request pipeline drawn in the module docstring; the last added runs first."""
    app.add_middleware(BodyGuard, max_bytes=settings.max_body_bytes)
    add_auth_and_cors(app, settings)
    app.add_middleware(HeadAsGet)
    app.add_middleware(RequestContext, log_queries=settings.log_queries)
    _document_errors(app, settings)


class HeadAsGet:
    """HEAD answered as the GET would be, without its body (load balancers probe with HEAD).

    A path without GET still answers 405, with Allow naming GET only where it exists.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)


class RequestContext:
    """Tags the request with an id, returns it as X-Request-ID, and writes one access-log line.

    The access line never holds the question unless RSA_QA_LOG_QUERIES is on: the path is
    logged without its query string, and the body is not logged. A client that disconnects
    before the answer starts is logged 499, so that alerts on 5xx count only the server's faults.
    """

    def __init__(self, app: ASGIApp, log_queries: bool = False) -> None:
        self.app = app
        self.log_queries = log_queries

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent_id = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        rid = sent_id if _CLIENT_REQUEST_ID.fullmatch(sent_id) else _new_request_id()
        token = request_id.set(rid)
        scope.setdefault("state", {})["request_id"] = rid
        started = time.perf_counter()
        status: int | None = None
        disconnected = False
        body = bytearray()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            await send(message)

        async def receive_watched() -> Message:
            nonlocal disconnected
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnected = True
            elif self.log_queries and len(body) < _LOGGED_BODY_CHARS:
                body.extend(message.get("body", b"")[:_LOGGED_BODY_CHARS])
            return message

        try:
            await self.app(scope, receive_watched, send_with_id)
        finally:
            if status is None:
                # No answer was started: the client left first (nginx's 499), or the app failed.
                status = CLIENT_CLOSED if disconnected else 500
            self._log(scope, status, time.perf_counter() - started, bytes(body))
            request_id.reset(token)

    def _log(self, scope: Scope, status: int, seconds: float, body: bytes) -> None:
        path = scope["path"]
        client = scope.get("client") or ("-", 0)
        if not self.log_queries:
            access_log.info("%s %s %s %d %.1fms", client[0], scope["method"], path, status, seconds * 1000)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        access_log.info(
            "%s %s %s %d %.1fms body=%r",
            client[0],
            scope["method"],
            f"{path}?{query}" if query else path,
            status,
            seconds * 1000,
            body.decode("utf-8", "replace"),
        )


def _new_request_id() -> str:
    """32 random hex digits, like uuid4().hex without its system call for fresh entropy."""
    return f"{random.getrandbits(128):032x}"


class BodyGuard:
    """Refuses a request body before any route parses it, unless it is UTF-8 JSON within the limit.

    The whole body (at most max_bytes) is read here and handed on unchanged, so the size is
    enforced for chunked uploads too and every route sees only a body that parses.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if not chunked and declared.strip() in ("", "0"):
            await self.app(scope, receive, send)
            return
        refusal = self._refuse_headers(headers, declared)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.extend(message.get("body", b""))
            if len(body) > self.max_bytes:
                await self._too_large()(scope, receive, send)
                return
            more = message.get("more_body", False)
        refusal = _refuse_content(bytes(body))
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, _replay(bytes(body), receive), send)

    def _refuse_headers(self, headers: Headers, declared: str) -> Response | None:
        if declared.strip().isdigit() and int(declared) > self.max_bytes:
            return self._too_large()
        media_type, _, parameters = headers.get("content-type", "").partition(";")
        charset = re.search(r"charset\s*=\s*\"?([\w-]+)", parameters, re.IGNORECASE)
        if media_type.strip().lower() != "application/json":
            sent = media_type.strip() or "none"
            return error_response(
                415,
                "unsupported_media_type",
                f"the request body must be JSON sent as Content-Type: application/json (got {sent[:100]!r})",
            )
        if charset and charset.group(1).lower() not in ("utf-8", "utf8"):
            return error_response(
                415, "unsupported_media_type", "the request body must be JSON encoded as UTF-8"
            )
        return None

    def _too_large(self) -> Response:
        return error_response(
            413, "body_too_large", f"the request body is larger than the limit of {self.max_bytes} bytes"
        )


def _refuse_content(body: bytes) -> Response | None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return error_response(422, "validation_error", f"the request body is not valid UTF-8 ({exc.reason})")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return error_response(422, "validation_error", "the request body is not valid JSON")
    try:
        # A "\ud800" escape is valid JSON syntax but no character; nothing downstream could encode it.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return error_response(
            422, "validation_error", "the request body contains an unpaired UTF-16 surrogate escape"
        )
    except (ValueError, RecursionError):
        return error_response(422, "validation_error", "the request body is not valid JSON")
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive() that yields the body already read, then hands over to the real one."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed


_BODY_ERRORS = {
    "413": {"description": "The body is over the size limit.", "content": ERROR_CONTENT},
    "415": {"description": "The body is not sent as application/json.", "content": ERROR_CONTENT},
}


def _document_errors(app: FastAPI, settings: Settings) -> None:
    """Add what BodyGuard and BearerAuth answer to each operation in the OpenAPI schema."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                if "requestBody" in operation:
                    operation.setdefault("responses", {}).update(_BODY_ERRORS)
        document_auth(schema, settings)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
