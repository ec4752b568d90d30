"""The HTTP contract: every request and response body, defined once.

Clients are written against these names; change them only with a new API version.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, JsonValue, field_validator

from rsa_qa.pipeline.document import DocumentMeta

MAX_QUERY_CHARS = 1000
MAX_TOP_K = 50
MAX_SECTIONS = 20
MAX_EXPAND = 3
SECTION_PATTERN = r"^(?:\d{1,3}(?:\.\d{1,3}){0,4}|[A-Za-z][A-Za-z \-]{0,39})$"

MAX_DOCS = 50
DOC_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,99}$"

# Whitespace as JSON Schema's regexes (ECMA-262 \s) define it, written out so that the schema,
# Python's re and the query validator agree (Python's \s also takes \x1c-\x1f).
WHITESPACE = r"\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_WHITESPACE_CHARS = "".join(chr(c) for c in range(0x10000) if re.fullmatch(f"[{WHITESPACE}]", chr(c)))
# What the query validator accepts, as JSON Schema can say it: 1 to MAX_QUERY_CHARS characters,
# not all whitespace, no NUL. (An unpaired surrogate, which JSON Schema cannot name, is refused
# too; it is not text.)
QUERY_PATTERN = rf"^[^\x00]*[^{WHITESPACE}\x00][^\x00]*$"
QUERY_SCHEMA: dict[str, JsonValue] = {"minLength": 1, "maxLength": MAX_QUERY_CHARS, "pattern": QUERY_PATTERN}


def _whole_number(value: Any) -> Any:
    """JSON Schema's integer: 19 and 19.0 alike; not true, not "19", not 19.5."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a whole number")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be a whole number")
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole_number), Field(strict=False)]

DocSelector = Annotated[
    str, Field(pattern=DOC_ID_PATTERN, description="A document id, as listed by GET /documents.")
]

