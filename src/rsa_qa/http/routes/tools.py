"""GET /tools and POST /tools/{name}: the MCP server's tools as function-calling definitions.

GET /tools publishes the MCP server's own tool list in the shape the chat-completions and
responses APIs take, so both kinds of client see one definition of each tool: the JSON Schema
pydantic generates from schemas.TOOL_ARGUMENTS, in the form OpenAI's strict mode accepts (an
optional argument is nullable; null means its default). POST /tools/{name} runs a call the
model made, through the same tool.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent

from rsa_qa.http.errors import ApiError
from rsa_qa.schemas import (
    ChatCompletionsTool,
    ResponsesTool,
    ToolCallResult,
    ToolFunction,
    ToolsResponse,
    strict_schema,
)


def tools_router(mcp: MCPServer[Any]) -> APIRouter:
    router = APIRouter(tags=["chatbot"])

    @router.get("/tools", response_model=ToolsResponse)
    async def tools(
        api_format: Annotated[
            Literal["chat", "responses"],
            Query(alias="format", description="chat: for chat-completions; responses: for responses."),
        ] = "chat",
    ) -> ToolsResponse:
        """The tools as function-calling definitions: pass `tools` to a chat-completions call."""
        functions = [
            ToolFunction(
                name=t.name, description=t.description or "", parameters=strict_schema(t.input_schema)
            )
            for t in await mcp.list_tools()
        ]
        if api_format == "responses":
            return ToolsResponse(tools=[ResponsesTool(**f.model_dump()) for f in functions])
        return ToolsResponse(tools=[ChatCompletionsTool(function=f) for f in functions])

    @router.post("/tools/{name}", response_model=ToolCallResult)
    async def call_tool(
        name: str,
        arguments: Annotated[dict[str, Any], Body(description="The arguments the model chose, as JSON.")],
    ) -> ToolCallResult:
        """Run a tool call the model made; hand `content` back to it as the tool's output."""
        if name not in {t.name for t in await mcp.list_tools()}:
            raise ApiError(404, "not_found", f"no tool named {name!r}; GET /tools lists them", "name")
        try:
            result = await mcp.call_tool(name, arguments)
        except ToolError as exc:
            return ToolCallResult(content=str(exc), is_error=True)
        assert isinstance(result, CallToolResult)  # our tools never ask the client for input
        text = "".join(block.text for block in result.content if isinstance(block, TextContent))
        return ToolCallResult(content=text, structured_content=result.structured_content)

    return router
