"""GET /documents, /sections, /references and /passages/{id}: what the index holds."""

from __future__ import annotations

from fastapi import APIRouter

from rsa_qa.answers import get_passage, list_documents, list_references, list_sections
from rsa_qa.schemas import DocumentsResponse, PassageOut, ReferencesResponse, SectionsResponse
from rsa_qa.service import Service


def articles_router(service: Service) -> APIRouter:
    router = APIRouter(tags=["articles"])

    @router.get("/documents", response_model=DocumentsResponse)
    def documents() -> DocumentsResponse:
        """Every article in the index, with its metadata and section tree."""
        return list_documents(service.current_searcher())

    @router.get("/sections", response_model=SectionsResponse)
    def sections() -> SectionsResponse:
        """Every section of every article, in order, with how many passages it has."""
        return list_sections(service.current_searcher())

    @router.get("/references", response_model=ReferencesResponse)
    def references() -> ReferencesResponse:
        """The reference lists, each entry with its document, marker and full citation."""
        return list_references(service.current_searcher())

    @router.get("/passages/{passage_id}", response_model=PassageOut)
    def passage(passage_id: str) -> PassageOut:
        """One passage by id, as returned in results."""
        return get_passage(service.current_searcher(), passage_id)

    return router