SectionSelector = Annotated[
    str,
    Field(
        pattern=SECTION_PATTERN,
        description='A section number ("3" includes 3.1–3.4) or an unnumbered part ("Abstract").',
        examples=["3.2"],
    ),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# What a search takes from every client: POST /query and /query/batch (as QueryRequest), GET
# /query, the search_article tool of MCP and /tools, the CLI and LangChain. Each field is defined
# here once, so that their bounds and types cannot disagree. (A comment, not a docstring: a
# docstring would become the tool's description in its JSON Schema.)
class SearchArguments(_Model):
    # Strict: `"top_k": true` or `"5"` is a wrong type, not a number to guess at.
    model_config = ConfigDict(extra="forbid", strict=True)

    query: str = Field(
        description=f"The question, in plain words: 1–{MAX_QUERY_CHARS} characters, not all blank.",
        examples=["What daily IVIG dose did Carp give?"],
        json_schema_extra=QUERY_SCHEMA,
    )
    top_k: WholeNumber = Field(5, ge=1, le=MAX_TOP_K, description="How many passages to return.")
    sections: list[SectionSelector] | None = Field(
        None, max_length=MAX_SECTIONS, description="Only passages from these sections."
    )
    docs: list[DocSelector] | None = Field(
        None, max_length=MAX_DOCS, description="Only passages from these documents."
    )

    @field_validator("query")
    @classmethod
    def _strip_query(cls, value: str) -> str:
        if len(value) > MAX_QUERY_CHARS:
            raise ValueError(f"query is {len(value)} characters; the limit is {MAX_QUERY_CHARS}")
        stripped = value.strip(_WHITESPACE_CHARS)
        if not stripped:
            raise ValueError("query is blank; ask a question of 1 to 1000 characters")
        if "\x00" in stripped:
            raise ValueError("query contains a NUL character")
        if any("\ud800" <= c <= "\udfff" for c in stripped):
            raise ValueError("query contains an unpaired UTF-16 surrogate; send valid Unicode text")
        return stripped

    @field_validator("sections")
    @classmethod
    def _normalise_sections(cls, value: list[str] | None) -> list[str] | None:
        return [re.sub(r"\s+", " ", s.strip()) for s in value] if value else value


class QueryRequest(SearchArguments):
    """A search over HTTP: the tool's arguments, and options for programs rather than chatbots."""

    min_score: float | None = Field(
        None, ge=-1.0, le=1.0, description="Drop passages whose fused score is below this."
    )
    expand: WholeNumber = Field(
        0,
        ge=0,
        le=MAX_EXPAND,
        description="Also return this many neighbouring passages on each side, as context.",
    )

    @field_validator("min_score")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("min_score must be a finite number between -1 and 1")
        return value


class SectionRef(_Model):
    number: str | None = Field(description='"3.2", or null for Abstract, Keywords, References …')
    title: str
    path: list[str] = Field(description="Titles from the top-level section down to this one.")


class DocRef(_Model):
    id: str
    title: str
    authors: list[str]
    doi: str | None


class ReferenceOut(_Model):
    number: int
    marker: str = Field(examples=["[3]"])
    citation: str


class Highlight(_Model):
    text: str = Field(description="A sentence of the passage; exactly text[start:end].")
    start: int
    end: int


class Scores(_Model):
    dense: float = Field(description="Cosine of the question with the passage or its best sentence.")
    lexical: float = Field(description="BM25, squashed into [0, 1).")
    coverage: float = Field(description="Share of the question's content words in the passage.")
    fused: float = Field(description="The weighted sum that ranks the results; equals score.")


class CitingPassage(_Model):
    id: str
    section: SectionRef
    text: str = Field(description="The sentence of the passage that cites the entry, verbatim.")


class Result(_Model):
    id: str
    rank: int
    score: float
    text: str = Field(description="The passage, verbatim from the article (whitespace collapsed).")
    doc: DocRef = Field(description="The article the passage comes from.")
    section: SectionRef
    references: list[ReferenceOut] = Field(description="The citations this passage carries.")
    highlights: list[Highlight] = Field(default_factory=list)
    scores: Scores
    context_for: str | None = Field(
        None, description="Set on passages added by expand: the id of the hit they surround."
    )
    cited_by: list[CitingPassage] = Field(
        default_factory=list,
        description="For an entry of a reference list: the passages of its article that cite it.",
    )


class QueryResponse(_Model):
    query: str
    results: list[Result]
    in_scope: bool = Field(description="False when the articles do not answer the question.")
    in_scope_probability: float = Field(
        description="The fitted probability that the articles answer the question; in_scope is it "
        "at or above a threshold chosen by cross-validation."
    )
    reason: str = Field(description="Why in_scope has its value, in one sentence.")
    index_version: str
    took_ms: float


class SectionInfo(_Model):
    doc_id: str
    number: str | None
    title: str
    path: list[str]
    passage_count: int


class SectionsResponse(_Model):
    sections: list[SectionInfo]


class ListedReference(ReferenceOut):
    doc_id: str


class ReferencesResponse(_Model):
    references: list[ListedReference]


class DocumentOut(DocumentMeta):
    """An article: its metadata and what the index holds of it."""

    id: str
    file: str
    passage_count: int
    sections: list[SectionInfo]
    abbreviations: dict[str, str] = Field(
        default_factory=dict, description="Abbreviations the article defines: short form → long form."
    )


class SkippedFile(_Model):
    """A file of the corpus the last build could not read, kept out of the index."""

    file: str
    reason: str


class DocumentsResponse(_Model):
    documents: list[DocumentOut]
    skipped: list[SkippedFile] = Field(
        default_factory=list, description="Files of the corpus left out of the index, and why."
    )


class PassageOut(_Model):
    id: str
    text: str
    doc: DocRef
    section: SectionRef
    references: list[ReferenceOut]
    start: int = Field(description="Character offset of the passage in the source article.")
    end: int


class Health(_Model):
    status: str = "ok"


class Readiness(_Model):
    ready: bool
    reason: str | None = None
    index_version: str | None = None
    passages: int | None = None
    stale: str | None = Field(
        None,
        description="Set when the corpus changed since the served index was built: what changed "
        "and what to run. The index is still served.",
    )


class ReloadResponse(_Model):
    index_version: str = Field(description="The index now served.")
    previous_version: str | None = Field(description="The index served before, null if none was.")
    changed: bool = Field(description="False when the index on disk was the one already served.")
    passages: int
    took_ms: float


class ErrorDetail(_Model):
    code: str = Field(
        description="Machine-readable: validation_error, not_found, not_ready, unauthorized, "
        "body_too_large, unsupported_media_type, method_not_allowed, reload_failed, internal_error."
    )
    message: str
    field: str | None = Field(None, description="The request field at fault, if one is.")


class ErrorResponse(_Model):
    error: ErrorDetail


# Chatbot integration (issue 6): batch queries and function-calling tool definitions.

MAX_BATCH_QUERIES = 32


class BatchQueryRequest(_Model):
    queries: list[QueryRequest] = Field(
        min_length=1,
        max_length=MAX_BATCH_QUERIES,
        description=f"1–{MAX_BATCH_QUERIES} queries, each a POST /query body; embedded together.",
    )


class BatchQueryResponse(_Model):
    responses: list[QueryResponse] = Field(description="One per query, in the order they were sent.")
    took_ms: float


class GetPassageArguments(_Model):
    model_config = ConfigDict(extra="forbid", strict=True)

    id: str = Field(min_length=1, max_length=200, description="A passage id from search_article.")


class ListSectionsArguments(_Model):
    model_config = ConfigDict(extra="forbid", strict=True)


# Each tool's arguments, the one definition MCP and /tools publish and check calls against.
TOOL_ARGUMENTS: dict[str, type[_Model]] = {
    "search_article": SearchArguments,
    "list_sections": ListSectionsArguments,
    "get_passage": GetPassageArguments,
}

# What OpenAI's strict function calling accepts in a schema ("Structured Outputs: supported
# schemas"); minLength, maxLength and default are not in it, and are refused by the API.
STRICT_KEYWORDS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf",
        "$ref", "$defs", "description", "title", "pattern", "format", "multipleOf", "maximum",
        "exclusiveMaximum", "minimum", "exclusiveMinimum", "minItems", "maxItems",
    }
)  # fmt: skip


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A tool's arguments schema as OpenAI's strict mode takes it: every object closed, every
    property required, an optional one nullable (null meaning its default), and only the
    keywords strict mode supports. The tool still checks the dropped bounds on every call."""
    kept: dict[str, Any] = {}
    for key, value in schema.items():
        if key not in STRICT_KEYWORDS:
            continue
        if key in ("properties", "$defs"):
            kept[key] = {name: strict_schema(sub) for name, sub in value.items()}
        elif key == "items":
            kept[key] = strict_schema(value)
        elif key == "anyOf":
            kept[key] = [strict_schema(option) for option in value]
        else:
            kept[key] = value
    if kept.get("type") == "object" or "properties" in kept:
        properties = kept.setdefault("properties", {})
        required = set(schema.get("required", []))
        for name, original in schema.get("properties", {}).items():
            if name not in required:
                properties[name] = _nullable(properties[name], original.get("default"))
        kept["required"] = list(properties)
        kept["additionalProperties"] = False
    return kept


def _nullable(field: dict[str, Any], default: Any) -> dict[str, Any]:
    described: dict[str, Any] = {key: field[key] for key in ("title", "description") if key in field}
    options = field.get("anyOf") or [{k: v for k, v in field.items() if k not in described}]
    if not any(option.get("type") == "null" for option in options):
        options = [*options, {"type": "null"}]
    if default is not None:
        described["description"] = f"{described.get('description', '')} null: {default}.".strip()
    return {**described, "anyOf": options}


class ToolFunction(_Model):
    name: str
    description: str
    parameters: dict[str, Any] = Field(description="JSON Schema of the tool's arguments.")
    strict: bool = Field(
        True, description="The parameters follow OpenAI's strict-mode rules: calls match them exactly."
    )


class ChatCompletionsTool(_Model):
    """A tool as the chat-completions API takes it."""

    type: Literal["function"] = "function"
    function: ToolFunction


class ResponsesTool(ToolFunction):
    """A tool as the responses API takes it: the function's fields, flattened."""

    type: Literal["function"] = "function"


class ToolsResponse(_Model):
    tools: list[ChatCompletionsTool] | list[ResponsesTool] = Field(
        description="Pass as the `tools` argument of a chat-completions or responses call."
    )


class ToolCallResult(_Model):
    content: str = Field(description="The tool's output as text: give it back to the model as is.")
    structured_content: dict[str, Any] | None = Field(
        None, description="The same output as JSON (a QueryResponse for search_article)."
    )
    is_error: bool = Field(False, description="True when the call failed; content says why.")
