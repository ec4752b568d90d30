"""/mcp: the MCP server over streamable HTTP, stateless, with JSON responses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter
from mcp.server.mcpserver import MCPServer
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from rsa_qa.config import Settings


class StreamableHttpEndpoint:
    """ASGI endpoint for /mcp; a new session manager per app lifespan (the SDK's runs only once)."""

    def __init__(self, server: MCPServer[Any], host: str) -> None:
        self.server, self.host = server, host

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        # Stateless JSON: every POST stands alone, so any worker can answer and a reloaded
        # index is used from the next call on.
        self.server.streamable_http_app(stateless_http=True, json_response=True, host=self.host)
        async with self.server.session_manager.run():
            yield

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.server.session_manager.handle_request(scope, receive, send)


def mcp_router(server: MCPServer[Any], settings: Settings) -> APIRouter:
    """A router that serves MCP's streamable HTTP transport at /mcp, with its lifespan."""
    endpoint = StreamableHttpEndpoint(server, settings.host)

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        async with endpoint.running():
            yield

    router = APIRouter(lifespan=lifespan)
    router.routes.append(Route("/mcp", endpoint, include_in_schema=False))
    return router
