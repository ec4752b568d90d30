"""Characters → lines in reading order, with running headers, footers and page numbers gone.

A line is a run of characters on one baseline with no gap wider than its font size (a wider
gap is a column gutter or a table cell). Superscripts join the line they sit on; accents
that PDFs set as separate characters (TeX's "Universit¨at") are put back on their letter;
ligature glyphs ("ﬁ") are spelt out. A page is read in two columns when enough of its lines
keep to either half: the lines that span both halves (title, figures across the page)
divide it into bands, each read left column first.
"""

from __future__ import annotations

import math
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rsa_qa.pipeline.pdf.read import Glyph, Page

LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})
# Spacing accents set as characters of their own → the combining mark that composes with a letter.
ACCENTS = {
    "¨": "\u0308", "´": "\u0301", "`": "\u0300", "ˆ": "\u0302", "˜": "\u0303", "¸": "\u0327",
    "ˇ": "\u030c", "˘": "\u0306", "˙": "\u0307", "˚": "\u030a", "˝": "\u030b", "¯": "\u0304",
}  # fmt: skip
SUPERSCRIPT_DIGITS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
# Two characters this far apart (in font sizes) are in different columns or table cells.
GAP_SPLITS = 2.0
# The blank strip between two columns is at least this wide (points).
GUTTER_WIDTH = 6
# Characters this far apart (in font sizes) are separate words.
GAP_SPACES = 0.18
# A gap of this many ems is no word space, even in a justified line (those stretch to ~0.6).
CELL_GAP = 0.8
_CELL_BREAK = "\t"
MONO_GAP_SPACES = 0.5
# A word space is at least this many times a line's median gap between letters.
TRACKED = 2.2
# Punctuation that closes a word is set close after it; a small gap before it is kerning.
CLOSING_GAP_SPACES = 0.45
# Slanted letters lean into the gap between words: their boxes stand closer.
ITALIC_GAP_SPACES = 0.13
# Where PDFium guessed a word space, a gap of this many ems is one: a tight justified line
# sets "of the" 0.12 em apart, the ink of "f" reaching the edge of its advance.
HINTED_GAP_SPACES = 0.08
# Digits share one advance width, so a narrow "1" leaves a wide gap of ink beside it ("201 7").
DIGIT_GAP_SPACES = 0.35
_CLOSING = frozenset(",.;:!?)]’”")
# A glyph this much smaller than its line, raised above its baseline, is a superscript.
SMALL = 0.85
RAISED = 0.12
# Running headers and footers live in the top and bottom this share of a page.
MARGIN_ZONE = 0.12
# A margin line whose shape recurs on this share of the pages of its parity is running text.
RECURRING = 0.4
# … unless it is set this much larger than most of its recurrences (a title the heads repeat).
RUNNING_TYPE = 1.3
# A proof's line numbers count up by one down the margin: at least this many steps of a page.
LINE_NUMBERS = 8
_PAGE_NUMBER = re.compile(r"(?:page\s*)?[0-9ivxlc]{1,5}(?:\s*(?:/|of)\s*\d{1,4})?", re.IGNORECASE)


@dataclass
class Line:
    page: int
    x0: float
    x1: float
    bottom: float
    top: float
    baseline: float
    size: float  # the font size most of its letters have
    bold: float  # share of its letters in bold
    mono: float  # share in a fixed-width (code) font
    italic: float
    text: str
    bold_start: int = 0  # how many leading characters are bold (a run-in heading)
    fill: float = 0.0  # its width as a share of a full line of its column
    # Its text cut where a gap is wider than a word space can stretch ("Achim Zeileis    Kurt
    # Hornik"): names set side by side on one line of a title page.
    cells: tuple[str, ...] = ()

    @property
    def height(self) -> float:
        return self.top - self.bottom


@dataclass(frozen=True)
class PageLines:
    number: int
    width: float
    height: float
    lines: list[Line]
    columns: int


def document_lines(pages: Sequence[Page]) -> list[PageLines]:
    """Every page's lines in reading order, running headers and footers removed. A page whose
    full-width parts (a title, an abstract) hide its gutter takes the one most pages share."""
    gutters = [_gutter(page.glyphs, page.width) for page in pages]
    # Odd and even pages may mirror their margins, and with them the gutter.
    shared = {parity: _shared_gutter(gutters[parity::2]) for parity in (0, 1)}
    return remove_running_lines(
        [
            page_lines(page, gutter or shared[index % 2] or shared[1 - index % 2])
            for index, (page, gutter) in enumerate(zip(pages, gutters, strict=True))
        ]
    )


