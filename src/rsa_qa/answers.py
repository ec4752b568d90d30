"""The one answer path: a request and a Searcher in, the contract's response models out.

The HTTP routes, the MCP tools, /tools, `rsa-qa query` and in-process `rsa-qa eval` all
answer through these functions, so each of them returns exactly what /query returns.
"""

from __future__ import annotations

import time
import weakref
from collections import Counter

import numpy as np

from rsa_qa.caching import LRUCache
from rsa_qa.errors import PassageNotFound
from rsa_qa.pipeline.chunk import Passage
from rsa_qa.pipeline.citations import cited_numbers
from rsa_qa.pipeline.document import DocumentInfo
from rsa_qa.schemas import (
    CitingPassage,
    DocRef,
    DocumentOut,
    DocumentsResponse,
    Highlight,
    ListedReference,
    PassageOut,
    QueryRequest,
    QueryResponse,
    ReferenceOut,
    ReferencesResponse,
    Result,
    Scores,
    SectionInfo,
    SectionRef,
    SectionsResponse,
    SkippedFile,
)
from rsa_qa.search.searcher import Hit, Searcher, SearchOptions


def search_options(request: QueryRequest) -> SearchOptions:
    return SearchOptions(
        top_k=request.top_k,
        sections=tuple(request.sections) if request.sections else None,
        docs=tuple(request.docs) if request.docs else None,
        min_score=request.min_score,
        expand=request.expand,
    )


def elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def run_query(
    searcher: Searcher,
    request: QueryRequest,
    query_vector: np.ndarray | None = None,
    started: float | None = None,
) -> QueryResponse:
    """Search and shape the response; query_vector saves the embedding when the caller has it."""
    started = time.perf_counter() if started is None else started
    found = searcher.search(request.query, search_options(request), query_vector=query_vector)
    return QueryResponse(
        query=request.query,
        results=[_result(searcher, hit) for hit in found.hits],
        in_scope=found.scope.in_scope,
        in_scope_probability=round(found.scope.probability, 6),
        reason=found.scope.reason,
        index_version=searcher.index.version,
        took_ms=elapsed_ms(started),
    )


def get_passage(searcher: Searcher, passage_id: str) -> PassageOut:
    passage = searcher.passage_by_id(passage_id)
    if passage is None:
        raise PassageNotFound(f"no passage with id {passage_id!r}; use the id of a search result")
    doc, section, references = _passage_parts(searcher, passage)
    return PassageOut(
        id=passage.id,
        text=passage.text,
        doc=doc,
        section=section,
        references=references,
        start=passage.start,
        end=passage.end,
    )


def list_sections(searcher: Searcher) -> SectionsResponse:
    counts = _passage_counts(searcher)
    return SectionsResponse(
        sections=[s for d in searcher.index.documents.values() for s in _sections(d, counts)]
    )


def list_documents(searcher: Searcher) -> DocumentsResponse:
    counts = _passage_counts(searcher)
    skipped = [
        SkippedFile(file=s["file"], reason=s["reason"]) for s in searcher.index.manifest.get("skipped", [])
    ]
    return DocumentsResponse(
        documents=[_document(d, counts) for d in searcher.index.documents.values()], skipped=skipped
    )


def list_references(searcher: Searcher) -> ReferencesResponse:
    return ReferencesResponse(
        references=[
            ListedReference(doc_id=d.id, **_reference(searcher, d.id, n).model_dump())
            for d in searcher.index.documents.values()
            for n in sorted(d.references)
        ]
    )


# What a passage's results always carry (document, section, full citations), built once
# per passage and searcher: a response would otherwise validate every citation anew.
_PassageParts = tuple[DocRef, SectionRef, list[ReferenceOut]]
_parts_by_searcher: weakref.WeakKeyDictionary[Searcher, LRUCache[_PassageParts]] = weakref.WeakKeyDictionary()
_PARTS_KEPT = 4096


def _passage_parts(searcher: Searcher, passage: Passage) -> _PassageParts:
    cache = _parts_by_searcher.get(searcher)
    if cache is None:
        cache = _parts_by_searcher.setdefault(searcher, LRUCache(_PARTS_KEPT))
    parts = cache.get(passage.id)
    if parts is None:
        references = [_reference(searcher, passage.doc_id, n) for n in passage.references]
        parts = (_doc_ref(searcher, passage.doc_id), section_ref(passage), references)
        cache.put(passage.id, parts)
    return parts


def _result(searcher: Searcher, hit: Hit) -> Result:
    passage = hit.passage
    doc, section, references = _passage_parts(searcher, passage)
    return Result(
        id=passage.id,
        rank=hit.rank,
        score=round(hit.score, 6),
        text=passage.text,
        doc=doc,
        section=section,
        references=references,
        highlights=[Highlight(text=h.text, start=h.start, end=h.end) for h in hit.highlights],
        scores=Scores(
            dense=round(hit.dense, 6),
            lexical=round(hit.lexical, 6),
            coverage=round(hit.coverage, 6),
            fused=round(hit.score, 6),
        ),
        context_for=hit.context_for,
        cited_by=[_citing(searcher, p, passage.references) for p in searcher.citing(passage)],
    )


def _citing(searcher: Searcher, passage: Passage, numbers: tuple[int, ...]) -> CitingPassage:
    """A passage citing the entry, with the sentence that carries the marker."""
    entries = searcher.index.documents[passage.doc_id].references
    sentences = (passage.text[s:e] for s, e in passage.sentences)
    sentence = next((t for t in sentences if set(numbers) & set(cited_numbers(t, entries))), passage.text)
    return CitingPassage(id=passage.id, section=section_ref(passage), text=sentence)


def section_ref(passage: Passage) -> SectionRef:
    """The passage's section as every result carries it (the fitting labels candidates by it)."""
    section = passage.section
    return SectionRef(number=section.number, title=section.title, path=list(section.path))


def _reference(searcher: Searcher, doc_id: str, number: int) -> ReferenceOut:
    reference = searcher.index.reference(doc_id, number)
    return ReferenceOut(number=number, marker=reference.marker, citation=reference.citation)


def _doc_ref(searcher: Searcher, doc_id: str) -> DocRef:
    info = searcher.index.documents[doc_id]
    return DocRef(id=info.id, title=info.meta.title, authors=info.meta.authors, doi=info.meta.doi)


def _passage_counts(searcher: Searcher) -> Counter[tuple[str, str]]:
    """Passages per (document, section key), counted once for a whole listing."""
    return searcher.passage_counts()


def _sections(info: DocumentInfo, counts: Counter[tuple[str, str]]) -> list[SectionInfo]:
    return [
        SectionInfo(
            doc_id=info.id,
            number=s.number,
            title=s.title,
            path=list(s.path),
            passage_count=counts[(info.id, s.key)],
        )
        for s in info.sections
    ]


def _document(info: DocumentInfo, counts: Counter[tuple[str, str]]) -> DocumentOut:
    sections = _sections(info, counts)
    return DocumentOut(
        id=info.id,
        file=info.file,
        passage_count=sum(s.passage_count for s in sections),
        sections=sections,
        abbreviations=info.abbreviations,
        **info.meta.model_dump(),
    )
