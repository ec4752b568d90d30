"""What an article is once read: its metadata, sections, paragraphs and reference list.

DocumentMeta   title, authors, affiliation, doi, year and further fields: the one
               definition of an article's metadata, read from front matter or a sidecar
               file, stored in the manifest and returned by GET /documents
Document       a parsed article: its source text, metadata and structure
DocumentInfo   what the index keeps of an article besides its passages
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

FRONT_MATTER = "Front matter"
ABSTRACT = "Abstract"
KEYWORDS = "Keywords"
REFERENCES = "References"
PARTS = frozenset({FRONT_MATTER, ABSTRACT, KEYWORDS, REFERENCES})


class DocumentMeta(BaseModel):
    """An article's bibliographic metadata; the fields a sidecar file or front matter may set."""

    model_config = ConfigDict(extra="forbid")

    title: str
    authors: list[str] = Field(default_factory=list)
    affiliation: str | None = None
    doi: str | None = None
    year: str | None = None
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Further fields from front matter or a sidecar file."
    )


@dataclass(frozen=True)
class Section:
    key: str
    number: str | None
    title: str
    path: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.number} {self.title}" if self.number else self.title


@dataclass(frozen=True)
class Paragraph:
    section: Section
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Reference:
    """One entry of a reference list; start and end are offsets into the article's source."""

    number: int
    citation: str
    start: int
    end: int
    author: str | None = None
    year: str | None = None

    @property
    def marker(self) -> str:
        return f"[{self.number}]"


@dataclass
class Document:
    id: str
    source: str
    meta: DocumentMeta
    sections: list[Section] = field(default_factory=list)
    paragraphs: list[Paragraph] = field(default_factory=list)
    references: dict[int, Reference] = field(default_factory=dict)
    abbreviations: dict[str, str] = field(default_factory=dict)  # short form → long form

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.source.encode("utf-8")).hexdigest()

    def info(self, file: str, file_hash: str) -> DocumentInfo:
        return DocumentInfo(
            self.id, file, file_hash, self.meta, self.sections, self.references, self.abbreviations
        )


@dataclass
class DocumentInfo:
    """What the index keeps about one document besides its passages."""

    id: str
    file: str
    hash: str
    meta: DocumentMeta
    sections: list[Section]
    references: dict[int, Reference]
    abbreviations: dict[str, str] = field(default_factory=dict)
