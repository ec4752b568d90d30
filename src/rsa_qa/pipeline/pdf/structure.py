"""Lines in reading order → the article's structure, written as Markdown for parse.py.

The shape follows GROBID's (header, body, bibliography):

    ---                     YAML front matter: title, authors, doi (parse.py applies it)
    # Title
    ## Abstract             the abstract, when it is labelled
    ## Keywords
    ## 1 Introduction       headings from type: size, weight, numbering, the PDF's outline
    ### 1.1 …
    paragraphs             rebuilt from line spacing and indents, hyphenation undone
    ## References
    [1] entry              one entry a line, bounded by the next heading

Trust runs metadata → outline → layout: the document-info title and authors are used when
the first page prints them, the outline names the sections when the PDF has one, and the
layout decides everything else. Code (fixed-width lines), figure and axis debris, and
footnotes are left out of the prose; a word that occurs only in them is not indexed.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher

import yaml

from rsa_qa.pipeline.pdf.layout import SUPERSCRIPT_DIGITS, Line, PageLines
from rsa_qa.pipeline.pdf.read import OutlineEntry

# A heading's number: "2", "2.1.", "IV.", "B.", "B.2", an appendix's "A1." ; after a "§"
# (Progress of Theoretical Physics), with a space after a dot ("4. 1.", CJE's class).
_NUMBERING = re.compile(
    r"^(?:§\s?)?(?P<number>(?:\d{1,2}(?:\.\s?\d{1,2}){0,3}\.?)|(?:[IVX]{1,5}\.)|(?:[A-Z]\.(?:\d{1,2}\.?)*)"
    r"|(?:[A-Z]\d{1,2}(?:\.\d{1,2})*\.))\s+(?P<title>\S.*)$"
)
_APPENDIX = re.compile(
    r"^(?:Appendix|APPENDIX|Annexe|ANNEXE|Annex)\s+(?P<number>[A-Z0-9]{1,2})\s*[:.–—-]?\s*(?P<title>.*)$"
)
# The back matter's sections, outside the body's numbering and often left out of the outline,
# in whatever type a class sets them.
_BACK_MATTER = re.compile(
    r"^(?:acknowledge?ments?|funding|competing interests?|conflicts? of interest|data availability)[.:]?$",
    re.IGNORECASE,
)
_REFERENCES = re.compile(
    r"^(?:\d{1,2}\.?\s+|[IVX]{1,5}\.\s+)?"
    r"(?:references|bibliography|literature cited|works cited|references and notes)$",
    re.IGNORECASE,
)
_ABSTRACT = re.compile(r"^(?:abstract|summary)\s*[:.—–-]?\s*", re.IGNORECASE)
_KEYWORDS = re.compile(r"^(?:key\s*words?|index terms)\s*[:.—–-]\s*", re.IGNORECASE)
_AFFILIATION = re.compile(
    r"universit|institut|department|dept\.|school|college|laborator|hospital|centre|center|faculty|"
    r"academy|@|https?:|www\.|\bstreet\b|\bstr\.|avenue|\broad\b|e-?mail|corresponding|\bdated\b|"
    r"collaboration|\binc\.|\bltd\b|gmbh|foundation|ministry|received|accepted|published|\bpo box\b|"
    r"clinic|\bdated\b",
    re.IGNORECASE,
)
_DOI = re.compile(
    r"(?:doi\s*:?\s*|https?://(?:dx\.)?doi\.org/)(?P<doi>10\.\d{4,9}/[^\s\"<>]+)", re.IGNORECASE
)
_DATE = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2},?\s+(?:19|20)\d{2}\b|"
    r"\b\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(?:19|20)\d{2}\b",
    re.IGNORECASE,
)
_SENTENCE_END = (".", "?", "!", ":", ".)", '."', ".”", "?”")
_SUPERSCRIPTS = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹]+(?:[,⁻–-]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)*")
# A display formula set in bold or large type is no heading.
_FORMULA = re.compile(r"[=≤≥≈∑∏∫√±]")
# A paper or manuscript number set large above the title ("IMECE2023-XXXX", "MS-2021-0042").
# A web address or DOI: in a document info's title, a journal's citation line, not the title.
_LINK = re.compile(r"https?://|www\.|\bdoi\b|\b10\.\d{4,9}/", re.IGNORECASE)
_IDENTIFIER = re.compile(r"\S*\d\S*")
# A software version set in the title's type below it ("Version 2.30.0"): not the title.
_VERSION = re.compile(r"(?:version|release|revision|rev\.|v\.?)\s*\d+(?:[.-]\d+)*[a-z]?", re.IGNORECASE)
# A journal's volume and issue, printed under its name on the first page of each article.
_ISSUE = re.compile(r"\bvol(?:ume|\.)?\s*\d+\s*[,(]?\s*(?:issue|no\.?|number)\s*\d+", re.IGNORECASE)
_CAPTION = re.compile(
    r"^(?:fig(?:ure)?|table|tab|listing|algorithm|scheme|chart|exhibit)\.?\s*(?:\d+|[IVX]+)\s*[.:|]", re.I
)
_NAME_SEPARATOR = re.compile(r",\s*(?:and\s+|&\s*)?|;\s*|\s+and\s+|\s*&\s*|\s{3,}", re.IGNORECASE)
# A copyright line names the holder (a publisher, a society), not the authors.
_COPYRIGHT = re.compile(r"^(?:©|copyright\b)", re.IGNORECASE)
_LEADING_AND = re.compile(r"^(?:and|&|by)\s+", re.IGNORECASE)
_INITIAL = re.compile(r"^[A-Z]\.(?:-?[A-Z]\.)*$")
_NAME_WORD = re.compile(r"^(?:[A-Z][\w'’.-]*|van|von|der|den|de|del|della|di|da|du|le|la|y|ter|bin|al-?\w*)$")
# What follows a reference list in journal styles: the authors' addresses.
_AFTER_REFERENCES = re.compile(
    r"^(?:affiliations?|author'?s'? address(?:es)?|corresponding author|about the authors?)\s*:?",
    re.IGNORECASE,
)
_CITED_YEAR = re.compile(
    r"\b(?:1[6-9]|20)\d{2}[a-z]?\b(?![/-]\d)|\bin press\b|\bn\.\s?d\.|\bforthcoming\b", re.IGNORECASE
)
# An entry's number: "[12]", "12.", "(12)" or, in AIAA's and other superscript styles, "¹²".
_REFERENCE_START = re.compile(
    r"^(?:[-•*]\s*)?(?:\[\d{1,4}\]|\d{1,3}[.)](?=\s)|\(\d{1,3}\)|(?P<raised>[⁰¹²³⁴⁵⁶⁷⁸⁹]{1,3})(?=\s*[^\W\d_]))\s*"
)
_RAISED_DIGITS = {raised: digit for digit, raised in SUPERSCRIPT_DIGITS.items()}
# Heading styles differ from the body by at least this much of its size, or by weight.
LARGER = 1.08
# Lines this much smaller than the body (and outside the reference list and front matter)
# are footnotes, captions of axes and the like.
SMALLER = 0.82
# A gap this many times the usual line spacing starts a new paragraph.
PARAGRAPH_GAP = 1.45
MAX_HEADING_WORDS = 14


@dataclass
class Heading:
    number: str | None
    title: str
    level: int


@dataclass
class Paragraph:
    text: str


@dataclass
class Article:
    title: str = ""
    authors: list[str] = field(default_factory=list)
    front: list[str] = field(default_factory=list)  # the lines between title and abstract, as printed
    doi: str | None = None
    abstract: list[str] = field(default_factory=list)
    keywords: str | None = None
    body: list[Heading | Paragraph] = field(default_factory=list)
    references: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        meta = {"title": self.title, "authors": self.authors}
        if self.doi:
            meta["doi"] = self.doi
        out = ["---", yaml.safe_dump(meta, allow_unicode=True, sort_keys=False).strip(), "---", ""]
        out += [f"# {self.title}", ""]
        out += [line + "\n" for line in self.front]
        if self.abstract:
            out += ["## Abstract", "", *[p + "\n" for p in self.abstract]]
        if self.keywords:
            out += ["## Keywords", "", self.keywords, ""]
        for item in self.body:
            if isinstance(item, Heading):
                number = f"{item.number}." if item.number and not item.number[0].isdigit() else item.number
                label = f"{number} {item.title}" if number else item.title
                out += [f"{'#' * min(item.level + 1, 6)} {label}", ""]
            else:
                out += [item.text, ""]
        if self.references:
            out += ["## References", "", *[f"{entry}\n" for entry in self.references]]
        return "\n".join(out).rstrip() + "\n"


def article(pages: Sequence[PageLines], outline: Sequence[OutlineEntry], metadata: dict[str, str]) -> Article:
    lines = [line for page in pages for line in page.lines if line.text.strip()]
    if not lines:
        return Article()
    body_size = _body_size(lines)
    lines = _without_contents(_drop_capitals(lines, body_size), body_size)
    edges = _Edges.of(lines)
    centred = _centred_headings(lines, body_size)
    result = Article()
    front_end = _front_matter(lines, body_size, metadata, result, edges, centred)
    rest = lines[front_end:]
    references_at = _references_start(rest, body_size)
    body, tail = (rest[:references_at], rest[references_at:]) if references_at is not None else (rest, [])
    figure_labels = _figure_labels(lines, body_size)
    headings = _Headings(body + tail, body_size, outline, centred - figure_labels, figure_labels)
    body_lines = [
        line
        for line in body
        if (_is_prose(line, body_size) or headings.is_heading(line)) and id(line) not in figure_labels
    ]
    result.body = _body(body_lines, headings, body_size, edges)
    entries, after = _reference_entries(tail, headings, body_size)
    result.references = entries
    if after:
        appendix = [line for line in after if _is_prose(line, body_size) or headings.is_heading(line)]
        result.body += _body(appendix, headings, body_size, edges)
    result.doi = result.doi or _doi(lines[: max(front_end, 1) + 40])
    return result


# ---------------------------------------------------------------- type


def _drop_capitals(lines: list[Line], body_size: float) -> list[Line]:
    """A paragraph's first letter set large over its first lines (a drop capital) put back
    before the rest of its word: "T" beside "his document, when …" reads "This document"."""
    result = list(lines)
    for letter in lines:
        text = letter.text.strip()
        if not (len(text) == 1 and text.isupper() and letter.size >= 2 * body_size):
            continue
        beside = [
            line
            for line in result
            if line.page == letter.page
            and line is not letter
            and letter.x1 - 2 <= line.x0 <= letter.x1 + 2 * body_size
            and line.bottom <= letter.top + 2
            and line.top >= letter.bottom - 2
        ]
        if not beside:
            continue
        first = max(beside, key=lambda line: line.top)
        if first.text[:1].islower():
            at = result.index(first)
            result[at] = replace(first, text=text + first.text, x0=letter.x0)
            result.remove(letter)
    return result


_CONTENTS = re.compile(r"(?:table of )?contents", re.IGNORECASE)
_LEADER_DOTS = r"(?:\.\s?){3,}"
# A contents entry's page number: alone on its line (set at the right margin), or after
# leader dots.
_CONTENTS_PAGE = re.compile(
    rf"(?:[0-9]{{1,4}}|[ivxlc]{{1,6}})|.*{_LEADER_DOTS}\s*(?:[0-9]{{1,4}}|[ivxlc]{{1,6}})"
)


def _without_contents(lines: list[Line], body_size: float) -> list[Line]:
    """The lines without the document's table of contents: a "Contents" line and the run of
    entries after it (numbered titles, page numbers alone or after leader dots), across a
    page's footnotes, up to the first title it lists again: the body's first heading. Left
    in, it reads as a passage of every section's title, which matches any question a little."""
    for at, line in enumerate(lines[: len(lines) // 3]):
        if not _CONTENTS.fullmatch(line.text.strip()):
            continue
        entries, listed = [at], set()
        for following in range(at + 1, len(lines)):
            # An entry's title without its leader dots and page number (page numbers repeat).
            title = _fold(re.sub(rf"{_LEADER_DOTS}.*$", "", lines[following].text)).strip("0123456789 ")
            if title and title in listed:
                break
            if _contents_entry(lines[following]):
                entries.append(following)
                listed.add(title)
            elif lines[following].size >= body_size - 0.5:
                break  # a footnote set smaller is passed over and kept
        if len(entries) > 3:  # a heading "Contents" with at least three entries under it
            dropped = set(entries)
            return [line for i, line in enumerate(lines) if i not in dropped]
    return lines


def _contents_entry(line: Line) -> bool:
    text = line.text.strip()
    return bool(
        _CONTENTS_PAGE.fullmatch(text)
        or re.search(rf"{_LEADER_DOTS}\.\s*$", text)  # leader dots, the page number on a line of its own
        or (_NUMBERING.match(text) and len(text.split()) <= MAX_HEADING_WORDS and not text.endswith("."))
        or _APPENDIX.match(text)
        or _REFERENCES.match(text)
        or _BACK_MATTER.match(text)
    )


def _body_size(lines: Sequence[Line]) -> float:
    counts: Counter[float] = Counter()
    for line in lines:
        if line.mono < 0.5:
            counts[round(line.size, 1)] += len(line.text)
    return counts.most_common(1)[0][0] if counts else 10.0


def _is_prose(line: Line, body_size: float) -> bool:
    """Not code, not figure debris, not a footnote or a caption of an axis."""
    if line.mono >= 0.6:
        return False
    text = line.text
    visible = [ch for ch in text if not ch.isspace()]
    letters = sum(ch.isalpha() for ch in visible)
    if not visible or letters / len(visible) < 0.5:
        return False
    if line.size < SMALLER * body_size:
        return False
    if len(text.split()) <= 2 and letters < 3:
        return False
    return True


def _figure_labels(lines: Sequence[Line], body_size: float) -> frozenset[int]:
    """A plot's title and axis labels, set large or bold like headings: lines followed by a
    caption ("Fig. 2."), or by nothing but debris on their page (tick labels, single letters,
    other such labels) — never by prose or code."""
    labels: set[int] = set()
    for at in range(len(lines) - 1, -1, -1):
        line = lines[at]
        if (_is_prose(line, body_size) and not _heading_like(line, body_size)) or _NUMBERING.match(line.text):
            continue
        # The next lines of its own column: a table beside a heading is read row by row with it.
        following = [
            other
            for other in lines[at + 1 : at + 12]
            if other.page == line.page and other.x0 < line.x1 + 100 and other.x1 > line.x0 - 100
        ][:3]
        if (
            following
            and _CAPTION.match(following[0].text)
            and line.baseline - following[0].baseline < 5 * max(line.size, following[0].size)
        ):
            labels.add(id(line))
        elif len(following) == 3 and all(
            id(other) in labels or (not _is_prose(other, body_size) and other.mono < 0.6)
            for other in following
        ):
            labels.add(id(line))
    return frozenset(labels)


# ---------------------------------------------------------------- front matter


def _front_matter(
    lines: Sequence[Line],
    body_size: float,
    metadata: dict[str, str],
    result: Article,
    edges: _Edges,
    centred: frozenset[int],
) -> int:
    """Title, authors, abstract and keywords from the first page; the index of the first body line."""
    first_page = [i for i, line in enumerate(lines) if line.page == lines[0].page]
    head = [lines[i] for i in first_page]
    title_rows = _title_rows(head, body_size) or _first_block(head)
    meta_title = metadata.get("Title", "")
    if _LINK.search(meta_title) or _IDENTIFIER.fullmatch(meta_title):
        # A citation line the producer filled in ("… 0 (2020), https://doi.org/…"), or a name
        # that is no words: a font's ("CMR10"), a file's.
        meta_title = ""
    if meta_title and not _similar(" ".join(head[i].text for i in title_rows), meta_title):
        # The document info names the title: where the page prints it (below a journal's
        # masthead set larger), those lines are the title.
        title_rows = _rows_reading(head, meta_title) or title_rows
    printed = " ".join(head[i].text for i in title_rows)
    printed = _SUPERSCRIPTS.sub("", printed).strip(" *∗†")
    if printed and meta_title and _similar(printed, meta_title):
        result.title = meta_title  # the same words, without the page's lost word spaces
    elif printed:
        result.title = printed
    elif meta_title:
        result.title = meta_title
    after_title = (title_rows[-1] + 1) if title_rows else 0
    abstract_at = next(
        (
            i
            for i in range(after_title, len(head))
            if _ABSTRACT.match(head[i].text)
            and (_looks_like_label(head[i]) or re.match(r"^(?:abstract|summary)\s*[:.]", head[i].text, re.I))
        ),
        None,
    )
    stop = abstract_at if abstract_at is not None else _first_prose(head, after_title, body_size, centred)
    listed = _listed_authors(metadata.get("Author", ""))
    result.authors = _confirmed_authors(_authors(head[after_title:stop], listed), listed, head)
    result.front = _front_lines(head[after_title:stop])
    end = stop
    if abstract_at is not None:
        end = _abstract(lines, abstract_at, body_size, result, edges)
    end = _keywords(lines, end, result)
    return end


def _rows_reading(head: Sequence[Line], text: str, most: int = 4) -> list[int]:
    """The first run of up to `most` consecutive lines whose text is `text`."""
    for start in range(len(head)):
        for end in range(start + 1, min(start + most, len(head)) + 1):
            if _similar(" ".join(head[i].text for i in range(start, end)), text):
                return list(range(start, end))
    return []


def _front_lines(lines: Sequence[Line]) -> list[str]:
    """Authors, affiliations and the like, a line each as printed, a wrapped line joined back."""
    joined: list[str] = []
    for line in lines:
        if line.mono >= 0.6:
            continue
        if joined and (joined[-1].endswith((",", "-", "and")) or line.text[:1].islower()):
            joined[-1] = _join([joined[-1], line.text], Counter())
        else:
            joined.append(line.text)
    return joined


def _first_block(head: Sequence[Line]) -> list[int]:
    """Without a title in larger type: the first lines of the page, up to the first wider gap."""
    if not head:
        return []
    rows = [0]
    for i in range(1, min(len(head), 4)):
        gap = head[i - 1].baseline - head[i].baseline
        if head[i].page != head[0].page or not 0 < gap < 1.4 * head[0].size:
            break
        rows.append(i)
    return rows if len(" ".join(head[i].text for i in rows).split()) <= 30 else []


def _title_rows(head: Sequence[Line], body_size: float) -> list[int]:
    """The consecutive lines of the largest type in the top half of the first page."""
    if not head:
        return []
    page_top = max(line.top for line in head)
    upper = [
        i
        for i, line in enumerate(head)
        if line.top >= page_top - 0.5 * (page_top - min(other.bottom for other in head))
    ]
    candidates = [
        i
        for i in upper
        if len(head[i].text) > 3
        and head[i].mono < 0.5
        and not _IDENTIFIER.fullmatch(head[i].text)
        and not _VERSION.fullmatch(head[i].text.strip())
    ]
    while candidates:
        largest = max(head[i].size for i in candidates)
        if largest < body_size * LARGER and not any(head[i].bold > 0.5 for i in candidates):
            return []
        run = _largest_run(head, candidates, largest)
        if not _masthead(head, run):
            return run
        candidates = [i for i in candidates if i not in run]
    return []


def _largest_run(head: Sequence[Line], candidates: Sequence[int], largest: float) -> list[int]:
    """The first candidate in the largest type, and the lines of that type right below it."""
    first = next(i for i in candidates if head[i].size >= largest - 0.3)
    run = [first]
    for i in range(first + 1, len(head)):
        if (
            head[i].size >= largest - 0.3
            and head[run[-1]].bottom - head[i].top < 1.2 * largest
            and not _VERSION.fullmatch(head[i].text.strip())
        ):
            run.append(i)
        else:
            break
    return run


def _masthead(head: Sequence[Line], run: Sequence[int]) -> bool:
    """Whether the lines are a journal's name: its volume and issue are printed right below."""
    return any(_ISSUE.search(line.text) for line in head[run[-1] + 1 : run[-1] + 4])


def _first_prose(head: Sequence[Line], start: int, body_size: float, centred: frozenset[int]) -> int:
    """Where the front matter ends without an abstract label: the first paragraph-like run of
    body-size lines, or the first heading."""
    for i in range(start, len(head) - 1):
        line = head[i]
        if (
            id(line) in centred
            and i > start
            and not _AFFILIATION.search(line.text)
            and not any(_clean_name(part) for part in _NAME_SEPARATOR.split(line.text))
        ):
            return i
        heading = _heading_like(line, body_size)
        if heading and _NUMBERING.match(line.text):
            return i
        # An unnumbered heading of a few words that is neither a name nor an address.
        words = line.text.split()
        if (
            heading
            and i > start
            and len(words) <= 4
            and not _AFFILIATION.search(line.text)
            and not any(_clean_name(part) for part in re.split(r",\s*|\s+and\s+", line.text))
        ):
            return i
        long_lines = [head[j] for j in range(i, min(i + 3, len(head))) if len(head[j].text) > 60]
        if len(long_lines) >= 3 and not _AFFILIATION.search(line.text):
            return i
    # Nothing marks the text's start: it starts with the first line that is no name or address.
    for i in range(start, len(head)):
        text = head[i].text
        names = [part for part in re.split(r",\s*|\s+and\s+", text) if _clean_name(part)]
        if not names and not _AFFILIATION.search(text) and not _DOI.search(text.replace(" ", "")):
            return i
    return len(head)


def _looks_like_label(line: Line) -> bool:
    return len(line.text.split()) <= 2 or line.bold_start >= 6 or line.bold > 0.5 or line.text[:8].isupper()


def _authors(lines: Sequence[Line], listed: list[str]) -> list[str]:
    """Names from the lines between the title and the abstract; the document info's (`listed`)
    only when the page prints none (it sometimes lists them in another order). Lines in
    italic (affiliations, in most styles) only when no upright line names anyone: some
    styles set the names in italic."""
    family_names = {_family(name).casefold() for name in listed}
    upright = [line for line in lines if line.italic <= 0.6]
    return _printed_names(upright, family_names) or _printed_names(lines, family_names) or list(listed)


def _printed_names(lines: Sequence[Line], family_names: set[str]) -> list[str]:
    names: list[str] = []
    author_size: float | None = None  # the type of the first line with a name: affiliations differ
    for line in lines:
        text = line.text.strip()
        if not text or text[0] in "⁰¹²³⁴⁵⁶⁷⁸⁹(" or _COPYRIGHT.match(text):
            continue
        if author_size is not None and abs(line.size - author_size) > 0.5:
            continue
        found = [name for cell in line.cells or (text,) for name in _leading_names(cell, family_names)]
        if found and author_size is None:
            author_size = line.size
        names += [name for name in found if name not in names]
    return names


def _listed_authors(metadata_authors: str) -> list[str]:
    """The names the document info's Author field lists."""
    return [n for n in map(_clean_name, _NAME_SEPARATOR.split(metadata_authors)) if n]


def _confirmed_authors(printed: list[str], listed: list[str], page: Sequence[Line]) -> list[str]:
    """The document info's authors the first page prints (family name as a word, given name
    as the start of one), each in the form printed when the layout found it. When the info
    lists them all, an affiliation the layout took for a name goes; when it lists one (the
    file's creator, often) or misses some, the layout's other names stay. The layout's names
    alone when the info lists none the page prints ("Microsoft Office User")."""
    page_text = " ".join(line.text for line in page)
    page_words = set(re.findall(r"\w+", page_text.casefold()))
    confirmed = [name for name in listed if _printed_on(name, page_words)]
    if not confirmed:
        return printed
    chosen = [next((p for p in printed if _same_person(p, name)), name) for name in confirmed]
    if len(listed) < 2 or len(confirmed) < len(listed):
        chosen += [p for p in printed if not any(_same_person(p, c) for c in chosen)]
    # In the page's order: the document info sometimes lists them in another.
    squeezed = _squeezed(page_text)

    def position(name: str) -> int:
        found = squeezed.find(_squeezed(name))
        return found if found >= 0 else squeezed.find(_squeezed(_family(name))) % (len(squeezed) + 1)

    return sorted(chosen, key=position)


def _printed_on(name: str, page_words: set[str]) -> bool:
    words = re.findall(r"\w+", name.casefold())
    given, family = words[0], words[-1]
    return family in page_words and (len(given) == 1 or any(w.startswith(given[:3]) for w in page_words))


def _same_person(a: str, b: str) -> bool:
    """The same family name and the same first initial ("Ben Bolker", "Benjamin M. Bolker")."""
    return _squeezed(_family(a)) == _squeezed(_family(b)) and a[:1].casefold() == b[:1].casefold()


def _family(name: str) -> str:
    return name.split()[-1]


def _squeezed(text: str) -> str:
    return re.sub(r"\W+", "", text.casefold())


def _leading_names(cell: str, family_names: set[str]) -> list[str]:
    """The names a line starts with, up to the first part that is none: "A. N. Author, H.
    Coauthor, Name of Institute, City" gives two; "Dept of Electrical and Electronic
    Engineering" none, though its tail is shaped like a name."""
    names: list[str] = []
    for part in _NAME_SEPARATOR.split(_LEADING_AND.sub("", cell.strip(" ,;"))):
        if not re.sub(r"[\W\d_⁰¹²³⁴⁵⁶⁷⁸⁹]+", "", part):
            continue  # a note marker between names
        found = [] if _AFFILIATION.search(part) else _names_in(part, family_names)
        if not found:
            break
        names += found
    return names


def _names_in(part: str, family_names: set[str]) -> list[str]:
    """One name, or several set in a row without punctuation ("Benjamin M. Bolker Steven C.
    Walker"): cut after each family name the document info lists, else after a word that
    ends a name (not an initial) and is followed by a given name."""
    name = _clean_name(part)
    if name is not None:
        return [_unshout(name)]
    words = _SUPERSCRIPTS.sub("", part).split()
    if len(words) < 4 or not all(_NAME_WORD.match(w) for w in words):
        return []
    names: list[list[str]] = [[]]
    for word, following in zip(words, [*words[1:], ""], strict=True):
        names[-1].append(word)
        ends_name = word.strip(",").casefold() in family_names or (
            not family_names
            and len(names[-1]) >= 2
            and not _INITIAL.match(word)
            and not _INITIAL.match(following)
        )
        if ends_name and following:
            names.append([])
    cleaned = [_clean_name(" ".join(n)) for n in names]
    return [_unshout(n) for n in cleaned if n is not None] if all(cleaned) else []


def _unshout(name: str) -> str:
    """ "TORSTEN HOTHORN" as "Torsten Hothorn"; a name in mixed case as printed."""
    return name.title() if name.isupper() else name


def _clean_name(part: str) -> str | None:
    name = _SUPERSCRIPTS.sub("", part)
    # Footnote marks; "?" is a mark the PDF's font maps to no character (MNRAS's ⋆).
    name = re.sub(r"[∗*⋆★†‡§¶‖#?\d]+", "", name).strip(" ,.;")
    name = re.sub(r"\s+", " ", name)
    words = name.split()
    if not 2 <= len(words) <= 5 or not words[0][0].isupper():
        return None
    if not all(_NAME_WORD.match(w) for w in words) or sum(w[0].isupper() for w in words) < 2:
        return None
    return name


def _abstract(lines: Sequence[Line], at: int, body_size: float, result: Article, edges: _Edges) -> int:
    """The abstract's paragraphs after its label; the index of the line after them."""
    label = lines[at]
    first = _ABSTRACT.sub("", label.text, count=1).strip()
    collected: list[Line] = []
    i = at + 1
    while i < len(lines):
        line = lines[i]
        if _KEYWORDS.match(line.text) or (_heading_like(line, body_size) and collected):
            break
        if line.page != label.page and collected and _heading_like(line, body_size):
            break
        collected.append(line)
        i += 1
        if line.page > label.page + 1:
            break
    prose = [line for line in collected if _is_prose(line, body_size * 0.95)]
    paragraphs = _paragraphs(prose, body_size, edges)
    if first:
        paragraphs = [first + (" " + paragraphs[0] if paragraphs else "")] + paragraphs[1:]
    result.abstract = paragraphs
    return i


def _keywords(lines: Sequence[Line], at: int, result: Article) -> int:
    """A "Keywords:" line (and its continuation) right after the abstract: only that paragraph."""
    if at >= len(lines) or not _KEYWORDS.match(lines[at].text):
        return at
    text = lines[at].text
    i = at + 1
    while (
        i < len(lines)
        and lines[i].page == lines[at].page
        and lines[i - 1].bottom - lines[i].top < 0.6 * lines[at].size
    ):
        if _KEYWORDS.match(lines[i].text) or len(lines[i].text.split()) > 20:
            break
        text += " " + lines[i].text
        i += 1
    result.keywords = _KEYWORDS.sub("", text, count=1).strip()
    return i


def _doi(lines: Sequence[Line]) -> str | None:
    for line in lines:
        found = _DOI.search(line.text.replace(" ", ""))
        if found:
            return found["doi"].rstrip(".,;)")
    return None


# ---------------------------------------------------------------- headings


def _heading_like(line: Line, body_size: float, bold_run: int = 3) -> bool:
    """Whether the line's type and words make it a heading. `bold_run`: how many bold lines
    in a row it stands among (unknown: assume a paragraph's)."""
    text = line.text.strip()
    words = text.split()
    if not words or len(words) > MAX_HEADING_WORDS or line.mono >= 0.5:
        return False
    if sum(ch.isalpha() for ch in text) < 2 or _DATE.search(text) or _FORMULA.search(text):
        return False  # a lone letter is a drop capital or a figure's label, not a heading
    numbering = _NUMBERING.match(text)
    numbered = numbering is not None or _APPENDIX.match(text) is not None
    if (
        numbering
        and not re.match(r"[A-Z(“\"'‘]", numbering["title"])
        or (numbering and len(numbering["title"]) < 3)
    ):
        return False  # an equation's number before symbols, a table's figures
    letters = [ch for ch in text if ch.isalpha()]
    capitals = len(letters) >= 4 and all(ch.isupper() for ch in letters)
    # A bold line in capitals is a heading whatever ends it ("SECTIONS, EQUATIONS, ETC.").
    shouted = capitals and line.bold >= 0.8
    if text.endswith((",", ";")) and not numbered:
        return False
    if text.endswith(".") and not numbered and len(words) > 1 and not shouted:
        return False
    if not numbered and (text[0].islower() or re.search(r"[a-z]\. [A-Z]", text)):
        return False  # a line of text: headings start with a capital and hold no sentence end
    if line.fill > 0.85 and len(words) > 5 and not numbered and bold_run > 2:
        return False  # a full line of a bold paragraph; a heading fills one or two lines
    # Styles that set headings in small capitals, smaller than the text: numbered or capitals.
    small_caps = abs(line.size - body_size) >= 0.5 and len(words) <= 10 and (numbered or capitals)
    return line.size >= body_size * LARGER or line.bold >= 0.8 or (numbered and capitals) or small_caps


def _centred_headings(lines: Sequence[Line], body_size: float) -> frozenset[int]:
    """Short lines of words set centred in their column with space above and below, in the
    text's own type: headings in styles that neither enlarge nor embolden them (amsart, R
    News). Only when a document has two or more: one such line is as likely a display."""
    spacing = _line_spacing(lines)
    columns = _full_line_columns(lines)
    found = []
    for previous, line, following in zip([None, *lines[:-1]], lines, [*lines[1:], None], strict=True):
        if following is None or not _words_only(line) or line.size < body_size - 0.5 or line.fill > 0.7:
            continue
        bounds = _column_bounds(line, columns.get(line.page, []))
        if bounds is None:
            continue
        left_space, right_space = line.x0 - bounds[0], bounds[1] - line.x1
        centred = abs(left_space - right_space) < max(0.08 * (bounds[1] - bounds[0]), 2 * line.size)
        above = (
            previous is None
            or previous.page != line.page
            or previous.baseline - line.baseline > 1.4 * spacing
        )
        below = following.page != line.page or line.baseline - following.baseline > 1.2 * spacing
        if centred and left_space > 2 * line.size and above and below:
            found.append(id(line))
    return frozenset(found) if len(found) >= 2 else frozenset()


def _words_only(line: Line) -> bool:
    """A heading's text: a few words, mostly letters, no sentence end, no caption label."""
    text = line.text.strip()
    words = text.split()
    letters = sum(ch.isalpha() for ch in text)
    return (
        0 < len(words) <= 8
        and letters >= 0.7 * len(text.replace(" ", ""))
        and line.mono < 0.5
        and (text[0].isupper() or _NUMBERING.match(text) is not None)
        and not re.search(r"[=:;,]|[a-z]\.$|[a-z]\. [A-Z]", text)
        and not _CAPTION.match(text)
    )


def _full_line_columns(lines: Sequence[Line]) -> dict[int, list[tuple[float, float]]]:
    """Each page's columns, as the left and right edge of their full lines of text."""
    groups: dict[tuple[int, int], list[Line]] = {}
    for line in lines:
        if line.fill >= 0.9 and len(line.text) > 30:
            groups.setdefault(_column_key(line), []).append(line)
    columns: dict[int, list[tuple[float, float]]] = {}
    for (page, _), full in groups.items():
        if len(full) >= 3:
            edges = (statistics.median(x.x0 for x in full), statistics.median(x.x1 for x in full))
            columns.setdefault(page, []).append(edges)
    return columns


def _column_bounds(line: Line, columns: Sequence[tuple[float, float]]) -> tuple[float, float] | None:
    """The narrowest column of its page the line sits in."""
    inside = [(left, right) for left, right in columns if left - 2 <= line.x0 and line.x1 <= right + 2]
    return min(inside, key=lambda c: c[1] - c[0]) if inside else None


def _bold_runs(lines: Sequence[Line]) -> list[int]:
    """For each line, how many bold lines in a row on its page it stands among (0 if not bold)."""
    runs = [0] * len(lines)
    start = 0
    for i in range(1, len(lines) + 1):
        ends = i == len(lines) or not (
            lines[i].bold >= 0.8 and lines[i - 1].bold >= 0.8 and lines[i].page == lines[i - 1].page
        )
        if ends:
            length = i - start if lines[start].bold >= 0.8 else 0
            runs[start:i] = [length] * (i - start)
            start = i
    return runs


class _Headings:
    """Which lines are headings, and at what level: the outline's when the PDF has one,
    otherwise the type's (size, weight, capitals) ranked, with numbering deciding depth."""

    def __init__(
        self,
        lines: Sequence[Line],
        body_size: float,
        outline: Sequence[OutlineEntry],
        centred: frozenset[int] = frozenset(),
        figure_labels: frozenset[int] = frozenset(),
    ) -> None:
        self.body_size = body_size
        self.outline = [entry for entry in outline if len(entry.title) > 1]
        runs = _bold_runs(lines)
        candidates = [
            line
            for line, run in zip(lines, runs, strict=True)
            if id(line) not in figure_labels
            and (id(line) in centred or _heading_like(line, body_size, run) or self._named_numbered(line))
        ]
        styles = Counter(self._style(line) for line in candidates)
        ordered = sorted(styles, key=lambda s: (-s[0], -s[1], -s[2]))
        self.styles = ordered
        numbered_top = [
            self._style(line)
            for line in candidates
            if (m := _NUMBERING.match(line.text))
            and re.fullmatch(r"(?:\d{1,2}\.?|[IVX]{1,5}\.)", m["number"])
        ]
        self.top_style = (
            Counter(numbered_top).most_common(1)[0][0] if numbered_top else (ordered[0] if ordered else None)
        )
        self._candidates = {id(line) for line in candidates}
        # The type of the headings the outline names: an unlisted heading set in it (an
        # "Acknowledgments" or "Computational details" the outline leaves out) is one too.
        self._outline_styles = {
            self._style(line)
            for line in candidates
            if line.size >= body_size * LARGER and self.outline_entry(line)
        }

    def _named_numbered(self, line: Line) -> bool:
        """A numbered line in a heading's type that the outline names as a section: a title
        may start in lower case ("13 sva for sequencing") where the words alone would call it
        an equation."""
        if _NUMBERING.match(line.text.strip()) is None or not (
            line.size >= self.body_size * LARGER or line.bold >= 0.8
        ):
            return False
        entry = self.outline_entry(line)
        return entry is not None and entry.level == min(e.level for e in self.outline)

    def _style(self, line: Line) -> tuple[float, int, int]:
        return (round(line.size), int(line.bold >= 0.5), int(line.text.isupper()))

    def is_heading(self, line: Line) -> bool:
        # A PDF with an outline names its sections there; other big or bold lines are figure labels.
        if id(line) not in self._candidates:
            return False
        if len(self.outline) >= 3:
            return (
                self.outline_entry(line) is not None
                or _APPENDIX.match(line.text.strip()) is not None
                or _BACK_MATTER.match(line.text.strip()) is not None
                or self._style(line) in self._outline_styles
            )
        return True

    def in_outline(self, line: Line) -> bool:
        return id(line) in self._candidates and self.outline_entry(line) is not None

    def outline_entry(self, line: Line) -> OutlineEntry | None:
        """The outline's entry for a heading line: the same title, on the same page or the next."""
        text = line.text.strip()
        numbered = _NUMBERING.match(text)
        title = numbered["title"] if numbered else text
        for entry in self.outline:
            near = entry.page is None or 0 <= line.page - entry.page <= 1
            if near and (_similar(title, entry.title) or _similar(text, entry.title)):
                return entry
        return None

    def heading(self, line: Line) -> Heading:
        text = line.text.strip()
        appendix = _APPENDIX.match(text)
        if appendix:
            return Heading(appendix["number"], appendix["title"].strip() or "Appendix", 1)
        if _BACK_MATTER.match(text):
            return Heading(None, text, 1)
        numbered = _NUMBERING.match(text)
        number = numbered["number"].replace(" ", "").rstrip(".") if numbered else None
        title = numbered["title"].strip() if numbered else text
        level = self._level(line, number, title)
        return Heading(number, title, level)

    def _level(self, line: Line, number: str | None, title: str) -> int:
        entry = self.outline_entry(line)
        if entry is not None:
            return entry.level + 1
        depth = number.count(".") + 1 if number and number[0].isdigit() else 1
        style = self._style(line)
        if self.top_style is None or style not in self.styles:
            return depth
        # The type decides the level (REVTeX sets "I.", "A." and "1." headings in three
        # styles); dotted numbers never sit higher than their depth.
        below_top = self.styles.index(style) - self.styles.index(self.top_style)
        return max(1 + max(below_top, 0), depth)


def _similar(a: str, b: str) -> bool:
    a, b = _fold(a), _fold(b)
    return bool(a) and (a == b or SequenceMatcher(None, a, b).ratio() >= 0.88)


def _fold(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", " ", text.casefold()).strip()


# ---------------------------------------------------------------- body


def _body(
    lines: Sequence[Line], headings: _Headings, body_size: float, edges: _Edges
) -> list[Heading | Paragraph]:
    items: list[Heading | Paragraph] = []
    run: list[Line] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        # A numbered "References" in the body is a section about citing; the bibliography
        # was cut off before the body.
        bibliography = _names_references(line.text) and not _NUMBERING.match(line.text.strip())
        if headings.is_heading(line) and not bibliography and _introduces(lines, i, headings):
            items += [Paragraph(p) for p in _paragraphs(run, body_size, edges)]
            run = []
            text = line.text
            # A heading set on two lines of the same type (a forced line break).
            while (
                i + 1 < len(lines)
                and (
                    headings.is_heading(lines[i + 1]) or text.endswith("-") or lines[i + 1].text[:1].islower()
                )
                and len(lines[i + 1].text.split()) <= 10
                and (lines[i + 1].bold >= 0.5) == (line.bold >= 0.5)
                and lines[i + 1].page == line.page
                and round(lines[i + 1].size) == round(line.size)
                and 0 <= line.bottom - lines[i + 1].top < 0.8 * line.size
                and not _NUMBERING.match(lines[i + 1].text)
            ):
                i += 1
                text = _join([text, lines[i].text], Counter())
            if _titles_appendix(text, line, lines[i + 1] if i + 1 < len(lines) else None):
                i += 1
                text = f"{text}: {lines[i].text.strip()}"
            merged = Line(**{**line.__dict__, "text": text})
            items.append(headings.heading(merged))
        else:
            run.append(line)
        i += 1
    items += [Paragraph(p) for p in _paragraphs(run, body_size, edges)]
    return items


def _titles_appendix(heading: str, line: Line, following: Line | None) -> bool:
    """Whether the line after a bare "Appendix A" is its title, set on a line of its own in
    another weight (PTP: "Appendix A" bold, "How to Make an Appendix" upright below it)."""
    label = _APPENDIX.match(heading.strip())
    return (
        label is not None
        and not label["title"].strip()
        and following is not None
        and following.page == line.page
        and _words_only(following)
        and 0 <= line.bottom - following.top < 1.2 * line.size
    )


def _introduces(lines: Sequence[Line], at: int, headings: _Headings) -> bool:
    """A heading is followed by text (perhaps after a sub-heading); a label inside a figure is not."""
    if headings.in_outline(lines[at]) or _NUMBERING.match(lines[at].text) or _APPENDIX.match(lines[at].text):
        return True
    for line in lines[at + 1 : at + 4]:
        if len(line.text) >= 40 and not headings.is_heading(line):
            return True
    return False


def _paragraphs(lines: Sequence[Line], body_size: float, edges: _Edges | None = None) -> list[str]:
    """Lines joined into paragraphs: a new one after a larger gap, an indented first line, or a
    short line that ends a sentence; words hyphenated at a line end joined again."""
    if not lines:
        return []
    spacing = _line_spacing(lines)
    vocabulary = Counter(w.lower() for line in lines for w in re.findall(r"[\w-]+", line.text))
    paragraphs: list[list[str]] = [[lines[0].text]]
    edges = edges or _Edges.of(lines)
    left, right = edges.lefts, edges.rights
    for previous, line in zip(lines, lines[1:], strict=False):
        if _breaks(previous, line, spacing, left, right, body_size):
            paragraphs.append([line.text])
        else:
            paragraphs[-1].append(line.text)
    return [_join(parts, vocabulary) for parts in paragraphs if any(p.strip() for p in parts)]


def _line_spacing(lines: Sequence[Line]) -> float:
    gaps = [
        a.baseline - b.baseline
        for a, b in zip(lines, lines[1:], strict=False)
        if a.page == b.page and 0 < a.baseline - b.baseline < 3 * a.size and abs(a.x0 - b.x0) < 4 * a.size
    ]
    return statistics.median(gaps) if gaps else 12.0


def _column_key(line: Line) -> tuple[int, int]:
    return (line.page, int(line.x0 // 150))


@dataclass(frozen=True)
class _Edges:
    """Where each page's columns start and end, measured over all their lines."""

    lefts: dict[tuple[int, int], float]
    rights: dict[tuple[int, int], float]

    @classmethod
    def of(cls, lines: Sequence[Line]) -> _Edges:
        return cls(_column_lefts(lines), _column_rights(lines))


def _column_lefts(lines: Sequence[Line]) -> dict[tuple[int, int], float]:
    lefts: dict[tuple[int, int], list[float]] = {}
    for line in lines:
        lefts.setdefault(_column_key(line), []).append(line.x0)
    return {key: min(values) for key, values in lefts.items()}


def _column_rights(lines: Sequence[Line]) -> dict[tuple[int, int], float]:
    """Each column's right edge: where most of its lines end (a title across the page, which
    starts at the same left edge, does not move it)."""
    rights: dict[tuple[int, int], list[float]] = {}
    for line in lines:
        rights.setdefault(_column_key(line), []).append(line.x1)
    return {key: sorted(values)[int(0.8 * (len(values) - 1))] for key, values in rights.items()}


def _breaks(
    previous: Line,
    line: Line,
    spacing: float,
    left: dict[tuple[int, int], float],
    right: dict[tuple[int, int], float],
    body_size: float,
) -> bool:
    finished = previous.text.rstrip().endswith(_SENTENCE_END)
    column_left = left.get(_column_key(line), line.x0)
    indented = line.x0 > column_left + 0.8 * line.size and line.x0 - column_left < 6 * line.size
    same_flow = previous.page == line.page and 0 < previous.baseline - line.baseline < 3 * spacing
    if same_flow:
        if previous.baseline - line.baseline > PARAGRAPH_GAP * spacing:
            return True
        if abs(line.size - previous.size) > 1.0:
            return True
        short = _ends_short(previous, line, right)
        return (finished and (indented or short)) or (indented and short)
    # A column or page break: a paragraph goes on unless the last one finished and this one
    # is indented, follows a short last line, or is itself a short line (a heading).
    previous_short = _ends_short(previous, line, right)
    starts_anew = (line.text[:1].isupper() or line.text[:1].isdigit()) and (previous_short or line.fill < 0.6)
    return finished and (indented or starts_anew)


def _ends_short(previous: Line, line: Line, right: dict[tuple[int, int], float]) -> bool:
    """The previous line stops short of its column's edge by more than the next line's first
    word would have needed: a paragraph ended there, not just a line."""
    room = right.get(_column_key(previous), previous.x1) - previous.x1
    first_word = (line.text.split() or [""])[0]
    needed = max(2.5, 0.5 * len(first_word) + 0.3) * previous.size
    return room > needed


def _join(parts: list[str], vocabulary: Counter[str]) -> str:
    text = parts[0]
    for part in parts[1:]:
        if text.endswith("-") and "a" <= part[:1] <= "z" and len(text) > 1 and text[-2].isalpha():
            last = re.search(r"([\w-]+)-$", text)
            first = re.match(r"[\w-]+", part)
            joined = (last.group(1) if last else "") + (first.group() if first else "")
            hyphenated = f"{last.group(1) if last else ''}-{first.group() if first else ''}".lower()
            # Keep the hyphen of a compound the article writes hyphenated elsewhere.
            if vocabulary[hyphenated] > 0 and vocabulary[joined.lower()] == 0:
                text = text + part
            else:
                text = text[:-1] + part
        else:
            text = text + " " + part
    return " ".join(text.split())


# ---------------------------------------------------------------- references


def _references_start(lines: Sequence[Line], body_size: float) -> int | None:
    """The line after a References heading, or where a trailing numbered list begins."""
    # The last such heading followed by what looks like a list of works: a "References"
    # subsection of a paper about citing is not its bibliography.
    headings = [
        i
        for i, line in enumerate(lines)
        if _names_references(line.text)
        and (_heading_like(line, body_size) or line.text.isupper() or _list_follows(lines, i))
        # A numbered heading set smaller than the text is a subsection ("3. References" of a
        # paper about how to cite), not the bibliography.
        and (not _NUMBERING.match(line.text.strip()) or line.size >= body_size - 0.3)
    ]
    if headings:
        return headings[-1]
    trailing = _trailing_small_list(lines, body_size)
    if trailing is not None:
        return trailing
    # No heading (REVTeX): a run of [1], [2], [3] … entries towards the end.
    starts = [i for i, line in enumerate(lines) if re.match(r"^(?:[-•*]\s*)?\[1\]\s", line.text)]
    for i in reversed(starts):
        following = [line.text for line in lines[i : i + 60]]
        if sum(bool(re.match(rf"^(?:[-•*]\s*)?\[{n}\]", t)) for n in (2, 3) for t in following) >= 2:
            return i
    return None


def _names_references(text: str) -> bool:
    """Whether a line is a bibliography's heading, also when its letters stand apart ("R
    eferences" of a font whose widths the PDF does not give, tracked "R E F E R E N C E S")."""
    # Rejoining lone letters changes no line the pattern names as it stands.
    squeezed = re.sub(r"\b([A-Za-z]) (?=[A-Za-z])", r"\1", text.strip())
    return _REFERENCES.match(squeezed) is not None


def _list_follows(lines: Sequence[Line], at: int) -> bool:
    """Whether the lines after a plain "References" line are a list of works."""
    following = [line.text for line in lines[at + 1 : at + 8]]
    return sum(bool(_REFERENCE_START.match(t) or _CITED_YEAR.search(t)) for t in following) >= 2


def _trailing_small_list(lines: Sequence[Line], body_size: float) -> int | None:
    """A list without a heading, set in smaller type at the end and citing dated works (an
    unnumbered REVTeX bibliography): where it starts."""
    if not lines or lines[-1].size >= body_size - 0.5:
        return None
    list_size = lines[-1].size
    start = len(lines) - 1
    others = 0
    for i in range(len(lines) - 1, -1, -1):
        if abs(lines[i].size - list_size) <= 0.3:
            start, others = i, 0
        elif len(lines[i].text) > 30:
            others += 1
            if others >= 3:
                break
    if len(lines) - start < 10:
        return None
    small = [line for line in lines[start:] if abs(line.size - list_size) <= 0.3]
    dated = sum(bool(_CITED_YEAR.search(line.text)) for line in small)
    numbered = any(_REFERENCE_START.match(line.text) for line in small[:3])
    return start if dated >= 0.2 * len(small) and not numbered else None


def _reference_entries(
    lines: Sequence[Line], headings: _Headings, body_size: float
) -> tuple[list[str], list[Line]]:
    """The list's entries, and the other lines (appendices after it, or text set beside it)."""
    if not lines:
        return [], []
    start = 1 if _names_references(lines[0].text) else 0
    # A list set smaller than the text may share pages with it (REVTeX's appendices and
    # bibliography side by side): then only lines of the list's own type belong to it.
    list_size = lines[start].size if start < len(lines) else body_size
    apart = list_size < body_size - 0.5
    entries_lines: list[Line] = []
    others: list[Line] = []
    for i in range(start, len(lines)):
        line = lines[i]
        if _AFTER_REFERENCES.match(line.text):
            return _split_entries(entries_lines), others
        if apart and abs(line.size - list_size) > 0.3:
            others.append(line)
            continue
        if (
            headings.is_heading(line)
            and not _REFERENCE_START.match(line.text)
            and headings.heading(line).level <= 1
        ):
            if apart:  # a heading set among the list's pages belongs to the text beside it
                others.append(line)
                continue
            return _split_entries(entries_lines), others + list(lines[i:])
        if line.mono >= 0.6 or not line.text.strip():
            continue
        entries_lines.append(line)
    return _split_entries(entries_lines), others


def _lowered_number(entry: str) -> str:
    """A superscript entry number written as the numbered lists' "12. ", which the
    reference parser reads."""
    start = _REFERENCE_START.match(entry)
    if start is None or start["raised"] is None:
        return entry
    return f"{start['raised'].translate(_RAISED_DIGITS)}. {entry[start.end() :]}"


def _split_entries(lines: Sequence[Line]) -> list[str]:
    if not lines:
        return []
    lefts = _column_lefts(lines)

    # Entry numbers stand at the column's edge (right-aligned ones within a digit of it); a
    # DOI wrapped onto an indented line ("10. 1016/...") is no number. A raised number may
    # stand indented, as a paragraph's first line does (AIAA).
    def numbers_an_entry(line: Line) -> bool:
        start = _REFERENCE_START.match(line.text)
        return start is not None and (
            start["raised"] is not None or line.x0 <= lefts.get(_column_key(line), line.x0) + 1.0 * line.size
        )

    numbered = sum(numbers_an_entry(line) for line in lines)
    entries: list[list[str]] = []
    spacing = _line_spacing(lines)
    for previous, line in zip([None, *lines], lines, strict=False):
        column_left = lefts.get(_column_key(line), line.x0)
        at_margin = line.x0 <= column_left + 0.5 * line.size
        if numbered >= 2:
            starts = numbers_an_entry(line)
        else:
            gap = (
                previous is not None
                and previous.page == line.page
                and previous.baseline - line.baseline > 1.3 * spacing
            )
            starts = at_margin or gap
        if starts or not entries:
            entries.append([line.text])
        else:
            entries[-1].append(line.text)
    vocabulary: Counter[str] = Counter()
    joined = [_lowered_number(_join(parts, vocabulary)) for parts in entries if len(" ".join(parts)) > 10]
    # An entry cites something dated; an address or a colophon after the list does not.
    return [entry for entry in joined if numbered >= 2 or _CITED_YEAR.search(entry)]
