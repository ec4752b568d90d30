"""MCP server: the article's search as tools, its passages as resources.

One server definition serves both transports: `rsa-qa mcp` runs it over stdio, and the HTTP
app mounts its streamable HTTP endpoint at /mcp (http/routes/mcp.py). The tools answer
through the one answer path (answers.py), so a chatbot gets exactly what /query returns:
as structured content, checked against the same pydantic models, and as text. Tool
descriptions name the articles of the index loaded when the client asks for them.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp_types import CallToolResult, ResourceLink, TextContent, ToolAnnotations
from mcp_types import Resource as McpResource
from mcp_types import Tool as McpTool
from pydantic import ValidationError

from rsa_qa.answers import get_passage, run_query
from rsa_qa.answers import list_sections as sections_of
from rsa_qa.config import Settings
from rsa_qa.errors import RsaQaError, describe_invalid
from rsa_qa.pipeline.document import DocumentInfo
from rsa_qa.schemas import (
    TOOL_ARGUMENTS,
    PassageOut,
    QueryRequest,
    QueryResponse,
    Result,
    SectionsResponse,
)
from rsa_qa.search.searcher import Searcher
from rsa_qa.service import Service
from rsa_qa.version import VERSION

PASSAGE_URI = "rsa-qa://passages/{passage_id}"
# Tool descriptions say which articles they search; filled in from the loaded index.
CORPUS = "{corpus}"
# Beyond this many articles, the descriptions name the first ones and say how many more.
NAMED_ARTICLES = 5
QUOTE_RULE = (
    "The results are verbatim passages of the article, each with its section and the full "
    "citations it carries. Quote them word for word, never paraphrase doses, numbers, percentages "
    "or study results, and give the section and citation with every quote. When in_scope is false "
    "the article does not answer the question: say so rather than answering from the passages."
)
INSTRUCTIONS = (
    "Retrieval-only search over scientific articles. It never generates text: it returns passages. "
    f"{QUOTE_RULE} Use search_article first; list_sections shows what the articles cover."
)
SEARCH_DESCRIPTION = (
    f"Search {CORPUS} and return the passages that best answer the question, ranked, with the "
    f"sentences that matched. {QUOTE_RULE}"
)
LIST_SECTIONS_DESCRIPTION = (
    "List the article's sections in order: number, title, path and how many passages each has. "
    "Use a number ('3.2', or '3' for 3.1–3.4) or a part name ('Abstract') in search_article's sections."
)
GET_PASSAGE_DESCRIPTION = (
    "Fetch one passage by its id (the id of a search_article result), verbatim, with its section and "
    "full citations. Quote it; do not paraphrase numbers."
)
READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)


def build_mcp_server(service: Service) -> MCPServer[Any]:
    """The rsa-qa MCP server; it reads service.searcher on every call, so a reload is seen."""
    server = _ArticleServer(service)

    @server.tool(title="Search the article", description=SEARCH_DESCRIPTION, annotations=READ_ONLY)
    # The arguments arrive checked against TOOL_ARGUMENTS (see _ArticleServer.call_tool).
    def search_article(
        query: str, top_k: int = 5, sections: list[str] | None = None, docs: list[str] | None = None
    ) -> Annotated[CallToolResult, QueryResponse]:
        request = QueryRequest(query=query, top_k=top_k, sections=sections, docs=docs)
        try:
            response = run_query(_searcher(service), request)
        except RsaQaError as exc:
            raise ToolError(str(exc)) from exc
        links = [_passage_link(result) for result in response.results]
        return CallToolResult(
            content=[TextContent(type="text", text=format_response(response)), *links],
            structured_content=response.model_dump(mode="json"),
        )

    @server.tool(title="List the sections", description=LIST_SECTIONS_DESCRIPTION, annotations=READ_ONLY)
    def list_sections() -> Annotated[CallToolResult, SectionsResponse]:
        listed = sections_of(_searcher(service))
        return CallToolResult(
            content=[TextContent(type="text", text=format_sections(listed))],
            structured_content=listed.model_dump(mode="json"),
        )

    @server.tool(title="Get a passage", description=GET_PASSAGE_DESCRIPTION, annotations=READ_ONLY)
    def get_passage(id: str) -> Annotated[CallToolResult, PassageOut]:
        passage = _passage(service, id)
        return CallToolResult(
            content=[TextContent(type="text", text=format_passage(passage))],
            structured_content=passage.model_dump(mode="json"),
        )

    @server.resource(
        PASSAGE_URI,
        name="passage",
        title="A passage of the article",
        description="One passage, verbatim, with its section and full citations.",
        mime_type="text/markdown",
    )
    def read_passage(passage_id: str) -> str:
        try:
            return format_passage(_passage(service, passage_id))
        except ToolError as exc:
            raise ResourceNotFoundError(str(exc)) from exc

    return server


class _ArticleServer(MCPServer[Any]):
    """Lists every passage of the loaded index as a resource, read at request time."""

    def __init__(self, service: Service) -> None:
        super().__init__(
            name="rsa-qa",
            title="rsa-qa: verbatim, cited passages of scientific articles",
            instructions=INSTRUCTIONS,
            version=VERSION,
            log_level="WARNING",
        )
        self.service = service

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        """As MCPServer's, with the arguments checked against the tool's own contract first:
        the same bounds and types as the HTTP API, no unknown argument, and a refusal in one
        sentence naming the field and the limit. A null argument means its default."""
        contract = TOOL_ARGUMENTS.get(name)
        if contract is not None:
            given = {key: value for key, value in arguments.items() if value is not None}
            try:
                checked = contract.model_validate(given)
            except ValidationError as exc:
                raise ToolError(f"{name}: {describe_invalid(exc.errors())[1]}") from None
            arguments = checked.model_dump(exclude_none=True)
        return await super().call_tool(name, arguments, context)

    async def list_tools(self) -> list[McpTool]:
        corpus = describe_corpus(self.service.searcher)
        return [
            tool.model_copy(
                update={
                    "description": (tool.description or "").replace(CORPUS, corpus),
                    "input_schema": TOOL_ARGUMENTS[tool.name].model_json_schema(),
                }
            )
            for tool in await super().list_tools()
        ]

    async def list_resources(self) -> list[McpResource]:
        searcher = self.service.searcher
        if searcher is None:
            return []
        return [
            McpResource(
                uri=PASSAGE_URI.format(passage_id=p.id),
                name=p.id,
                title=f"{p.id} · {' › '.join(p.section.path)}",
                description=_preview(p.text),
                mime_type="text/markdown",
            )
            for p in searcher.passages
        ]


def _searcher(service: Service) -> Searcher:
    try:
        return service.current_searcher()
    except RsaQaError as exc:
        raise ToolError(f"the index is not loaded: {exc}") from exc


def _passage(service: Service, passage_id: str) -> PassageOut:
    try:
        return get_passage(_searcher(service), passage_id)
    except RsaQaError as exc:
        raise ToolError(str(exc)) from exc


def describe_corpus(searcher: Searcher | None) -> str:
    """The articles a tool searches, in a few words for the model that reads its description."""
    if searcher is None or not searcher.index.documents:
        return "the articles in this service's index"
    documents = list(searcher.index.documents.values())
    named = ", ".join(_cite(info) for info in documents[:NAMED_ARTICLES])
    if len(documents) == 1:
        return f"the article {named}"
    more = len(documents) - NAMED_ARTICLES
    return f"{len(documents)} articles: {named}" + (f" and {more} more" if more > 0 else "")


def _cite(info: DocumentInfo) -> str:
    surnames = [name.split()[-1] for name in info.meta.authors if name.split()]
    if len(surnames) > 2:
        by = f" ({surnames[0]} et al.)"
    else:
        by = f" ({' & '.join(surnames)})" if surnames else ""
    return f"'{info.meta.title}'{by}"


def _passage_link(result: Result) -> ResourceLink:
    return ResourceLink(
        type="resource_link",
        uri=PASSAGE_URI.format(passage_id=result.id),
        name=result.id,
        title=" › ".join(result.section.path),
        mime_type="text/markdown",
    )


def _preview(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + " …"


def format_response(response: QueryResponse) -> str:
    """The search results as Markdown a model reads: verdict, then each passage quoted whole."""
    verdict = "In scope" if response.in_scope else "NOT answered by the article"
    lines = [f"**{verdict}**: {response.reason.rstrip('.')}.", ""]
    if not response.results:
        lines.append("No passage matched.")
    for result in response.results:
        section = " › ".join(result.section.path)
        context = f", context for {result.context_for}" if result.context_for else ""
        lines.append(f"[{result.rank}] passage {result.id} — {section} (score {result.score:.3f}{context})")
        lines.append(f"> {result.text}")
        for highlight in result.highlights:
            lines.append(f"Best-matching sentence: “{highlight.text}”")
        for reference in result.references:
            lines.append(f"Citation {reference.marker}: {reference.citation}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def format_passage(passage: PassageOut) -> str:
    lines = [f"passage {passage.id} — {' › '.join(passage.section.path)}", f"> {passage.text}"]
    lines += [f"Citation {r.marker}: {r.citation}" for r in passage.references]
    return "\n".join(lines) + "\n"


def format_sections(listed: SectionsResponse) -> str:
    lines = []
    for s in listed.sections:
        count = f"{s.passage_count} passage{'' if s.passage_count == 1 else 's'}"
        lines.append(f"{s.number + ' ' if s.number else ''}{s.title} — {count}")
    return "\n".join(lines) + "\n"


def run_stdio(settings: Settings) -> None:
    """Serve over stdin/stdout until the client closes them; refuse to start without an index."""
    service = Service(settings)
    service.start()
    if service.searcher is None:
        raise RsaQaError(service.not_ready_reason or "the index could not be loaded")
    build_mcp_server(service).run("stdio")
