from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fpdf import FPDF

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


def _title_page(target: Path, names: list[str], name_gap: float, headings: list[str]) -> Path:
    """A title, authors set side by side `name_gap` mm apart, and headings centred in body type."""
    pdf = FPDF()
    pdf.add_font("body", fname=str(FONT))
    pdf.add_page()
    pdf.set_font("body", size=16)
    pdf.cell(0, 10, "Structural Change in Linear Models", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", size=11)
    pdf.ln(4)
    x = pdf.l_margin
    for name in names:
        pdf.set_x(x)
        pdf.cell(pdf.get_string_width(name), 6, name)
        x += pdf.get_string_width(name) + name_gap
    pdf.ln(14)
    paragraph = "The test statistic is computed from the residuals of the fitted model and compared " * 3
    for heading in headings:
        pdf.cell(0, 6, heading, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        pdf.multi_cell(0, 6, paragraph)
        pdf.ln(6)
    pdf.output(str(target))
    return target


def test_names_set_side_by_side_are_told_apart_and_centred_headings_found(tmp_path: Path) -> None:
    names = ["Achim Zeileis", "Friedrich Leisch", "Kurt Hornik", "Christian Kleiber"]
    headings = ["Introduction", "1. The model", "2. Generalized fluctuation tests"]
    text = pdf_to_text(_title_page(tmp_path / "names.pdf", names, name_gap=8, headings=headings))
    front = yaml.safe_load(text.split("---")[1])
    assert front["authors"] == names
    assert [line for line in text.splitlines() if line.startswith("## ")] == [
        "## Introduction",
        "## 1 The model",
        "## 2 Generalized fluctuation tests",
    ]


def test_names_joined_by_a_serial_and_in_capitals_are_each_an_author(tmp_path: Path) -> None:
    names = ["TORSTEN HOTHORN, FRANK BRETZ, AND ALAN GENZ"]
    text = pdf_to_text(
        _title_page(tmp_path / "caps.pdf", names, name_gap=0, headings=["Introduction", "Details"])
    )
    assert yaml.safe_load(text.split("---")[1])["authors"] == ["Torsten Hothorn", "Frank Bretz", "Alan Genz"]


def _front_page(target: Path, printed: list[str], info_authors: str) -> Path:
    pdf = FPDF()
    pdf.add_font("body", fname=str(FONT))
    pdf.set_author(info_authors)
    pdf.add_page()
    pdf.set_font("body", size=16)
    pdf.cell(0, 10, "Templates for Two Authors", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", size=11)
    for line in printed:
        pdf.cell(0, 6, line, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.cell(0, 6, "Abstract", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 6, "This template shows how a paper is laid out for the proceedings. " * 4)
    pdf.output(str(target))
    return target


def test_the_document_info_names_the_authors_the_page_prints(tmp_path: Path) -> None:
    """An affiliation shaped like a name is dropped; a name the layout missed is kept."""
    printed = ["Alfred Alabama", "SPCL, Music Technology Area", "Chris Christmas, Signal Processing Group"]
    pdf = _front_page(tmp_path / "info.pdf", printed, "Alfred Alabama, Chris Christmas")
    assert yaml.safe_load(pdf_to_text(pdf).split("---")[1])["authors"] == [
        "Alfred Alabama",
        "Chris Christmas",
    ]


def test_document_info_names_the_page_does_not_print_are_ignored(tmp_path: Path) -> None:
    pdf = _front_page(tmp_path / "junk.pdf", ["Alfred Alabama and Chris Christmas"], "Microsoft Office User")
    assert yaml.safe_load(pdf_to_text(pdf).split("---")[1])["authors"] == [
        "Alfred Alabama",
        "Chris Christmas",
    ]


def test_a_heading_the_outline_leaves_out_is_found_by_its_type(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.add_font("body", fname=str(FONT))
    pdf.add_page()
    pdf.set_font("body", size=18)
    pdf.cell(0, 10, "Censored Quantile Regression Redux", align="C", new_x="LMARGIN", new_y="NEXT")
    paragraph = "The estimator is consistent under random censoring and its asymptotics follow. " * 4
    for number, title in enumerate(["Introduction", "Overview", "Random Censoring", "Acknowledgments"], 1):
        pdf.set_font("body", size=14)
        if title != "Acknowledgments":
            pdf.start_section(f"{number} {title}")
        pdf.cell(
            0, 8, f"{number} {title}" if title != "Acknowledgments" else title, new_x="LMARGIN", new_y="NEXT"
        )
        pdf.set_font("body", size=10)
        pdf.multi_cell(0, 5, paragraph)
        pdf.ln(4)
    pdf.output(str(tmp_path / "outline.pdf"))
    headings = [line for line in pdf_to_text(tmp_path / "outline.pdf").splitlines() if line.startswith("## ")]
    assert headings == ["## 1 Introduction", "## 2 Overview", "## 3 Random Censoring", "## Acknowledgments"]


def test_names_a_line_starts_with_end_at_its_affiliation(tmp_path: Path) -> None:
    printed = [
        "by A. N. Author, H. Coauthor, Name of Institute or Affiliation, City, Country",
        "Dept of Electrical and Electronic Engineering",
        "Christchurch, New Zealand",
    ]
    text = pdf_to_text(_front_page(tmp_path / "lead.pdf", printed, ""))
    assert yaml.safe_load(text.split("---")[1])["authors"] == ["A. N. Author", "H. Coauthor"]


def test_the_title_the_document_info_names_wins_over_a_larger_masthead(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.add_font("body", fname=str(FONT))
    pdf.set_title("Automatic Time Series Forecasting")
    pdf.add_page()
    pdf.set_font("body", size=26)
    pdf.cell(0, 12, "Journal of Statistical Software", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", size=17)
    pdf.ln(10)
    pdf.cell(0, 10, "Automatic Time Series Forecasting", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", size=10)
    pdf.ln(6)
    pdf.multi_cell(
        0, 5, "Automatic forecasts of large numbers of univariate time series are often needed. " * 4
    )
    pdf.output(str(tmp_path / "masthead.pdf"))
    assert yaml.safe_load(pdf_to_text(tmp_path / "masthead.pdf").split("---")[1])["title"] == (
        "Automatic Time Series Forecasting"
    )


def test_a_document_info_naming_one_author_keeps_the_printed_co_authors(tmp_path: Path) -> None:
    """Word sets the file's creator as its author; the page names them all."""
    pdf = _front_page(tmp_path / "one.pdf", ["Jane Doe, John Roe and Wei Li", "for the users"], "Jane Doe")
    assert yaml.safe_load(pdf_to_text(pdf).split("---")[1])["authors"] == ["Jane Doe", "John Roe", "Wei Li"]


def test_an_info_name_is_confirmed_by_whole_words_only(tmp_path: Path) -> None:
    pdf = _front_page(
        tmp_path / "user.pdf", ["Jane Doe", "Notes for users of the template"], "Microsoft Office User"
    )
    assert yaml.safe_load(pdf_to_text(pdf).split("---")[1])["authors"] == ["Jane Doe"]
