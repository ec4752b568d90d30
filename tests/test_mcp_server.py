"""The MCP server through the SDK's own clients: stdio (a real `rsa-qa mcp` process),
streamable HTTP (the live app's /mcp) and in-process, all on the real model and index."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp_types import CallToolResult, ResourceLink, TextContent, TextResourceContents

from conftest import CORPUS, ROOT
from rsa_qa.config import Settings
from rsa_qa.errors import RsaQaError
from rsa_qa.mcp_server import build_mcp_server, run_stdio
from rsa_qa.schemas import PassageOut, QueryResponse, SectionsResponse
from rsa_qa.search.searcher import Searcher
from rsa_qa.service import Service
from rsa_qa.store.load import LoadedIndex

RSA_QA = str(Path(sys.executable).with_name("rsa-qa"))
IVIG_DOSE = "What daily IVIG dose did Carp give?"


def run(server: Any, check: Callable[[Client], Awaitable[None]]) -> None:
    async def main() -> None:
        async with Client(server) as client:
            await check(client)

    anyio.run(main)


def text_of(result: CallToolResult) -> str:
    return "".join(block.text for block in result.content if isinstance(block, TextContent))


@pytest.fixture
def in_process(settings: Settings, searcher: Searcher) -> Any:
    return build_mcp_server(Service(settings, searcher=searcher, not_ready_reason=None))


async def assert_ivig_dose_answered(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == {"search_article", "list_sections", "get_passage"}
    assert tools["search_article"].output_schema is not None

    result = await client.call_tool("search_article", {"query": IVIG_DOSE, "top_k": 3})
    assert not result.is_error
    response = QueryResponse.model_validate(result.structured_content)
    assert response.results[0].section.number == "3.2"
    assert "400mg/kg" in response.results[0].text
    assert response.in_scope
    text = text_of(result)
    assert "3.2 Immunoglobulin intravenous infusion therapy in RSA" in text
    assert "They gave IVIG 400mg/kg per day" in text


def example_server(name: str) -> dict[str, Any]:
    config = json.loads((ROOT / "examples" / name).read_text(encoding="utf-8"))
    return dict(config["mcpServers"]["rsa-qa"])


def test_stdio_client_runs_the_desktop_example_and_finds_the_ivig_dose(
    settings: Settings, index: LoadedIndex
) -> None:
    server = example_server("claude_desktop_config.json")
    assert server["command"].endswith("/.venv/bin/rsa-qa")
    env = server["env"] | {"RSA_QA_INDEX_DIR": str(settings.index_dir), "RSA_QA_CORPUS_DIR": str(CORPUS)}
    # Desktop clients start the server from a folder of their own choosing.
    params = StdioServerParameters(command=RSA_QA, args=server["args"], env=env, cwd="/")
    run(params, assert_ivig_dose_answered)


def test_streamable_http_at_the_example_url(live_url: str) -> None:
    url = urlsplit(example_server("mcp_http_config.json")["url"])
    assert url.path == "/mcp"
    run(live_url + url.path, assert_ivig_dose_answered)


def test_descriptions_ask_for_quotes_not_paraphrase(in_process: Any) -> None:
    async def check(client: Client) -> None:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        description = tools["search_article"].description or ""
        assert "verbatim" in description and "never paraphrase doses, numbers" in description
        assert "citation" in description
        assert "rsa-qa" in (client.server_info.name if client.server_info else "")

    run(in_process, check)


def test_search_results_link_each_passage_as_a_resource(in_process: Any) -> None:
    async def check(client: Client) -> None:
        result = await client.call_tool("search_article", {"query": IVIG_DOSE, "top_k": 2})
        links = [block for block in result.content if isinstance(block, ResourceLink)]
        assert [str(link.uri) for link in links] == [
            f"rsa-qa://passages/{r['id']}" for r in (result.structured_content or {})["results"]
        ]

        listed = (await client.list_resources()).resources
        assert len(listed) == 32, "27 passages of text and 5 reference entries"
        top = str(links[0].uri)
        assert top in {str(r.uri) for r in listed}
        read = await client.read_resource(top)
        content = read.contents[0]
        assert isinstance(content, TextResourceContents)
        assert "They gave IVIG 400mg/kg per day" in content.text
        assert "3.2 Immunoglobulin intravenous infusion therapy in RSA" in content.text

    run(in_process, check)


def test_get_passage_and_list_sections(in_process: Any) -> None:
    async def check(client: Client) -> None:
        found = await client.call_tool(
            "search_article", {"query": "ACA conversion with low molecular heparin", "top_k": 1}
        )
        passage_id = (found.structured_content or {})["results"][0]["id"]
        passage = await client.call_tool("get_passage", {"id": passage_id})
        out = PassageOut.model_validate(passage.structured_content)
        assert out.section.number == "3.3"
        assert [r.marker for r in out.references] == ["[4]"]
        assert "Citation [4]: Wu Jing, Huang Huamei" in text_of(passage)

        sections = await client.call_tool("list_sections", {})
        listed = SectionsResponse.model_validate(sections.structured_content)
        assert [s.number for s in listed.sections][3:7] == ["1", "2", "3", "3.1"]
        assert "3.2 Immunoglobulin intravenous infusion therapy in RSA — 4 passages" in text_of(sections)

    run(in_process, check)


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("get_passage", {"id": "9.9-99"}, "no passage with id '9.9-99'"),
        ("search_article", {"query": "   "}, "query is blank"),
        ("search_article", {"query": "IVIG", "top_k": 0}, "search_article: top_k: Input should be greater"),
        ("search_article", {"query": "IVIG", "top_k": "9"}, "search_article: top_k: must be a whole number"),
        ("search_article", {"query": "IVIG", "k": 3}, "search_article: k: Extra inputs are not permitted"),
        ("search_article", {"query": "IVIG", "sections": ["3.2; drop"]}, "sections"),
        ("search_article", {"query": "IVIG", "sections": ["9"]}, "no section '9' in the index"),
        ("search_article", {"query": "IVIG", "docs": ["nothing"]}, "no document 'nothing' in the index"),
    ],
)
def test_bad_calls_are_tool_errors_that_say_why(
    in_process: Any, tool: str, arguments: dict[str, Any], message: str
) -> None:
    async def check(client: Client) -> None:
        result = await client.call_tool(tool, arguments)
        assert result.is_error
        assert message in text_of(result)
        assert "pydantic" not in text_of(result) and "validation error" not in text_of(result)

    run(in_process, check)


def test_section_filter_is_honoured(in_process: Any) -> None:
    async def check(client: Client) -> None:
        result = await client.call_tool("search_article", {"query": "dose", "top_k": 10, "sections": ["3.4"]})
        numbers = {r["section"]["number"] for r in (result.structured_content or {})["results"]}
        assert numbers == {"3.4"}

    run(in_process, check)


def test_without_an_index_the_tools_say_what_to_run(tmp_path: Path) -> None:
    service = Service(Settings(index_dir=tmp_path / "none", corpus_dir=CORPUS))
    service.start()

    async def check(client: Client) -> None:
        result = await client.call_tool("search_article", {"query": "IVIG"})
        assert result.is_error and "make index" in text_of(result)
        assert (await client.list_resources()).resources == []

    run(build_mcp_server(service), check)


def test_mcp_command_refuses_to_start_without_an_index(tmp_path: Path) -> None:
    with pytest.raises(RsaQaError, match="make index"):
        run_stdio(Settings(index_dir=tmp_path / "none", corpus_dir=CORPUS))


def test_mcp_over_http_refuses_other_hosts(live_url: str) -> None:
    hello = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    headers = {"Accept": "application/json, text/event-stream", "Host": "rebound.example"}
    response = httpx.post(f"{live_url}/mcp", json=hello, headers=headers)
    assert (response.status_code, response.text) == (421, "Invalid Host header")
