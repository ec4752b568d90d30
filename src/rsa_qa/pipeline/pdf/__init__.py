"""PDF → Markdown with YAML front matter, ready for parse.parse_text.

read.py        the PDF's characters (font, size, weight, position), outline and metadata
layout.py      characters → lines in reading order; running headers and footers removed
structure.py   lines → title, authors, abstract, headings, paragraphs, references
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from rsa_qa.errors import CorpusError
from rsa_qa.pipeline.pdf.layout import document_lines
from rsa_qa.pipeline.pdf.read import read_pdf
from rsa_qa.pipeline.pdf.structure import article

__all__ = ["pdf_reader_fingerprint", "pdf_to_text"]


@cache
def pdf_reader_fingerprint() -> str:
    """What this reader's code is, so that an index records which reader made its passages:
    a PDF read by another version may come out with other words, sections or references."""
    digest = hashlib.sha256()
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def pdf_to_text(path: Path) -> str:
    """The article in the PDF as Markdown, or CorpusError saying why it cannot be read."""
    content = read_pdf(path)
    pages = document_lines(content.pages)
    if not any(line.text.strip() for page in pages for line in page.lines):
        raise CorpusError(f"{path.name} has no text to extract (a scanned PDF needs OCR first)")
    return article(pages, content.outline, content.metadata).markdown()
