"""A PDF's characters with their font, size, weight and position, its outline and metadata.

Read with PDFium (pypdfium2, Apache-2.0/BSD: the engine of Chromium's PDF viewer), which
is fast and forgiving of damaged files. Coordinates are PDF points, origin at the bottom
left of the page.
"""

from __future__ import annotations

import ctypes
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rsa_qa.errors import CorpusError

# Fonts whose name says they are bold, or fixed-width (code). TeX's names say it in their
# own way: Computer Modern's bold extended roman, sans and typewriter (cmbx, cmssbx), its
# bold math (cmmib, cmbsy), cm-super's SFBX / SFSX (sans) / SFRB, AMS Euler's eurb / eusb.
_BOLD = re.compile(
    r"bold|black|heavy|semibold|demi|medi(?:um)?\b|-medi|\bbx"
    r"|\bcm(?:ss|tt|r)?bx|\bcmb\d|\bcmbsy|\bcmmib|\bsf(?:bx|sx|rb|bi|xc)|\beu[rsf]b",
    re.IGNORECASE,
)
_MONO = re.compile(r"mono|courier|cmtt|typewriter|consol|menlo|inconsolata|code|\btt\d", re.IGNORECASE)
_ITALIC = re.compile(r"italic|oblique|cmti|cmmi|\bti\d", re.IGNORECASE)
# Font descriptor flags (PDF 1.7, table 123). PDFium's font weight is not used: it is
# guessed from stem widths and calls Computer Modern Roman bold.
_FIXED_PITCH_FLAG = 1
_ITALIC_FLAG = 64
_NAME_BUFFER = 256
# TeX fonts without a ToUnicode map leave quotes, dashes and ligatures as control codes:
# T1 (Cork) encoding at 0x10-0x1F, OT1 has its ligatures at 0x0B-0x0F (0x0D, fl, is lost
# among line breaks). No text has control characters, so reading them back is safe; any
# other control code is a symbol (a list bullet, mostly) and is read as one.
_TEX_CONTROL_CODES = {
    "\x10": "\u201c",
    "\x11": "\u201d",
    "\x12": "\u201e",
    "\x13": "\u00ab",
    "\x14": "\u00bb",
    "\x15": "\u2013",
    "\x16": "\u2014",
    "\x17": "",
    "\x19": "\u0131",
    "\x1a": "\u0237",
    "\x1b": "ff",
    "\x1c": "fi",
    "\x1d": "fl",
    "\x1e": "ffi",
    "\x1f": "ffl",
    "\x0b": "ff",
    "\x0c": "fi",
    "\x0e": "ffi",
    "\x0f": "ffl",
}
_UNKNOWN_SYMBOL = "\u2022"
# TeX's math fonts put their own symbols at those codes.
_MATH = re.compile(r"math|cmex|cmsy|cmmi|msam|msbm|euex|eusm|stmary|wasy|lasy|rsfs|symbol", re.IGNORECASE)


@dataclass(frozen=True)
class Glyph:
    text: str
    x0: float
    x1: float
    bottom: float
    top: float
    baseline: float
    size: float
    bold: bool
    italic: bool
    mono: bool
    # PDFium guessed a word space before this glyph (from the font's space width): a hint the
    # layout weighs with the gap, not a space by itself.
    spaced: bool = False


@dataclass
class Page:
    number: int
    width: float
    height: float
    glyphs: list[Glyph] = field(default_factory=list)


@dataclass(frozen=True)
class OutlineEntry:
    level: int
    title: str
    page: int | None


@dataclass
class PdfContent:
    pages: list[Page]
    outline: list[OutlineEntry]
    metadata: dict[str, str]


def read_pdf(path: Path) -> PdfContent:
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(path)
    except (pdfium.PdfiumError, OSError, ValueError) as exc:
        raise CorpusError(f"cannot read PDF {path.name}: {_reason(exc)}") from exc
    try:
        pages = [_page(document, number) for number in range(len(document))]
        return PdfContent(pages, _outline(document), _metadata(document))
    except pdfium.PdfiumError as exc:
        raise CorpusError(f"cannot read PDF {path.name}: {_reason(exc)}") from exc
    finally:
        document.close()


