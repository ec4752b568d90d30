"""PDF → Markdown with YAML front matter, ready for parse.parse_text.

read.py        the PDF's characters (font, size, weight, position), outline and metadata
layout.py      characters → lines in reading order; running headers and footers removed
structure.py   lines → title, authors, abstract, headings, paragraphs, references
"""

from __future__ import annotations

from pathlib import Path

from rsa_qa.errors import CorpusError
from rsa_qa.pipeline.pdf.layout import document_lines
from rsa_qa.pipeline.pdf.read import read_pdf
from rsa_qa.pipeline.pdf.structure import article

__all__ = ["pdf_to_text"]


def pdf_to_text(path: Path) -> str:
    """The article in the PDF as Markdown, or CorpusError saying why it cannot be read."""
    content = read_pdf(path)
    pages = document_lines(content.pages)
    if not any(line.text.strip() for page in pages for line in page.lines):
        raise CorpusError(f"{path.name} has no text to extract (a scanned PDF needs OCR first)")
    return article(pages, content.outline, content.metadata).markdown()
