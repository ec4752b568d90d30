"""Reference lists and in-text citation markers, in the styles articles use.

Entries: "[1] Smith J. …", "1. Smith J. …", "1) …", or unnumbered author–year entries
("Smith J, Doe A (2020) …"), which are numbered in order of appearance.
Markers: "[1]", "[1,3]", "[2–4]", Unicode superscripts ("¹,³", "²⁻⁴"), and author–year
("(Smith et al., 2020)", "(Smith and Doe 2020; Lee 2019)"). A marker resolves only to
an entry of the same document's reference list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from rsa_qa.pipeline.document import Reference

_NUMBERED_ENTRY = re.compile(
    r"(?:[-•*]\s*)?(?:\[(?P<bracketed>\d{1,4})\]|(?P<listed>\d{1,4})[.)])\s+(?P<citation>\S.*)", re.DOTALL
)
_ENTRY_START = re.compile(r"^[ \t]*(?:[-•*][ \t]*)?(?:\[\d{1,4}\]|\d{1,4}[.)][ \t])", re.MULTILINE)
_BRACKETS = re.compile(r"\[(\d{1,4}(?:\s*[,;–-]\s*\d{1,4})*)\]")
_SUPERSCRIPTS = re.compile(r"(?<=\w)([⁰¹²³⁴⁵⁶⁷⁸⁹]+(?:[,⁻–-][⁰¹²³⁴⁵⁶⁷⁸⁹]+)*)")
_SUPERSCRIPT_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_AUTHOR_YEAR = re.compile(
    r"(?P<author>[A-Z][A-Za-z'’\-]+)(?:\s+et\s+al\.?|\s+(?:and|&)\s+[A-Z][A-Za-z'’\-]+)?,?\s+(?P<year>(?:19|20)\d{2})[a-z]?"
)
_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
# A typo such as "[2-2000]" must not cite thousands of entries.
MAX_RANGE = 50


def split_entries(block: str) -> list[tuple[int, str]]:
    """A references block → (offset, text) per entry: each numbered start begins one."""
    starts = [m.start() for m in _ENTRY_START.finditer(block)]
    if not starts:
        # Author–year lists: one entry a line.
        return [(m.start(), m.group()) for m in re.finditer(r"\S.*", block)]
    if starts[0] != 0 and block[: starts[0]].strip():
        starts.insert(0, 0)
    ends = starts[1:] + [len(block)]
    return [(s, block[s:e].rstrip()) for s, e in zip(starts, ends, strict=True)]


def parse_entry(text: str, start: int, next_number: int) -> Reference:
    """The entry text found at offset start; unnumbered ones take next_number and are matched
    by author and year."""
    match = _NUMBERED_ENTRY.fullmatch(text.strip())
    if match:
        number = int(match["bracketed"] or match["listed"])
        citation = match["citation"]
    else:
        number, citation = next_number, text.strip().lstrip("-•* ").strip()
    citation = " ".join(citation.split())
    author = re.match(r"[A-Z][A-Za-z'’\-]+", citation)
    year = _YEAR.search(citation)
    return Reference(
        number=number,
        citation=citation,
        start=start,
        end=start + len(text),
        author=author.group() if author else None,
        year=year.group() if year else None,
    )


def cited_numbers(text: str, entries: Mapping[int, Reference] | None = None) -> list[int]:
    """Reference numbers cited in text, in order of first appearance.

    With entries, only numbers of the list are kept and author–year markers are resolved.
    """
    found: list[tuple[int, int]] = []
    for match in _BRACKETS.finditer(text):
        found.extend((match.start(), n) for n in _expand(match.group(1)))
    for match in _SUPERSCRIPTS.finditer(text):
        found.extend((match.start(), n) for n in _expand(match.group(1).translate(_SUPERSCRIPT_DIGITS)))
    if entries is not None:
        found.extend(_author_year(text, entries.values()))
        found = [(position, n) for position, n in found if n in entries]
    numbers: list[int] = []
    for _, number in sorted(found):
        if number not in numbers:
            numbers.append(number)
    return numbers


def _expand(marker: str) -> list[int]:
    numbers: list[int] = []
    for part in re.split(r"[,;]", marker):
        bounds = [int(b) for b in re.split(r"[–-]", part) if b.strip()]
        if not bounds:
            continue
        low, high = bounds[0], bounds[-1]
        numbers.extend(range(low, min(high, low + MAX_RANGE) + 1))
    return numbers


def _author_year(text: str, entries: Iterable[Reference]) -> list[tuple[int, int]]:
    by_key = {(e.author.lower(), e.year): e.number for e in entries if e.author and e.year}
    if not by_key:
        return []
    found = []
    for group in re.finditer(r"\(([^()]*(?:19|20)\d{2}[^()]*)\)", text):
        for match in _AUTHOR_YEAR.finditer(group.group(1)):
            number = by_key.get((match["author"].lower(), match["year"]))
            if number is not None:
                found.append((group.start() + match.start(), number))
    return found
