"""A LangChain retriever over a running rsa-qa service: pip install 'rsa-qa[langchain]'.

    from rsa_qa.langchain import RsaQaRetriever

    retriever = RsaQaRetriever(base_url="http://127.0.0.1:8000", top_k=3)
    for doc in retriever.invoke("What daily IVIG dose did Carp give?"):
        print(doc.metadata["section"], doc.metadata["citations"], doc.page_content)

Each Document is one passage, verbatim, with the passage id as Document.id and in its
metadata: id, rank, score, section ("3.2", or "Abstract" for an unnumbered part),
section_title, section_path, citations ([{"marker", "citation"}]), highlights (the sentences
that matched), context_for, cited_by (for a reference entry: the passages citing it), and the
query's in_scope verdict, its probability and reason.
"""

from __future__ import annotations

from typing import Any

import httpx
from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, ValidationError, model_validator

from rsa_qa.errors import RsaQaError, describe_invalid
from rsa_qa.schemas import MAX_TOP_K, QueryRequest, QueryResponse, Result


class ServiceError(RsaQaError):
    """The rsa-qa service could not be reached, refused the query, or would refuse it.

    A query the API would answer with 422 (a blank question, a malformed section, a top_k out
    of range) is refused before it is sent, with the message the service would give.
    """


class RsaQaRetriever(BaseRetriever):
    """Passages of the article from the rsa-qa HTTP API (POST /query), as Documents.

    Fields: base_url, top_k (passages per query, 1-50), sections, docs, min_score, headers,
    timeout, and LangChain's name, tags and metadata. Any other keyword is refused with a
    pydantic ValidationError that names it, rather than silently ignored: the number of
    passages is `top_k`, the API's own name, and `k` (LangChain's usual name) is not an alias,
    so `RsaQaRetriever(k=2)` is an error. `invoke(query, top_k=N)` overrides top_k for one
    call; another keyword there is a TypeError.

    Every problem with a query raises ServiceError: one the service would refuse (checked
    before sending, with the service's message), an error answer, an unreachable service.
    """

    # The model validator below refuses unknown fields with a clearer message; this is the
    # backstop (BaseRetriever ignores them).
    model_config = ConfigDict(extra="forbid")

    base_url: str = "http://127.0.0.1:8000"
    top_k: int = Field(5, ge=1, le=MAX_TOP_K)
    sections: list[str] | None = None
    docs: list[str] | None = None
    min_score: float | None = None
    headers: dict[str, str] = Field(default_factory=dict, description="Sent with every request.")
    timeout: float = 30.0

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = [name for name in data if name not in cls.model_fields]
            if unknown:
                hint = "; the number of passages is top_k, not k" if "k" in unknown else ""
                raise ValueError(
                    f"unknown argument {', '.join(map(repr, unknown))}{hint}; "
                    f"RsaQaRetriever takes {', '.join(cls.model_fields)}"
                )
        return data

    # top_k in the signature is what makes BaseRetriever.invoke pass it on (it passes keywords
    # only to a _get_relevant_documents that declares more than query and run_manager).
    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        top_k: int | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        body = self._body(query, top_k, kwargs)
        try:
            with httpx.Client(timeout=self.timeout, headers=self.headers) as client:
                response = client.post(self._url, json=body)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        return self._documents(response)

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        top_k: int | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        body = self._body(query, top_k, kwargs)
        try:
            async with httpx.AsyncClient(timeout=self.timeout, headers=self.headers) as client:
                response = await client.post(self._url, json=body)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        return self._documents(response)

    @property
    def _url(self) -> str:
        return self.base_url.rstrip("/") + "/query"

    def _body(self, query: str, top_k: int | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        # LangChain's invoke reads `verbose` itself and passes it on as well.
        unknown = [name for name in kwargs if name != "verbose"]
        if unknown:
            raise TypeError(
                f"RsaQaRetriever.invoke() got an unexpected keyword argument {unknown[0]!r}; "
                "the only one it takes is top_k"
            )
        try:
            request = QueryRequest(
                query=query,
                top_k=self.top_k if top_k is None else top_k,
                sections=self.sections,
                docs=self.docs,
                min_score=self.min_score,
            )
        except ValidationError as exc:
            message = describe_invalid(exc.errors())[1]
            raise ServiceError(f"rsa-qa would refuse this query: {message}") from exc
        return request.model_dump(exclude_none=True)

    def _unreachable(self, exc: httpx.TransportError) -> ServiceError:
        return ServiceError(f"cannot reach rsa-qa at {self.base_url} ({exc}); start it with `make run`")

    def _documents(self, response: httpx.Response) -> list[Document]:
        if response.status_code != 200:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            raise ServiceError(f"rsa-qa at {self.base_url} answered {response.status_code}: {message}")
        answer = QueryResponse.model_validate(response.json())
        return [_document(result, answer) for result in answer.results]


def _document(result: Result, answer: QueryResponse) -> Document:
    metadata: dict[str, Any] = {
        "id": result.id,
        "rank": result.rank,
        "score": result.score,
        "section": result.section.number or result.section.title,
        "section_title": result.section.title,
        "section_path": result.section.path,
        "citations": [{"marker": r.marker, "citation": r.citation} for r in result.references],
        "highlights": [h.text for h in result.highlights],
        "context_for": result.context_for,
        "cited_by": [c.id for c in result.cited_by],
        "in_scope": answer.in_scope,
        "in_scope_probability": answer.in_scope_probability,
        "reason": answer.reason,
    }
    return Document(id=result.id, page_content=result.text, metadata=metadata)
