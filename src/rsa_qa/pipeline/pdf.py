"""PDF → plain text with one blank line between paragraphs, ready for parse.parse_text.

pypdf gives text runs with their positions. From them: lines, in content order (which is
reading order for column layouts written column by column); running headers, footers
and page numbers dropped (a line repeated at the top or bottom of most pages, or a bare
number there); words hyphenated across lines rejoined; paragraphs rebuilt from vertical
gaps larger than the usual line spacing, and from a short line ending a sentence.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rsa_qa.errors import CorpusError

_PAGE_NUMBER = re.compile(r"(?:page\s*)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?", re.IGNORECASE)
# A reference-list entry keeps its own line, as citations.split_entries expects.
_ENTRY_START = re.compile(r"(?:[-•*]\s*)?\[\d{1,4}\]\s")
# "immuno-" + "logy" is one word split by the line; "factor-" + "α" is not rejoined.
_HYPHENATED = re.compile(r"[A-Za-z]-$")
_LOWER_START = re.compile(r"[a-z]")
_SENTENCE_END = (".", "?", "!", ":", ".)", '."', ".”")
_HEADING = re.compile(
    r"(?:\d{1,3}(?:\.\d{1,3})*\.?\s+\S.*|#{1,6}\s+\S.*|references|bibliography|abstract|keywords)",
    re.IGNORECASE,
)
# A gap between lines this many times the usual line spacing starts a new paragraph.
PARAGRAPH_GAP = 1.4
# Lines further apart than this horizontally (PDF points) are in different columns.
COLUMN_SHIFT = 20.0
# A line this much shorter than the page's full lines, ending a sentence, ends a paragraph.
SHORT_LINE = 0.8


@dataclass
class _Line:
    page: int
    x: float
    y: float
    text: str


def pdf_to_text(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        pages = [_page_lines(page, number) for number, page in enumerate(reader.pages)]
    except (PdfReadError, OSError, ValueError, KeyError) as exc:
        raise CorpusError(f"cannot read PDF {path}: {exc}") from exc
    lines = _drop_running_lines(pages)
    if not lines:
        raise CorpusError(f"{path} has no extractable text (a scanned PDF needs OCR first)")
    return _paragraphs(lines)


def _page_lines(page: Any, number: int) -> list[_Line]:
    runs: list[tuple[float, float, str]] = []

    def visit(text: str, cm: list[float], tm: list[float], *_: Any) -> None:
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            runs.append((x, y, text))

    page.extract_text(visitor_text=visit)
    lines: list[_Line] = []
    for x, y, text in runs:
        for part in text.split("\n"):
            if not part.strip():
                continue
            if lines and abs(lines[-1].y - y) < 1.0 and lines[-1].page == number:
                lines[-1].text += part
            else:
                lines.append(_Line(number, x, y, part))
    for line in lines:
        line.text = " ".join(line.text.split())
    return [line for line in lines if line.text]


def _drop_running_lines(pages: list[list[_Line]]) -> list[_Line]:
    """Remove page numbers and headers/footers that repeat on most pages."""
    edges: Counter[str] = Counter()
    for lines in pages:
        edges.update({_shape(edge.text) for edge in lines[:2] + lines[-2:]})
    repeated = {
        shape for shape, count in edges.items() if len(pages) > 1 and count >= max(2, len(pages) // 2)
    }
    kept: list[_Line] = []
    for lines in pages:
        for index, line in enumerate(lines):
            at_edge = index < 2 or index >= len(lines) - 2
            if at_edge and (_shape(line.text) in repeated or _PAGE_NUMBER.fullmatch(line.text)):
                continue
            kept.append(line)
    return kept


def _shape(text: str) -> str:
    return re.sub(r"\d+", "#", text.lower())


def _paragraphs(lines: list[_Line]) -> str:
    gaps = [a.y - b.y for a, b in zip(lines, lines[1:], strict=False) if a.page == b.page and 0 < a.y - b.y]
    spacing = statistics.median(gaps) if gaps else 0.0
    full_width = max(len(line.text) for line in lines)
    paragraphs: list[str] = [lines[0].text]
    for previous, line in zip(lines, lines[1:], strict=False):
        if _breaks(previous, line, spacing, full_width):
            paragraphs.append(line.text)
        elif _ENTRY_START.match(line.text):
            paragraphs[-1] += "\n" + line.text
        elif _HYPHENATED.search(paragraphs[-1]) and _LOWER_START.match(line.text):
            paragraphs[-1] = paragraphs[-1][:-1] + line.text
        else:
            paragraphs[-1] += " " + line.text
    return "\n\n".join(paragraphs) + "\n"


def _breaks(previous: _Line, line: _Line, spacing: float, full_width: int) -> bool:
    same_column = (
        previous.page == line.page and 0 < previous.y - line.y and abs(previous.x - line.x) < COLUMN_SHIFT
    )
    if same_column and spacing:
        return previous.y - line.y > spacing * PARAGRAPH_GAP
    # At a column or page change there is no gap to measure: a paragraph ends where a
    # sentence ends on a short line, or where a heading follows a finished sentence.
    finished = previous.text.endswith(_SENTENCE_END) and not previous.text.endswith(":")
    short = len(previous.text) < full_width * SHORT_LINE
    return finished and (short or _HEADING.fullmatch(line.text) is not None)
