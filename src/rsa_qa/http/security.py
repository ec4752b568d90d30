"""Optional bearer-token auth and CORS, both off unless configured.

RSA_QA_API_KEY set: every request but GET /health must carry `Authorization: Bearer <key>`.
It is checked in middleware, so a route or mount added later is covered without a word.
RSA_QA_CORS_ORIGINS set: browsers on those origins may call the API; unset, no CORS header
is ever sent and browsers on other origins are refused by their own same-origin rule.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from rsa_qa.config import Settings
from rsa_qa.http.errors import ERROR_CONTENT, error_response

# The search page and its static files hold no data: they stay open so a browser can load
# them, and the page asks for the key when the API answers 401.
PUBLIC_PATHS = frozenset({"/health", "/"})
PUBLIC_PREFIXES = ("/static/",)
refused_log = logging.getLogger("rsa_qa.auth")


def add_auth_and_cors(app: FastAPI, settings: Settings) -> None:
    if settings.api_key is not None:
        app.add_middleware(BearerAuth, api_key=settings.api_key.get_secret_value())
    if settings.cors_origins:
        # Outside auth: a browser's preflight carries no credentials and must still be answered.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
            max_age=600,
        )


def _is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class BearerAuth:
    """401 unless the request carries the API key; /health (liveness) and the page stay open."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        # Digests of equal length, compared in constant time: neither the key's content nor
        # its length can be learnt from how long a refusal takes.
        self._expected = hashlib.sha256(api_key.encode()).digest()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or _is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
        # Header values arrive decoded as latin-1; encoding back gives the bytes as sent.
        presented = hashlib.sha256(token.strip().encode("latin-1")).digest()
        if hmac.compare_digest(presented, self._expected) and scheme.lower() == "bearer":
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        message = "this endpoint requires the API key: send `Authorization: Bearer <key>`"
        if token:
            message = "the API key is wrong"
        # Never the key or what was sent in its place: a wrong key may be another service's.
        client = scope.get("client") or ("-", 0)
        refused_log.warning(
            "refused %s %s from %s: %s", scope.get("method", "WS"), scope["path"], client[0], message
        )
        response = error_response(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)


def document_auth(schema: dict[str, Any], settings: Settings) -> None:
    """The 401 answer on each operation, and the bearer scheme when a key is set."""
    for path, operations in schema.get("paths", {}).items():
        if path in PUBLIC_PATHS:
            continue
        for operation in operations.values():
            operation.setdefault("responses", {})["401"] = {
                "description": "Missing or wrong API key (only when the server has one).",
                "content": ERROR_CONTENT,
            }
    if settings.api_key is None:
        return
    schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "The key in RSA_QA_API_KEY.",
    }
    schema["security"] = [{"bearer": []}]
    for path in PUBLIC_PATHS:
        for operation in schema.get("paths", {}).get(path, {}).values():
            operation["security"] = []
