"""The HTTP server: uvicorn, with the limits at the edge it does not have itself.

uvicorn (0.54, httptools) has no time limit on reading a request's head, no limit on the size or
number of headers, no limit on open connections short of running out of file descriptors, and
answers a request it cannot parse in plain text. EdgeProtocol adds them, each refusal in the
API's one error shape, before a request reaches the app:

    head not complete within header_timeout_s      408 request_timeout
    request line (URL) over max_url_bytes          414 uri_too_long
    headers over max_header_bytes or max_headers   431 headers_too_large
    a request that does not parse                  400 bad_request
    more than max_connections connections open     503 too_many_connections

These methods are uvicorn internals: requirements.lock pins uvicorn, and tests/test_edge.py
drives each case through a real socket.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
from dataclasses import dataclass
from typing import Any

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from rsa_qa.config import Settings

log = logging.getLogger("rsa_qa.edge")

_REASONS = {
    400: b"Bad Request",
    408: b"Request Timeout",
    414: b"URI Too Long",
    431: b"Request Header Fields Too Large",
    503: b"Service Unavailable",
}
# File descriptors the process needs besides its connections: index files, logs, model threads.
_SPARE_DESCRIPTORS = 64


@dataclass(frozen=True)
class EdgeLimits:
    header_timeout_s: float
    max_url_bytes: int
    max_header_bytes: int
    max_headers: int
    max_connections: int

    @classmethod
    def from_settings(cls, settings: Settings) -> EdgeLimits:
        return cls(
            header_timeout_s=settings.header_timeout_s,
            max_url_bytes=settings.max_url_bytes,
            max_header_bytes=settings.max_header_bytes,
            max_headers=settings.max_headers,
            max_connections=settings.max_connections,
        )


@dataclass(frozen=True)
class _Refusal:
    status: int
    code: str
    message: str


class _Refused(httptools.HttpParserError):
    """Raised from a parser callback; httptools hands it back out of feed_data."""


class EdgeProtocol(HttpToolsProtocol):
    limits: EdgeLimits  # set on the subclass edge_protocol() makes

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0
        self._url_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._refusal: _Refusal | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            log.warning("refused a connection: %d open, the limit", self.limits.max_connections)
            self._refuse(
                _Refusal(503, "too_many_connections", "the server has too many open connections; retry later")
            )
            return
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = self._url_bytes = 0
        self._refusal = None
        self._arm_head_timer()

    def on_url(self, url: bytes) -> None:
        self._url_bytes += len(url)
        if self._url_bytes > self.limits.max_url_bytes:
            self._refusal = _Refusal(
                414, "uri_too_long", f"the URL is longer than the limit of {self.limits.max_url_bytes} bytes"
            )
            raise _Refused()
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value) + 4
        if self._head_bytes > self.limits.max_header_bytes or len(self.headers) >= self.limits.max_headers:
            self._refusal = _Refusal(
                431,
                "headers_too_large",
                f"the request's headers are over the limit of {self.limits.max_headers} headers "
                f"or {self.limits.max_header_bytes} bytes",
            )
            raise _Refused()
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm_head_timer()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        self._refuse(self._refusal or _Refusal(400, "bad_request", "the request is not valid HTTP/1.1"))

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.limits.header_timeout_s, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        seconds = self.limits.header_timeout_s
        self._refuse(
            _Refusal(408, "request_timeout", f"the request's head did not arrive within {seconds:g} s")
        )

    def _refuse(self, refusal: _Refusal) -> None:
        """Answer in the API's error shape and close: the connection's state is unknown."""
        self._disarm_head_timer()
        if self.transport.is_closing():
            return
        body = json.dumps(
            {"error": {"code": refusal.code, "message": refusal.message, "field": None}}
        ).encode()
        head = b"HTTP/1.1 %d %s\r\n" % (refusal.status, _REASONS[refusal.status])
        for name, value in self.server_state.default_headers:
            head += name + b": " + value + b"\r\n"
        head += b"content-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % len(
            body
        )
        self.transport.write(head + body)
        self.transport.close()


def edge_protocol(limits: EdgeLimits) -> type[EdgeProtocol]:
    return type("EdgeProtocol", (EdgeProtocol,), {"limits": limits})


def server_config(app: Any, settings: Settings, **overrides: Any) -> uvicorn.Config:
    """The uvicorn configuration `rsa-qa serve` runs, and the tests' live server too."""
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "http": edge_protocol(EdgeLimits.from_settings(settings)),
        "log_level": "info",
        "log_config": None,  # keep configure_logging()'s format, which tags each line with its request
        "access_log": False,  # uvicorn's would log GET /query?q=<the question>; ours leaves it out
        "timeout_graceful_shutdown": settings.shutdown_grace_s,
        **overrides,
    }
    return uvicorn.Config(app, **options)


def allow_descriptors_for(max_connections: int) -> None:
    """Raise the soft limit on open files to fit max_connections, as far as the hard limit allows;
    past it a connection would fail at accept() instead of getting a 503."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max_connections + _SPARE_DESCRIPTORS
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
    if raised < wanted:
        log.warning(
            "open files are limited to %d: fewer than max_connections (%d) + %d; lower "
            "RSA_QA_MAX_CONNECTIONS or raise the limit (ulimit -n)",
            raised,
            max_connections,
            _SPARE_DESCRIPTORS,
        )
