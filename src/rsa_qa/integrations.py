"""Routes for chatbot builders: function-calling tool definitions and batch queries.

GET /tools publishes the MCP server's own tool list in the shape the chat-completions and
responses APIs take, so both kinds of client see one definition of each tool, with JSON Schema
that pydantic generated. POST /tools/{name} runs a call the model made, through the same tool.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent

from rsa_qa import api
from rsa_qa.schemas import (
    BatchQueryRequest,
    BatchQueryResponse,
    ChatCompletionsTool,
    ResponsesTool,
    ToolCallResult,
    ToolFunction,
    ToolsResponse,
)
from rsa_qa.service import Service


def integrations_router(service: Service, mcp: MCPServer[Any]) -> APIRouter:
    router = APIRouter()

    @router.get("/tools", response_model=ToolsResponse, tags=["chatbot"])
    async def tools(
        api_format: Annotated[
            Literal["chat", "responses"],
            Query(alias="format", description="chat: for chat-completions; responses: for responses."),
        ] = "chat",
    ) -> ToolsResponse:
        """The tools as function-calling definitions: pass `tools` to a chat-completions call."""
        functions = [
            ToolFunction(name=t.name, description=t.description or "", parameters=t.input_schema)
            for t in await mcp.list_tools()
        ]
        if api_format == "responses":
            return ToolsResponse(tools=[ResponsesTool(**f.model_dump()) for f in functions])
        return ToolsResponse(tools=[ChatCompletionsTool(function=f) for f in functions])

    @router.post("/tools/{name}", response_model=ToolCallResult, tags=["chatbot"])
    async def call_tool(
        name: str,
        arguments: Annotated[dict[str, Any], Body(description="The arguments the model chose, as JSON.")],
    ) -> ToolCallResult:
        """Run a tool call the model made; hand `content` back to it as the tool's output."""
        if name not in {t.name for t in await mcp.list_tools()}:
            raise api.ApiError(404, "not_found", f"no tool named {name!r}; GET /tools lists them", "name")
        try:
            result = await mcp.call_tool(name, arguments)
        except ToolError as exc:
            return ToolCallResult(content=str(exc), is_error=True)
        assert isinstance(result, CallToolResult)  # our tools never ask the client for input
        text = "".join(block.text for block in result.content if isinstance(block, TextContent))
        return ToolCallResult(content=text, structured_content=result.structured_content)

    @router.post("/query/batch", response_model=BatchQueryResponse, tags=["search"])
    def query_batch(batch: BatchQueryRequest) -> BatchQueryResponse:
        """Several questions at once: embedded in one model call, answered in the order sent."""
        started = time.perf_counter()
        searcher = api._searcher(service)  # once, so a reload cannot split the batch
        vectors = searcher.embed_queries([q.query for q in batch.queries])
        responses = [
            api.run_query(searcher, request, query_vector=vector)
            for request, vector in zip(batch.queries, vectors, strict=True)
        ]
        return BatchQueryResponse(
            responses=responses, took_ms=round((time.perf_counter() - started) * 1000, 3)
        )

    return router
