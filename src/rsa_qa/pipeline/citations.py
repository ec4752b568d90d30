"""Reference lists and in-text citation markers, in the styles articles use.

Entries: "[1] Smith J. …", "1. Smith J. …", "1) …", or unnumbered author–year entries
("Smith J, Doe A (2020) …"), which are numbered in order of appearance.
Markers: "[1]", "[1,3]", "[2–4]", Unicode superscripts ("¹,³", "²⁻⁴"), and author–year,
parenthetical ("(Smith et al., 2020)", "(Smith, Doe, and Lee 2020; Lee 2019a,b)") or
narrative ("Smith and Doe (2020)", "van der Berg et al. (2019, 2021)"). An author–year
marker names the entry by its first author's surname and year. A marker resolves only to
an entry of the same document's reference list.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from rsa_qa.pipeline.document import Reference

_NUMBERED_ENTRY = re.compile(
    r"(?:[-•*]\s*)?(?:\[(?P<bracketed>\d{1,4})\]|(?P<listed>\d{1,4})[.)])\s+(?P<citation>\S.*)", re.DOTALL
)
_ENTRY_START = re.compile(r"^[ \t]*(?:[-•*][ \t]*)?(?:\[\d{1,4}\]|\d{1,4}[.)][ \t])", re.MULTILINE)
_BRACKETS = re.compile(r"\[(\d{1,4}(?:\s*[,;–-]\s*\d{1,4})*)\]")
# A raised number after a word or the punctuation that ends one ("the command,¹", "dash.¹, ², ³").
_SUPERSCRIPTS = re.compile(r"(?:(?<=[\w,.;:)\]”’\"])|(?<=, ))([⁰¹²³⁴⁵⁶⁷⁸⁹]+(?:[,⁻–-][⁰¹²³⁴⁵⁶⁷⁸⁹]+)*)")
_SUPERSCRIPT_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_PARTICLE = r"(?i:van|von|de|der|den|del|della|da|dos|du|la|le|di|ten|ter)"
# A surname: a capital (any script's, roughly: not a digit, underscore or lower-case letter)
# then letters, perhaps after particles ("van de Wiel").
_NAME = rf"(?:{_PARTICLE}\s+)*[^\W\d_a-zß-ÿ][\w'’\-]+"
_NAMES = rf"(?P<names>{_NAME}(?:(?:,\s*(?:and\s+|&\s*)?|\s+(?:and|&)\s+){_NAME})*)(?:\s+et\s+al\.?)?"
_YEAR_OR_SUFFIX = r"(?:19|20)\d{2}[a-z]?|(?<=[,\s])[a-z]\b"
_YEARS = rf"(?P<years>(?:19|20)\d{{2}}[a-z]?(?:\s*,\s*(?:{_YEAR_OR_SUFFIX}))*)"
_PARENTHETICAL = re.compile(rf"{_NAMES},?\s+{_YEARS}")
_NARRATIVE = re.compile(rf"{_NAMES}\s*\({_YEARS}(?:[,;][^()]*)?\)")
_YEAR = re.compile(r"\b(?:19|20)\d{2}[a-z]?\b")
_ENTRY_WORD = re.compile(r"[^\W\d_][\w'’\-]*\.?")
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
    year = _YEAR.search(citation)
    return Reference(
        number=number,
        citation=citation,
        start=start,
        end=start + len(text),
        author=_first_surname(citation),
        year=year.group() if year else None,
    )


def _first_surname(citation: str) -> str | None:
    """The first author's surname: the first capitalised word that is neither an initial
    ("T.", "Yu.") nor a particle ("van", "De")."""
    for match in _ENTRY_WORD.finditer(citation[:200]):
        word = match.group()
        if word.endswith(".") or len(word) < 2 or re.fullmatch(_PARTICLE, word):
            continue
        return word if word[0].isupper() else None
    return None


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
    index = _AuthorYearIndex(entries)
    if not index.by_key:
        return []
    markers = list(_NARRATIVE.finditer(text))
    for group in re.finditer(r"\(([^()]*(?:19|20)\d{2}[^()]*)\)", text):
        markers.extend(_PARENTHETICAL.finditer(text, group.start(1), group.end(1)))
    found = []
    for marker in markers:
        surnames = index.authors_named(marker["names"])
        et_al = marker.group().find(" et al") >= 0
        for year in _years(marker["years"]):
            number = index.entry(surnames, et_al, year)
            if number is not None:
                found.append((marker.start(), number))
    resolved = {position for position, _ in found}
    # A corporate author ("R Core Team (2021)", "ISO/IEC (2011)") is no surname: the words
    # before the year must then be how its entry begins.
    for marker in re.finditer(r"(?P<year>(?:19|20)\d{2}[a-z]?)\b", text):
        number = index.entry_beginning(text[max(0, marker.start() - 60) : marker.start()], marker["year"])
        if number is not None and not any(marker.start() - 80 < p <= marker.start() for p in resolved):
            found.append((marker.start(), number))
    return found


def _years(listed: str) -> list[str]:
    """ "2004a, b, 2006" → 2004a, 2004b, 2006."""
    years: list[str] = []
    for part in re.split(r"\s*,\s*", listed.strip()):
        if len(part) == 1 and years:
            years.append(years[-1][:4] + part)
        elif part:
            years.append(part)
    return years


class _AuthorYearIndex:
    """The list's entries by first author's surname and year."""

    def __init__(self, entries: Iterable[Reference]) -> None:
        self.entries = {entry.number: entry for entry in entries}
        self.by_key: dict[tuple[str, str], list[int]] = {}
        for entry in self.entries.values():
            if entry.author and entry.year:
                self.by_key.setdefault((_fold(entry.author), entry.year), []).append(entry.number)
        self.authors = {name for name, _ in self.by_key}

    def authors_named(self, names: str) -> list[str]:
        """The surnames of "van de Wiel, Hothorn, and Zeileis": wiel, hothorn, zeileis. A
        capitalised word before them that is no author of the list ("Moreover, Smith (2020)")
        is not a name."""
        parts = re.split(r",\s*(?:and\s+|&\s*)?|\s+(?:and|&)\s+", names)
        surnames = [_fold(part.split()[-1]) for part in parts if part.split()]
        while len(surnames) > 1 and surnames[0] not in self.authors:
            surnames.pop(0)
        return surnames

    def entry(self, surnames: list[str], et_al: bool, year: str) -> int | None:
        """The one entry by these authors in this year; "2004" finds a lone "2004a" and
        "2004a" an entry whose year was printed without its letter."""
        numbers = self._candidates(surnames[0], year)
        if len(numbers) > 1:
            # Same first author, same year: told apart by the co-authors the marker names.
            numbers = [n for n in numbers if self._authored_by(self.entries[n], surnames, et_al)]
        return numbers[0] if len(numbers) == 1 else None

    def _candidates(self, surname: str, year: str) -> list[int]:
        numbers = self.by_key.get((surname, year))
        if numbers is None and len(year) == 4:
            numbers = [
                n for (name, y), ns in self.by_key.items() if name == surname and y[:4] == year for n in ns
            ]
        if not numbers and len(year) == 5:
            numbers = self.by_key.get((surname, year[:4]))
        return list(numbers or [])

    @staticmethod
    def _authored_by(entry: Reference, surnames: list[str], et_al: bool) -> bool:
        byline = entry.citation.split(entry.year or "\0", 1)[0]
        words = [w for w in re.findall(r"[^\W\d_][\w'’\-]+", byline) if not re.fullmatch(_PARTICLE, w)]
        # Initials ("JPA", "T") are short capitals; what is left are the surnames.
        listed = [_fold(w) for w in words if len(w) > 3 or not w.isupper()]
        named_all = all(name in listed for name in surnames)
        return named_all and (len(listed) >= 3 if et_al else len(listed) == len(surnames))

    def entry_beginning(self, before: str, year: str) -> int | None:
        words = [w for w in re.split(r"[\s(\[;,]+", before) if w]
        numbers: set[int] = set()
        for count in (3, 2, 1):
            if len(words) < count or not words[-count][:1].isupper():
                continue
            opening = _fold(" ".join(words[-count:]))
            numbers = {
                e.number
                for e in self.entries.values()
                if e.year in (year, year[:4]) and _fold(e.citation).startswith(opening)
            }
            if numbers:
                break
        return numbers.pop() if len(numbers) == 1 else None


def _fold(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