def _shared_gutter(gutters: Sequence[tuple[float, float] | None]) -> tuple[float, float] | None:
    found = [g for g in gutters if g is not None]
    common = Counter(round(g[0] / 5) * 5 for g in found).most_common(1)
    if not common or common[0][1] < max(2, len(gutters) // 2):
        return None
    return min((g for g in found if round(g[0] / 5) * 5 == common[0][0]), key=lambda g: g[1])


def page_lines(page: Page, gutter: tuple[float, float] | None = None) -> PageLines:
    groups = _with_scripts(list(_baseline_groups(_without_line_numbers(page.glyphs))))
    lines = [line for group in groups for line in _split_line(group, page.number, gutter)]
    middle = gutter[0] if gutter is not None else page.width / 2
    columns = _column_count(lines, page.width, middle, landscape=page.width > page.height)
    ordered = _reading_order(lines, page.width, middle) if columns == 2 else _top_down(lines)
    _measure_fill(ordered)
    return PageLines(page.number, page.width, page.height, ordered, columns)


@dataclass(frozen=True)
class _Number:
    value: int
    x0: float
    x1: float
    baseline: float
    size: float
    glyphs: tuple[Glyph, ...]


def _without_line_numbers(glyphs: Sequence[Glyph]) -> list[Glyph]:
    """The glyphs without a proof's line numbers: a column of bare numbers in the margin that
    count up by one down the page (lineno, a journal's review mode). Read as text, they would
    stand before or inside the lines beside them."""
    if not glyphs:
        return []
    text_size = _dominant_size(list(glyphs))
    # Set smaller than the text: a table of contents' numbers, in the text's size, count too.
    numbers = [n for n in _bare_numbers(glyphs) if n.size < SMALL * text_size]
    margin: set[int] = set()
    for column in [*_aligned(numbers, lambda n: n.x0), *_aligned(numbers, lambda n: n.x1)]:
        ordered = sorted(column, key=lambda n: -n.baseline)
        counting = sum(b.value == a.value + 1 for a, b in zip(ordered, ordered[1:], strict=False))
        if counting >= LINE_NUMBERS and counting >= 0.8 * (len(ordered) - 1) and _alone(ordered, glyphs):
            margin.update(id(g) for number in ordered for g in number.glyphs)
    return [g for g in glyphs if id(g) not in margin]


def _alone(column: Sequence[_Number], glyphs: Sequence[Glyph]) -> bool:
    """Whether nothing else is set in the numbers' strip, from the top of the page to its
    foot: a margin's. The headings' numbers stand at the text's edge, where its lines start
    too; a table's row numbers stand where the text above and below the table runs."""
    own = {id(g) for number in column for g in number.glyphs}
    left, right = min(n.x0 for n in column), max(n.x1 for n in column)
    return not any(id(g) not in own and g.text.strip() and g.x0 < right and g.x1 > left for g in glyphs)


def _bare_numbers(glyphs: Sequence[Glyph]) -> list[_Number]:
    """Numbers of up to five digits (a proof may number its lines through the whole paper),
    as words of their own."""
    numbers = []
    for group in _baseline_groups(glyphs):
        for word in _words(group):
            digits = "".join(g.text for g in word)
            if re.fullmatch("[0-9]{1,5}", digits):
                first, last = word[0], word[-1]
                numbers.append(
                    _Number(int(digits), first.x0, last.x1, first.baseline, first.size, tuple(word))
                )
    return numbers


def _words(glyphs: Sequence[Glyph]) -> list[list[Glyph]]:
    """One baseline's visible glyphs, left to right, cut where a gap is a word space."""
    words: list[list[Glyph]] = []
    for glyph in sorted((g for g in glyphs if g.text.strip()), key=lambda g: g.x0):
        previous = words[-1][-1] if words else None
        digits = previous is not None and previous.text.isdigit() and glyph.text.isdigit()
        spacing = DIGIT_GAP_SPACES if digits else GAP_SPACES
        if previous is not None and glyph.x0 - previous.x1 < spacing * max(glyph.size, 1.0):
            words[-1].append(glyph)
        else:
            words.append([glyph])
    return words


def _aligned(numbers: Sequence[_Number], edge: Callable[[_Number], float]) -> list[list[_Number]]:
    """The numbers in runs whose `edge` lines up, within a point and a half."""
    columns: list[list[_Number]] = []
    for number in sorted(numbers, key=edge):
        if columns and edge(number) - edge(columns[-1][-1]) <= 1.5:
            columns[-1].append(number)
        else:
            columns.append([number])
    return columns


def _measure_fill(lines: list[Line]) -> None:
    """Each line's width as a share of the page's full lines (those of its column)."""
    widths = sorted(line.x1 - line.x0 for line in lines if len(line.text) > 20)
    if not widths:
        return
    full = widths[int(0.9 * (len(widths) - 1))]
    for line in lines:
        line.fill = (line.x1 - line.x0) / full if full > 0 else 0.0


def remove_running_lines(pages: list[PageLines]) -> list[PageLines]:
    """Drop page numbers, and headers and footers that recur in the margins of odd or even pages."""
    shapes: dict[int, Counter[str]] = {0: Counter(), 1: Counter()}
    sizes: dict[str, list[float]] = {}
    pages_of_parity = Counter(p.number % 2 for p in pages)
    margins = [_margin_lines(page, page is pages[0]) for page in pages]
    for page, margin_lines in zip(pages, margins, strict=True):
        shapes[page.number % 2].update({_shape(line.text) for line in margin_lines})
        for line in margin_lines:
            sizes.setdefault(_shape(line.text), []).append(line.size)
    everywhere = shapes[0] + shapes[1]
    kept = []
    for page, margin_lines in zip(pages, margins, strict=True):
        # Headers alternate between odd and even pages (title, authors): counted per parity,
        # and over all pages for a short document.
        recurring = {
            shape
            for shape, count in shapes[page.number % 2].items()
            if count >= 2 and count >= RECURRING * pages_of_parity[page.number % 2]
        } | {shape for shape, count in everywhere.items() if count >= 2 and count >= RECURRING * len(pages)}
        # The title that running heads repeat, set in larger type than they are, stays.
        margin = {
            id(line)
            for line in margin_lines
            if line.size < RUNNING_TYPE * statistics.median(sizes[_shape(line.text)])
        }
        lines = [
            line
            for line in page.lines
            if id(line) not in margin
            or not (_shape(line.text) in recurring or _PAGE_NUMBER.fullmatch(line.text.strip()))
        ]
        kept.append(PageLines(page.number, page.width, page.height, lines, page.columns))
    return kept


def _margin_lines(page: PageLines, first_page: bool) -> list[Line]:
    """The lines in the page's top and bottom margin zones, and its first and last row
    wherever they are (a page with wide margins sets its header lower than the zone); on the
    first page, the top row is the title that running headers repeat."""
    if not page.lines:
        return []
    top = page.height * (1 - MARGIN_ZONE)
    bottom = page.height * MARGIN_ZONE
    highest = math.inf if first_page else max(line.baseline for line in page.lines)
    lowest = min(line.baseline for line in page.lines)
    return [
        line
        for line in page.lines
        if not bottom < (line.top + line.bottom) / 2 < top
        or abs(line.baseline - highest) < 2
        or abs(line.baseline - lowest) < 2
    ]


def _shape(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def _baseline_groups(glyphs: Sequence[Glyph]) -> Iterable[list[Glyph]]:
    """Glyphs that share a baseline (within a third of their size), top of the page first."""
    ordered = sorted((g for g in glyphs if g.text.strip() or g.text == " "), key=lambda g: -g.baseline)
    group: list[Glyph] = []
    for glyph in ordered:
        if group and abs(group[0].baseline - glyph.baseline) > 0.33 * max(group[0].size, glyph.size, 1.0):
            yield group
            group = []
        group.append(glyph)
    if group:
        yield group


def _gutter(glyphs: Sequence[Glyph], width: float) -> tuple[float, float] | None:
    """The middle and width of the blank strip between two columns, if the page has one: the
    widest run of near-empty x positions in the middle third of the page."""
    if not glyphs or width <= 0:
        return None
    coverage = [0] * (int(width) + 2)
    for glyph in glyphs:
        if glyph.text.strip():
            for x in range(max(int(glyph.x0), 0), min(int(glyph.x1) + 1, len(coverage))):
                coverage[x] += 1
    low, high = int(width / 3), int(2 * width / 3)
    busiest = max(coverage[: int(width)]) or 1
    best_start, best_length, start = 0, 0, None
    for x in range(low, high + 1):
        # Nearly empty: a heading or a wide equation may cross the gutter, a column never.
        empty = coverage[x] <= 0.1 * busiest
        if empty and start is None:
            start = x
        if (not empty or x == high) and start is not None:
            if x - start > best_length:
                best_start, best_length = start, x - start
            start = None
    return (best_start + best_length / 2, best_length) if best_length >= GUTTER_WIDTH else None


def _split_line(glyphs: list[Glyph], page: int, gutter: tuple[float, float] | None) -> list[Line]:
    """One baseline's glyphs, left to right, cut at the column gutter and where a gap is
    wider than the font size allows within a line (a table's cells)."""
    runs: list[list[Glyph]] = []
    for glyph in sorted(glyphs, key=lambda g: g.x0):
        size = max(glyph.size, 1.0)
        # Across the gutter by a gap of its width: a line crossing the page (a title) has only
        # word spaces there, and stays whole.
        crosses = (
            gutter is not None
            and bool(runs)
            and min(glyph.x0, gutter[0] + gutter[1] / 2) - max(runs[-1][-1].x1, gutter[0] - gutter[1] / 2)
            >= 0.5 * gutter[1]
            and glyph.x0 - runs[-1][-1].x1 >= max(0.6 * gutter[1], 0.45 * size)
        )
        # A lone letter twice the text's size is a drop capital beside the paragraph's lines.
        drop_capital = bool(runs) and len(runs[-1]) == 1 and runs[-1][0].size >= 2 * size
        wide = bool(runs) and glyph.x0 - runs[-1][-1].x1 > GAP_SPLITS * size
        if runs and (crosses or wide or drop_capital) and not _is_accent(glyph):
            runs.append([glyph])
        elif runs:
            runs[-1].append(glyph)
        else:
            runs.append([glyph])
    return [_line(run, page) for run in _join_numbers(runs) if any(g.text.strip() for g in run)]


_SECTION_NUMBER = re.compile(r"(?:\d{1,2}(?:\.\d{1,2})*|[IVX]{1,5}|[A-Z])\.?")


def _join_numbers(runs: list[list[Glyph]]) -> list[list[Glyph]]:
    """A heading's number set a quad away from its title ("II.   MATH AND EQUATIONS") is one line."""
    joined: list[list[Glyph]] = []
    for run in runs:
        if joined:
            previous = joined[-1]
            text = "".join(g.text for g in previous if g.text.strip())
            size = max(previous[-1].size, 1.0)
            # In the heading's own type: a letter twice the text's size is a drop capital.
            same_type = max(size, run[0].size) < 2 * min(size, max(run[0].size, 1.0))
            if _SECTION_NUMBER.fullmatch(text) and same_type and run[0].x0 - previous[-1].x1 < 3.5 * size:
                previous.extend(run)
                continue
        joined.append(run)
    return joined


def _line(glyphs: list[Glyph], page: int) -> Line:
    letters = [g for g in glyphs if g.text.isalnum()] or [g for g in glyphs if g.text.strip()]
    size = _dominant_size(glyphs)
    text, bold_start, cells = _text(glyphs, size)
    return Line(
        page=page,
        x0=min(g.x0 for g in glyphs),
        x1=max(g.x1 for g in glyphs),
        bottom=min(g.bottom for g in glyphs),
        top=max(g.top for g in glyphs),
        baseline=Counter(round(g.baseline, 1) for g in letters).most_common(1)[0][0],
        size=size,
        bold=sum(g.bold for g in letters) / len(letters),
        mono=sum(g.mono for g in letters) / len(letters),
        italic=sum(g.italic for g in letters) / len(letters),
        text=text,
        bold_start=bold_start,
        cells=cells,
    )


def _text(glyphs: list[Glyph], size: float) -> tuple[str, int, tuple[str, ...]]:
    """The glyphs as text: spaces from the gaps, accents on their letters, ligatures spelt out,
    superscript digits as such. Also how many leading characters are bold, and the text's
    cells (split at gaps wider than any word space)."""
    base = _base_line(glyphs, size)
    # Letter-spaced type (tracked capitals) sets its letters apart: a word space is then
    # wider than its usual letter gap, not just wider than a fixed share of the size.
    visible = [g for g in glyphs if g.text.strip() and not _is_accent(g)]
    pairs = list(zip(visible, visible[1:], strict=False))
    # Fixed-width glyphs sit in wide cells, so their gaps say nothing of the text's tracking;
    # nor do a table of contents' leader dots, set far apart.
    proportional = [(a, b) for a, b in pairs if not (a.mono or b.mono)] or pairs
    proportional = [(a, b) for a, b in proportional if a.text != "." or b.text != "."] or proportional
    letter_gaps = sorted(b.x0 - a.x1 for a, b in proportional if b.x0 > a.x1)
    tracking = TRACKED * letter_gaps[len(letter_gaps) // 2] if letter_gaps else 0.0
    pieces: list[str] = []
    bold_start, still_bold = 0, True
    previous: Glyph | None = None
    accents: dict[int, str] = {}
    for index, glyph in enumerate(glyphs):
        if _is_accent(glyph):
            target = _accented(glyphs, index)
            if target is not None:
                accents[target] = accents.get(target, "") + ACCENTS[glyph.text]
                continue
    for index, glyph in enumerate(glyphs):
        if _is_accent(glyph) and index not in accents and _accented(glyphs, index) is not None:
            continue
        if glyph.text == " ":
            if pieces and pieces[-1] != " ":
                pieces.append(" ")
            continue
        # Fixed-width glyphs have narrow boxes in wide cells: only a real space separates them.
        spacing = MONO_GAP_SPACES if glyph.mono and previous is not None and previous.mono else GAP_SPACES
        if (
            previous is not None
            and glyph.italic
            and previous.italic
            and glyph.text.isalpha()
            and previous.text.islower()
            and not glyph.mono
        ):
            spacing = ITALIC_GAP_SPACES
        if glyph.spaced and not glyph.mono:
            spacing = min(spacing, HINTED_GAP_SPACES)
        if glyph.text in _CLOSING:
            spacing = max(spacing, CLOSING_GAP_SPACES)
        elif previous is not None and glyph.text.isdigit() and previous.text.isdigit():
            spacing = max(spacing, DIGIT_GAP_SPACES)
        gap = glyph.x0 - previous.x1 if previous is not None else 0.0
        if previous is not None and gap > max(CELL_GAP * max(size, 1.0), 2 * tracking):
            pieces.append(_CELL_BREAK)
        elif previous is not None and gap > max(spacing * max(size, 1.0), tracking) and pieces[-1] != " ":
            pieces.append(" ")
        character = glyph.text.translate(LIGATURES)
        if glyph.size < SMALL * size and glyph.baseline > base + RAISED * size:
            following = glyphs[index + 1].text if index + 1 < len(glyphs) else ""
            character = (
                character.translate(SUPERSCRIPT_DIGITS)
                if character.isdigit()
                else _tiny(character, following)
            )
        character = unicodedata.normalize("NFC", character + accents.get(index, ""))
        pieces.append(character)
        if still_bold and (glyph.bold or not glyph.text.strip()):
            bold_start += len(character)
        else:
            still_bold = False
        previous = glyph
    joined = "".join(pieces)
    text = " ".join(joined.split())
    cells = tuple(" ".join(cell.split()) for cell in joined.split(_CELL_BREAK) if cell.strip())
    return text, min(bold_start, len(text)), cells if len(cells) > 1 else ()


def _tiny(character: str, following: str) -> str:
    """A raised mark that is not a digit (a footnote's ∗, an affiliation's a or "b)"): dropped,
    so that it does not glue itself to the word before it. A raised capital inside a word
    (the A of the LaTeX logo) is a letter of it."""
    if character.isupper() and following.isalpha():
        return character
    return "" if character.isalpha() or character in "∗*†‡§¶‖#()" else character


def _base_line(glyphs: list[Glyph], size: float) -> float:
    full = [g.baseline for g in glyphs if g.size >= SMALL * size] or [g.baseline for g in glyphs]
    return Counter(round(b, 1) for b in full).most_common(1)[0][0]


def _is_accent(glyph: Glyph) -> bool:
    return glyph.text in ACCENTS


def _accented(glyphs: list[Glyph], index: int) -> int | None:
    """The letter an accent glyph sits over: the one it overlaps most horizontally."""
    accent = glyphs[index]
    best, best_overlap = None, 0.0
    for other, glyph in enumerate(glyphs):
        if other == index or not glyph.text.isalpha():
            continue
        overlap = min(accent.x1, glyph.x1) - max(accent.x0, glyph.x0)
        if overlap > best_overlap:
            best, best_overlap = other, overlap
    return best


def _with_scripts(groups: list[list[Glyph]]) -> list[list[Glyph]]:
    """A baseline of small glyphs within a bigger baseline's height (superscripts, and
    subscripts, set on their own baseline) joins that baseline; it would otherwise be read
    as a line of its own. Of the baselines it could join, the nearest: an affiliation's
    raised "1" sits as near the author line above as the affiliation's own."""
    sizes = [_dominant_size(group) for group in groups]
    baselines = [_baseline(group) for group in groups]
    merged: dict[int, int] = {}
    for index, group in enumerate(groups):
        by_distance = sorted(range(len(groups)), key=lambda other: abs(baselines[index] - baselines[other]))
        for other in by_distance:
            host = groups[other]
            small = sizes[index] < SMALL * sizes[other]
            # One or two glyphs off the baseline (the lowered E of the TeX logo) belong to it too.
            stray = len([g for g in group if g.text.strip()]) <= 2 and sizes[index] <= sizes[other]
            if other == index or not (small or stray) or other in merged:
                continue
            near = abs(baselines[index] - baselines[other]) < 0.6 * sizes[other]
            inside = (
                min(g.x0 for g in host) - sizes[other] <= min(g.x0 for g in group)
                and max(g.x1 for g in group) <= max(g.x1 for g in host) + sizes[other]
            )
            if near and inside:
                merged[index] = other
                break
    result = [list(group) for group in groups]
    for index, other in merged.items():
        result[other].extend(groups[index])
    return [group for index, group in enumerate(result) if index not in merged]


def _dominant_size(glyphs: list[Glyph]) -> float:
    letters = [g for g in glyphs if g.text.isalnum()] or glyphs
    return float(Counter(round(g.size, 1) for g in letters).most_common(1)[0][0])


def _baseline(glyphs: list[Glyph]) -> float:
    return float(Counter(round(g.baseline, 1) for g in glyphs).most_common(1)[0][0])


def _column_count(lines: list[Line], width: float, middle: float, landscape: bool) -> int:
    text_lines = [line for line in lines if len(line.text) > 15]
    left = sum(line.x1 <= middle + 0.02 * width for line in text_lines)
    right = sum(line.x0 >= middle - 0.02 * width for line in text_lines)
    crossing = sum(line.x0 < middle - 0.02 * width and line.x1 > middle + 0.02 * width for line in text_lines)
    # On a landscape sheet, nothing across the gutter: two half-pages side by side, however
    # little one of them holds (a title page beside the text's start).
    halves = landscape and crossing == 0
    if left >= 5 and right >= 5 and (min(left, right) >= 0.2 * len(text_lines) or halves):
        return 2
    # Text down the left, a table's short cells down the right, and almost nothing across.
    right_cells = sum(line.x0 >= middle for line in lines)
    return 2 if left >= 10 and right_cells >= 10 and crossing <= 0.1 * len(text_lines) else 1


def _top_down(lines: list[Line]) -> list[Line]:
    return sorted(lines, key=lambda line: (-round(line.baseline), line.x0))


def _reading_order(lines: list[Line], width: float, middle: float) -> list[Line]:
    """Bands between lines that span both columns, each read left column first."""
    ordered: list[Line] = []
    left: list[Line] = []
    right: list[Line] = []

    def flush() -> None:
        ordered.extend(_top_down(left))
        ordered.extend(_top_down(right))
        left.clear()
        right.clear()

    for line in _top_down(lines):
        if line.x1 <= middle + 0.02 * width:
            left.append(line)
        elif line.x0 >= middle - 0.02 * width:
            right.append(line)
        else:
            flush()
            ordered.append(line)
    flush()
    return ordered
