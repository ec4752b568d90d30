from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ARTICLE
from pdfgen import FONT, RUNNING_HEADER, article_to_pdf, lines_to_pdf
from rsa_qa.errors import CorpusError
from rsa_qa.pipeline.document import Document
from rsa_qa.pipeline.parse import parse_text
from rsa_qa.pipeline.pdf import pdf_to_text

pytestmark = pytest.mark.skipif(not FONT.is_file(), reason="needs the DejaVu font (Debian fonts-dejavu-core)")


@pytest.fixture(scope="module")
def pdf_document(tmp_path_factory: pytest.TempPathFactory) -> Document:
    pdf = article_to_pdf(ARTICLE.read_text(encoding="utf-8"), tmp_path_factory.mktemp("pdf") / "review.pdf")
    return parse_text(pdf_to_text(pdf), "review-pdf")


def test_pdf_gives_the_same_sections_and_references(pdf_document: Document, document: Document) -> None:
    assert [s.label for s in pdf_document.sections] == [s.label for s in document.sections]
    assert pdf_document.references.keys() == document.references.keys()
    assert [r.citation for r in pdf_document.references.values()] == [
        r.citation for r in document.references.values()
    ]
    assert (pdf_document.meta.title, pdf_document.meta.authors, pdf_document.meta.doi) == (
        document.meta.title,
        document.meta.authors,
        document.meta.doi,
    )


def test_pdf_gives_the_same_paragraphs(pdf_document: Document, document: Document) -> None:
    assert [(p.section.key, p.text) for p in pdf_document.paragraphs] == [
        (p.section.key, p.text) for p in document.paragraphs
    ]


def test_running_header_and_page_numbers_are_dropped(pdf_document: Document) -> None:
    assert RUNNING_HEADER not in pdf_document.source
    assert not any(line.strip().isdigit() for line in pdf_document.source.splitlines())


def test_words_hyphenated_across_lines_are_rejoined(tmp_path: Path) -> None:
    lines = [
        "A Title Line",
        "",
        "The maternal immuno-",
        "logical response is tightly regulated, and interferon-",
        "γ stays as it is.",
    ] * 2
    text = pdf_to_text(lines_to_pdf(lines, tmp_path / "hyphen.pdf"))
    assert "immunological response" in text
    assert "interferon- γ" in text


def test_unreadable_pdf_is_a_corpus_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 not really")
    with pytest.raises(CorpusError, match="broken.pdf"):
        pdf_to_text(broken)
