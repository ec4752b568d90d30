"""Article text → Document: front matter, sections with their hierarchy, paragraphs, references.

The input is plain text (as extracted from a PDF) or Markdown. Blocks are separated by
blank lines; a block that stops mid-sentence and is followed by one starting in lower
case is the same paragraph broken by the extraction, and is joined back.

Headings are recognised in three styles: numbered ("2.", "3.2 Title"), Markdown ("## Title",
"## 2.1 Title") and unnumbered title-case lines ("Materials and Methods") once the front
matter is over. References follow a "References" heading, in any style citations.py reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from rsa_qa.errors import CorpusError
from rsa_qa.pipeline.abbreviations import find_pairs
from rsa_qa.pipeline.citations import parse_entry, split_entries
from rsa_qa.pipeline.document import (
    ABSTRACT,
    FRONT_MATTER,
    KEYWORDS,
    PARTS,
    REFERENCES,
    Document,
    DocumentMeta,
    Paragraph,
    Section,
)
from rsa_qa.text import collapse_whitespace

REFERENCE_TITLES = frozenset({"references", "reference", "bibliography", "literature cited", "works cited"})

_NUMBERED = re.compile(r"(?P<number>\d{1,3}(?:\.\d{1,3})*)\.?\s+(?P<title>\S.*)")
_LETTERED = re.compile(r"(?P<number>[A-Z]\d{0,2}|[IVX]{1,5})\.\s+(?P<title>\S.*)")
_MARKDOWN = re.compile(r"(?P<hashes>#{1,6})\s+(?P<title>\S.*?)\s*#*")
_LABELLED = re.compile(r"(?P<label>Abstract|Keywords?|Key words)\s*[:.—–-]\s*", re.IGNORECASE)
_BLOCK = re.compile(r"\S(?:.*\S)?(?:\n[ \t]*\S.*)*")
_YAML_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?P<yaml>.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)
_METADATA_FIELDS = frozenset({"id", *DocumentMeta.model_fields} - {"metadata"})
_DOI = re.compile(r"(?:DOI\s*:?\s*|https?://(?:dx\.)?doi\.org/)(?P<doi>10\.\d{4,9}/\S+)", re.IGNORECASE)
_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
_SENTENCE_TERMINAL = (".", "?", "!", ":", ".)", '."', ".”")
_MAX_HEADING_WORDS = 20
_MAX_PLAIN_HEADING_WORDS = 10
_MINOR_WORDS = frozenset("a an and as at by for from in of on or the to vs with".split())


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
    metadata, body_start = _front_matter(source, doc_id)
    blocks = list(_join_broken_paragraphs(_split_blocks(source, body_start)))
    if not blocks:
        raise CorpusError(f"document {doc_id!r} is empty")
    heading = _MARKDOWN.fullmatch(blocks[0].text)
    title = collapse_whitespace(heading["title"] if heading else blocks[0].text)
    doc = Document(id=doc_id, source=source, meta=DocumentMeta(title=title))
    _Builder(doc).consume(blocks)
    apply_metadata(doc, metadata)
    doc.abbreviations = find_pairs(source)
    return doc


def _front_matter(source: str, doc_id: str) -> tuple[dict[str, Any], int]:
    """YAML between '---' lines at the very top: metadata that overrides what parsing guesses."""
    match = _YAML_FRONT_MATTER.match(source)
    if not match:
        return {}, 0
    try:
        metadata = yaml.safe_load(match["yaml"]) or {}
    except yaml.YAMLError as exc:
        raise CorpusError(f"document {doc_id!r} has invalid YAML front matter: {exc}") from exc
    if not isinstance(metadata, dict):
        raise CorpusError(f"document {doc_id!r}: front matter must be a mapping of fields")
    return metadata, match.end()


def apply_metadata(doc: Document, metadata: dict[str, Any]) -> None:
    """Fields given by the author (front matter or a sidecar file) win over parsed guesses."""
    update: dict[str, Any] = {}
    if "title" in metadata:
        update["title"] = str(metadata["title"])
    if "authors" in metadata:
        authors = metadata["authors"]
        update["authors"] = [str(a) for a in authors] if isinstance(authors, list) else _authors(str(authors))
    for name in ("affiliation", "doi", "year"):
        if metadata.get(name) is not None:
            update[name] = str(metadata[name])
    extra = {k: v for k, v in metadata.items() if k not in _METADATA_FIELDS}
    update["metadata"] = {**doc.meta.metadata, **extra}
    doc.meta = doc.meta.model_copy(update=update)


def _split_blocks(source: str, start: int = 0) -> Iterator[_Block]:
    for match in _BLOCK.finditer(source, start):
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
        self.stack: list[tuple[int, Section]] = []
        self.front = self._open(FRONT_MATTER, None, level=1)
        self.current: Section = self.front
        self.numbered: dict[str, Section] = {}
        self.in_references = False
        self.front_lines: list[_Block] = []
        self.markdown = False
        self.bibliography_at: int | None = None  # the block of the last References heading
        self.marks_sections = False

    @property
    def in_front_matter(self) -> bool:
        return self.current is self.front

    def consume(self, blocks: list[_Block]) -> None:
        # A Markdown article marks its headings: a short title-case line in it is text.
        marked = [m for b in blocks[1:] if (m := _MARKDOWN.fullmatch(collapse_whitespace(b.text)))]
        self.markdown = bool(marked)
        self.marks_sections = any(not _is_part_heading(m["title"]) for m in marked)
        # A numbered "4 References" with another References heading after it is a section
        # about citing (an authors' guide's), not the bibliography.
        listed = [
            i for i, b in enumerate(blocks) if _is_references_heading(_bare(collapse_whitespace(b.text)))
        ]
        self.bibliography_at = listed[-1] if listed else None
        for at, block in enumerate(blocks[1:], start=1):
            self._consume(block, at)
        self._finish_front_matter(blocks[0])

    def _consume(self, block: _Block, at: int) -> None:
        text = collapse_whitespace(block.text)
        markdown = _MARKDOWN.fullmatch(text)
        bare = _bare(text)
        if _is_references_heading(bare) and (at == self.bibliography_at or not _NUMBERED.fullmatch(bare)):
            self.current = self._open(REFERENCES, None, level=1)
            self.in_references = True
            return
        if self.in_references and not markdown:
            self._add_references(block)
            return
        self.in_references = False
        if self._labelled_part(block, bare):
            return
        if markdown:
            heading: Section | None = self._markdown_heading(markdown)
        else:
            # Numbered headings must follow on from the numbers seen so far, so a line that
            # merely starts with a number is not taken for one; short title-case lines are
            # headings only in text that marks none itself, numbered ones only in text that
            # marks no section of its body ("1. …" is then a list item).
            heading = None if self.marks_sections else self._numbered_heading(text)
            if heading is None and not self.in_front_matter and not self.markdown:
                heading = self._plain_heading(text)
        if heading is not None:
            self.current = heading
            return
        if self.in_front_matter:
            self.front_lines.append(block)
        self._add_paragraph(block)

    def _labelled_part(self, block: _Block, bare: str) -> bool:
        """'Abstract: text…' inline, or an 'Abstract' / 'Keywords' heading on its own."""
        if bare in _PART_LABELS:
            self.current = self._open(ABSTRACT if bare == "abstract" else KEYWORDS, None, level=1)
            return True
        labelled = _LABELLED.match(block.text)
        if not labelled:
            return False
        name = ABSTRACT if labelled["label"].lower() == "abstract" else KEYWORDS
        self.current = self._open(name, None, level=1)
        self._add_paragraph(_Block(block.start + labelled.end(), block.end, ""))
        return True

    def _markdown_heading(self, match: re.Match[str]) -> Section:
        level = len(match["hashes"])
        lettered = _LETTERED.fullmatch(match["title"])
        if lettered:  # "## A. Example Analyses" (an appendix), "## III. Results"
            section = self._open(lettered["title"].strip(), lettered["number"], level=level)
            self.numbered[lettered["number"]] = section
            return section
        numbered = _NUMBERED.fullmatch(match["title"])
        if numbered and not match["title"][0].isalpha():
            number, title = numbered["number"], numbered["title"].strip()
            section = self._open(title, number, level=level)
            self.numbered[number] = section
            return section
        return self._open(match["title"].strip(), None, level=level)

    def _numbered_heading(self, text: str) -> Section | None:
        match = _NUMBERED.fullmatch(text)
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
        title = match["title"].strip()
        section = self._open(title, number, level=number.count(".") + 1)
        self.numbered[number] = section
        return section

    def _plain_heading(self, text: str) -> Section | None:
        """A short title-case line with no final stop: "Materials and Methods", "RESULTS"."""
        words = text.split()
        if not words or len(words) > _MAX_PLAIN_HEADING_WORDS or text.endswith(_SENTENCE_TERMINAL):
            return None
        if not text[0].isupper() or "\n" in text or any(ch in text for ch in ",;:[]="):
            return None
        significant = [w for w in words if w.lower() not in _MINOR_WORDS]
        if not significant or not all(w[0].isupper() or not w[0].isalpha() for w in significant):
            return None
        return self._open(text.title() if text.isupper() else text, None, level=1)

    def _is_next_top_level(self, number: str) -> bool:
        tops = [int(n) for n in self.numbered if n.isdigit()]  # not an appendix's "A" or a "III"
        return int(number) == (max(tops) + 1 if tops else 1)

    def _open(self, title: str, number: str | None, level: int) -> Section:
        # Abstract, Keywords … are never a parent of what follows; a numbered "D. Abstract" is
        # a section of the body (an authors' guide's about writing one).
        part = title in PARTS and number is None
        if part:
            self.stack.clear()
        while self.stack_top_level() >= level:
            self.stack.pop()
        label = f"{number} {title}" if number else title
        path = tuple(s.label for _, s in self.stack) + (label,)
        section = Section(key=self._unique_key(number or _slug(title)), number=number, title=title, path=path)
        self.doc.sections.append(section)
        if not part:
            self.stack.append((level, section))
        return section

    def stack_top_level(self) -> int:
        return self.stack[-1][0] if self.stack else 0

    def _unique_key(self, key: str) -> str:
        taken = {s.key for s in self.doc.sections}
        candidate, suffix = key, 2
        while candidate in taken:
            candidate, suffix = f"{key}-{suffix}", suffix + 1
        return candidate

    def _add_paragraph(self, block: _Block) -> None:
        start, end = _trim(self.doc.source, block.start, block.end)
        if end > start:
            text = collapse_whitespace(self.doc.source[start:end])
            self.doc.paragraphs.append(Paragraph(self.current, start, end, text))

    def _add_references(self, block: _Block) -> None:
        raw = self.doc.source[block.start : block.end]
        for offset, entry_text in split_entries(raw):
            entry = parse_entry(entry_text, block.start + offset, next_number=len(self.doc.references) + 1)
            start, end = _trim(self.doc.source, entry.start, entry.end)
            while start < end and self.doc.source[start] in "-•* \t":
                start += 1
            reference = replace(entry, start=start, end=end)
            self.doc.references.setdefault(entry.number, reference)
            self._add_paragraph(_Block(start, end, ""))

    def _finish_front_matter(self, title_block: _Block) -> None:
        lines = [collapse_whitespace(b.text) for b in self.front_lines]
        for line in lines:
            doi = _DOI.search(line)
            if doi and self.doc.meta.doi is None:
                self.doc.meta.doi = doi["doi"].rstrip(".")
            year = _YEAR.search(line)
            if year and self.doc.meta.year is None:
                self.doc.meta.year = year.group()
        people = [line for line in lines if not _DOI.search(line)]
        if people and len(people[0].split()) <= 4 * max(1, people[0].count(",") + 1):
            self.doc.meta.authors = _authors(people[0])
        if len(people) > 1:
            self.doc.meta.affiliation = people[1]
        title = Paragraph(self.front, title_block.start, title_block.end, self.doc.meta.title)
        self.doc.paragraphs.insert(0, title)


_PART_LABELS = frozenset({"abstract", "keywords", "key words"})


def _is_part_heading(title: str) -> bool:
    """Abstract, Keywords, References: parts every article has, not sections of its body."""
    bare = title.strip().rstrip(":").lower()
    return bare in _PART_LABELS or _is_references_heading(bare)


def _bare(text: str) -> str:
    """A block's words without Markdown's marks, folded: what a part's heading is matched on."""
    markdown = _MARKDOWN.fullmatch(text)
    return (markdown["title"] if markdown else text).strip().rstrip(":").lower()


def _is_references_heading(bare: str) -> bool:
    numbered = _NUMBERED.fullmatch(bare)
    return bare in REFERENCE_TITLES or (numbered is not None and numbered["title"] in REFERENCE_TITLES)


def _authors(line: str) -> list[str]:
    names = re.split(r",\s*|\s+and\s+|\s*&\s*|;\s*", line)
    return [re.sub(r"[\d*†‡§]+$", "", name).strip() for name in names if name.strip()]


def _slug(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return slug[:40].rstrip("-") or "section"


def _trim(source: str, start: int, end: int) -> tuple[int, int]:
    while start < end and source[start].isspace():
        start += 1
    while end > start and source[end - 1].isspace():
        end -= 1
    return start, end