def _reason(exc: Exception) -> str:
    text = str(exc)
    if "password" in text.lower():
        return "it is encrypted"
    return text.rstrip(".") or type(exc).__name__


def _page(document: Any, number: int) -> Page:
    import pypdfium2.raw as raw

    page = document[number]
    width, height = page.get_size()
    text_page = page.get_textpage()
    handle = text_page.raw
    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    origin_x, origin_y = ctypes.c_double(), ctypes.c_double()
    name = ctypes.create_string_buffer(_NAME_BUFFER)
    flags = ctypes.c_int()
    matrix = raw.FS_MATRIX()
    glyphs = []
    high_surrogate = 0
    guessed_space = False
    for index in range(text_page.count_chars()):
        code = raw.FPDFText_GetUnicode(handle, index)
        # PDFium gives characters beyond the BMP (mathematical letters) as UTF-16 pairs.
        if 0xD800 <= code < 0xDC00:
            high_surrogate = code
            continue
        if 0xDC00 <= code < 0xE000:
            if not high_surrogate:
                continue
            code = 0x10000 + ((high_surrogate - 0xD800) << 10) + (code - 0xDC00)
        high_surrogate = 0
        if not code or code in (0xFFFE, 0xFFFF):
            continue
        character = chr(code)
        if character in "\r\n":
            continue  # line breaks are the layout's to find
        if character == "\x02":
            character = "-"  # PDFium's mark for a hyphen at the end of a line
        if raw.FPDFText_IsGenerated(handle, index):
            # Spaces PDFium guessed, at odd places when taken alone: a hint on the next glyph,
            # which the layout weighs with the gap.
            guessed_space = guessed_space or character == " "
            continue
        length = raw.FPDFText_GetFontInfo(handle, index, name, _NAME_BUFFER, flags)
        font = name.raw[: max(length - 1, 0)].decode("latin-1")
        character = _readable(character, font)
        if not character:
            continue
        raw.FPDFText_GetCharBox(handle, index, left, right, bottom, top)
        raw.FPDFText_GetCharOrigin(handle, index, origin_x, origin_y)
        # The size as set, times the text matrix's scale: some producers set every font at
        # size 1 and scale the matrix instead.
        scale = math.hypot(matrix.c, matrix.d) if raw.FPDFText_GetMatrix(handle, index, matrix) else 1.0
        glyphs.append(
            Glyph(
                text=character,
                x0=left.value,
                x1=right.value,
                bottom=bottom.value,
                top=top.value,
                baseline=origin_y.value,
                size=float(raw.FPDFText_GetFontSize(handle, index)) * (scale or 1.0),
                bold=is_bold_font(font),
                italic=_ITALIC.search(font) is not None or bool(flags.value & _ITALIC_FLAG),
                mono=_MONO.search(font) is not None or bool(flags.value & _FIXED_PITCH_FLAG),
                spaced=guessed_space,
            )
        )
        guessed_space = False
    text_page.close()
    page.close()
    return Page(number, float(width), float(height), glyphs)


def is_bold_font(name: str) -> bool:
    """Whether a font's name (as the PDF gives it, "ZOLKED+CMSSBX10") says it is bold."""
    return _BOLD.search(name) is not None


def _readable(character: str, font: str) -> str:
    if unicodedata.category(character) == "Cc" and _MATH.search(font):
        return ""  # pieces of big delimiters and radicals: no text to give
    if character in _TEX_CONTROL_CODES:
        return _TEX_CONTROL_CODES[character]
    if character in "\t\f\v":
        return " "
    if unicodedata.category(character) == "Cc":
        return _UNKNOWN_SYMBOL
    return character


def _outline(document: Any) -> list[OutlineEntry]:
    entries = []
    for bookmark in document.get_toc(max_depth=6):
        destination = bookmark.get_dest()
        page = destination.get_index() if destination is not None else None
        title = " ".join((bookmark.get_title() or "").split())
        if title:
            entries.append(OutlineEntry(bookmark.level, title, page))
    return entries


def _metadata(document: Any) -> dict[str, str]:
    values = document.get_metadata_dict(skip_empty=True)
    return {key: " ".join(str(value).split()) for key, value in values.items() if str(value).strip()}
