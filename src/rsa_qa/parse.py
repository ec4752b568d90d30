"""Article text → Document: front matter, sections with their hierarchy, paragraphs, references.

The input is text as extracted from a PDF. Blocks are separated by blank lines; a block
that stops mid-sentence and is followed by one starting in lower case is the same
paragraph broken by the extraction, and is joined back.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rsa_qa.errors import CorpusError
from rsa_qa.text import collapse_whitespace

FRONT_MATTER = "Front matter"
ABSTRACT = "Abstract"
KEYWORDS = "Keywords"
REFERENCES = "References"

# Numbers are bounded: section numbers as the API accepts them (schemas.SECTION_PATTERN),
# reference numbers to five digits; a 5000-digit "number" is text, and int() refuses it.
_HEADING = re.compile(r"(?P<number>\d{1,3}(?:\.\d{1,3}){0,4})\.?\s+(?P<title>\S.*)")
_LABELLED = re.compile(r"(?P<label>Abstract|Keywords?)\s*[:.]\s*", re.IGNORECASE)
_REFERENCE = re.compile(r"(?:[-•*]\s*)?\[(?P<number>\d{1,5})\]\s*(?P<citation>\S.*)", re.DOTALL)
_REFERENCE_START = re.compile(r"^[ \t]*(?:[-•*][ \t]*)?\[\d{1,5}\]", re.MULTILINE)
_DOI = re.compile(r"DOI\s*:\s*(?P<doi>\S+)", re.IGNORECASE)
_SENTENCE_TERMINAL = (".", "?", "!", ":", ".)", '."', ".”")
_MAX_HEADING_WORDS = 20


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
    number: int
    citation: str
    start: int
    end: int

    @property
    def marker(self) -> str:
        return f"[{self.number}]"


@dataclass
class Document:
    id: str
    source: str
    title: str
    authors: list[str] = field(default_factory=list)
    affiliation: str | None = None
    doi: str | None = None
    sections: list[Section] = field(default_factory=list)
    paragraphs: list[Paragraph] = field(default_factory=list)
    references: dict[int, Reference] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.source.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Block:
    start: int
    end: int
    text: str


def parse_file(path: Path) -> Document:
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"cannot read {path}: {exc}") from exc
    return parse_text(source, doc_id=path.stem)


def parse_text(source: str, doc_id: str = "article") -> Document:
    blocks = list(_join_broken_paragraphs(_split_blocks(source)))
    if not blocks:
        raise CorpusError(f"document {doc_id!r} is empty")
    doc = Document(id=doc_id, source=source, title=collapse_whitespace(blocks[0].text))
    _Builder(doc).consume(blocks)
    return doc


def _split_blocks(source: str) -> Iterator[_Block]:
    for match in re.finditer(r"\S(?:.*\S)?(?:\n[ \t]*\S.*)*", source):
        text = match.group().strip()
        if text:
            yield _Block(match.start(), match.end(), text)


def _join_broken_paragraphs(blocks: Iterator[_Block]) -> Iterator[_Block]:
    pending: _Block | None = None
    for block in blocks:
        if pending is not None and _continues(pending.text, block.text):
            pending = _Block(pending.start, block.end, pending.text + " " + block.text)
            continue
        if pending is not None:
            yield pending
        pending = block
    if pending is not None:
        yield pending


def _continues(previous: str, following: str) -> bool:
    """A block ending mid-sentence followed by a lower-case start is one paragraph."""
    first = following[:1]
    return (
        not previous.rstrip().endswith(_SENTENCE_TERMINAL)
        and first.isalpha()
        and first.islower()
        and len(previous.split()) > _MAX_HEADING_WORDS // 2
    )


class _Builder:
    """Walks the blocks in order, tracking which section each one belongs to."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.front = self._open(FRONT_MATTER, None)
        self.current: Section = self.front
        self.numbered: dict[str, Section] = {}
        self.in_references = False
        self.front_lines: list[_Block] = []

    def consume(self, blocks: list[_Block]) -> None:
        for block in blocks[1:]:
            self._consume(block)
        self._finish_front_matter(blocks[0])

    def _consume(self, block: _Block) -> None:
        text = collapse_whitespace(block.text)
        if text.lower().rstrip(":") in {"references", "bibliography", "reference"}:
            self.current = self._open(REFERENCES, None)
            self.in_references = True
            return
        if self.in_references:
            self._add_references(block)
            return
        labelled = _LABELLED.match(block.text)
        if labelled:
            name = ABSTRACT if labelled["label"].lower() == "abstract" else KEYWORDS
            self.current = self._open(name, None)
            self._add_paragraph(_Block(block.start + labelled.end(), block.end, ""))
            return
        heading = self._heading(text)
        if heading:
            self.current = heading
            return
        if self.current is self.front:
            self.front_lines.append(block)
        self._add_paragraph(block)

    def _heading(self, text: str) -> Section | None:
        match = _HEADING.fullmatch(text)
        if not match or len(text.split()) > _MAX_HEADING_WORDS or text.endswith("."):
            return None
        number = match["number"]
        if number in self.numbered:
            return None  # "2.1" again is a line of text, not a second section 2.1
        parent_number = number.rpartition(".")[0]
        if parent_number and parent_number not in self.numbered:
            return None
        if not parent_number and not self._is_next_top_level(number):
            return None
        parent_path = self.numbered[parent_number].path if parent_number else ()
        title = match["title"].strip()
        section = self._open(title, number, parent_path + (f"{number} {title}",))
        self.numbered[number] = section
        return section

    def _is_next_top_level(self, number: str) -> bool:
        tops = [int(n) for n in self.numbered if "." not in n]
        return int(number) == (max(tops) + 1 if tops else 1)

    def _open(self, title: str, number: str | None, path: tuple[str, ...] = ()) -> Section:
        key = number if number else title.lower().replace(" ", "-")
        for seen in self.doc.sections:
            if seen.key == key:
                return seen  # a second "Abstract:" continues the first; keys and passage ids stay unique
        section = Section(key=key, number=number, title=title, path=path or (title,))
        self.doc.sections.append(section)
        return section

    def _add_paragraph(self, block: _Block) -> None:
        start, end = _trim(self.doc.source, block.start, block.end)
        if end > start:
            text = collapse_whitespace(self.doc.source[start:end])
            self.doc.paragraphs.append(Paragraph(self.current, start, end, text))

    def _add_references(self, block: _Block) -> None:
        for entry in _reference_entries(self.doc.source, block):
            match = _REFERENCE.fullmatch(entry.text)
            if not match:
                self._add_paragraph(entry)
                continue
            number = int(match["number"])
            start = entry.start + entry.text.index("[")
            citation = collapse_whitespace(match["citation"])
            self.doc.references[number] = Reference(number, citation, start, entry.end)
            self._add_paragraph(_Block(start, entry.end, ""))

    def _finish_front_matter(self, title_block: _Block) -> None:
        lines = [collapse_whitespace(b.text) for b in self.front_lines]
        for line in lines:
            doi = _DOI.search(line)
            if doi:
                self.doc.doi = doi["doi"]
        people = [line for line in lines if not _DOI.search(line)]
        if people:
            self.doc.authors = [a.strip().rstrip("*") for a in people[0].split(",") if a.strip()]
        if len(people) > 1:
            self.doc.affiliation = people[1]
        title = Paragraph(self.front, title_block.start, title_block.end, self.doc.title)
        self.doc.paragraphs.insert(0, title)


def _reference_entries(source: str, block: _Block) -> Iterator[_Block]:
    """Split a references block into entries: each "[n]" at a line start begins one."""
    starts = [block.start + m.start() for m in _REFERENCE_START.finditer(block.text)]
    if not starts or starts[0] != block.start:
        starts.insert(0, block.start)
    for start, end in zip(starts, starts[1:] + [block.end], strict=True):
        start, end = _trim(source, start, end)
        yield _Block(start, end, source[start:end])


def _trim(source: str, start: int, end: int) -> tuple[int, int]:
    while start < end and source[start].isspace():
        start += 1
    while end > start and source[end - 1].isspace():
        end -= 1
    return start, end
