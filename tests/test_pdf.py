from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from fpdf import FPDF

from conftest import ARTICLE
from pdfgen import FONT, RUNNING_HEADER, article_to_pdf, lines_to_pdf
from rsa_qa.errors import CorpusError
from rsa_qa.pipeline.document import Document
from rsa_qa.pipeline.parse import parse_text
from rsa_qa.pipeline.pdf import pdf_to_text
from rsa_qa.pipeline.pdf.layout import document_lines
from rsa_qa.pipeline.pdf.read import is_bold_font, read_pdf

pytestmark = pytest.mark.skipif(not FONT.is_file(), reason="needs the DejaVu font (Debian fonts-dejavu-core)")


def _front(markdown: str) -> dict[str, Any]:
    """The YAML front matter of pdf_to_text's Markdown: title, authors, DOI."""
    front: dict[str, Any] = yaml.safe_load(markdown.split("---")[1])
    return front


def _headings(markdown: str) -> list[str]:
    """The top-level headings of pdf_to_text's Markdown, as written ("## 1 Introduction")."""
    return [line for line in markdown.splitlines() if line.startswith("## ")]


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


def _section(pdf: FPDF, heading: str, paragraph: str, font: str, size: float, outline: bool = False) -> None:
    """A heading on a line of its own in the given type (listed in the outline when asked),
    then a paragraph of 10-point body text."""
    pdf.set_font(font, size=size)
    if outline:
        pdf.start_section(heading)
    pdf.cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", size=10)
    pdf.multi_cell(0, 5, paragraph)
    pdf.ln(4)


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
    front = _front(text)
    assert front["authors"] == names
    assert _headings(text) == [
        "## Introduction",
        "## 1 The model",
        "## 2 Generalized fluctuation tests",
    ]


def test_names_joined_by_a_serial_and_in_capitals_are_each_an_author(tmp_path: Path) -> None:
    names = ["TORSTEN HOTHORN, FRANK BRETZ, AND ALAN GENZ"]
    text = pdf_to_text(
        _title_page(tmp_path / "caps.pdf", names, name_gap=0, headings=["Introduction", "Details"])
    )
    assert _front(text)["authors"] == ["Torsten Hothorn", "Frank Bretz", "Alan Genz"]


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
    assert _front(pdf_to_text(pdf))["authors"] == [
        "Alfred Alabama",
        "Chris Christmas",
    ]


def test_document_info_names_the_page_does_not_print_are_ignored(tmp_path: Path) -> None:
    pdf = _front_page(tmp_path / "junk.pdf", ["Alfred Alabama and Chris Christmas"], "Microsoft Office User")
    assert _front(pdf_to_text(pdf))["authors"] == [
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
    for heading in ["1 Introduction", "2 Overview", "3 Random Censoring"]:
        _section(pdf, heading, paragraph, "body", 14, outline=True)
    _section(pdf, "Acknowledgments", paragraph, "body", 14)
    pdf.output(str(tmp_path / "outline.pdf"))
    headings = _headings(pdf_to_text(tmp_path / "outline.pdf"))
    assert headings == ["## 1 Introduction", "## 2 Overview", "## 3 Random Censoring", "## Acknowledgments"]


def test_names_a_line_starts_with_end_at_its_affiliation(tmp_path: Path) -> None:
    printed = [
        "by A. N. Author, H. Coauthor, Name of Institute or Affiliation, City, Country",
        "Dept of Electrical and Electronic Engineering",
        "Christchurch, New Zealand",
    ]
    text = pdf_to_text(_front_page(tmp_path / "lead.pdf", printed, ""))
    assert _front(text)["authors"] == ["A. N. Author", "H. Coauthor"]


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
    assert _front(pdf_to_text(tmp_path / "masthead.pdf"))["title"] == ("Automatic Time Series Forecasting")


def test_a_document_info_naming_one_author_keeps_the_printed_co_authors(tmp_path: Path) -> None:
    """Word sets the file's creator as its author; the page names them all."""
    pdf = _front_page(tmp_path / "one.pdf", ["Jane Doe, John Roe and Wei Li", "for the users"], "Jane Doe")
    assert _front(pdf_to_text(pdf))["authors"] == ["Jane Doe", "John Roe", "Wei Li"]


def test_an_info_name_is_confirmed_by_whole_words_only(tmp_path: Path) -> None:
    pdf = _front_page(
        tmp_path / "user.pdf", ["Jane Doe", "Notes for users of the template"], "Microsoft Office User"
    )
    assert _front(pdf_to_text(pdf))["authors"] == ["Jane Doe"]


BOLD_FONT = FONT.with_name("DejaVuSans-Bold.ttf")


def _with_fonts_and_a_page() -> FPDF:
    """A PDF with the body font and its bold ("body", "bold") and a first page."""
    pdf = FPDF()
    pdf.add_font("body", fname=str(FONT))
    pdf.add_font("bold", fname=str(BOLD_FONT))
    pdf.add_page()
    return pdf


@pytest.mark.parametrize(
    ("name", "bold"),
    [
        ("ZOLKED+CMSSBX10", True),  # Computer Modern sans bold extended (ASCE headings)
        ("LSNMMZ+CMBX12", True),
        ("AA+SFSX1200", True),  # cm-super's sans bold
        ("WZKZRO+CMMIB10", True),
        ("Times-Bold", True),
        ("DWMMBG+CMR10", False),
        ("GQMZTX+CMSS12", False),
        ("KCEZKC+CMCSC10", False),  # small capitals are not bold
        ("AA+SFRM1000", False),
    ],
)
def test_bold_is_read_from_tex_font_names(name: str, bold: bool) -> None:
    assert is_bold_font(name) is bold


def test_a_bold_heading_in_capitals_may_end_in_a_full_stop(tmp_path: Path) -> None:
    pdf = _with_fonts_and_a_page()
    pdf.set_font("body", size=16)
    pdf.cell(0, 10, "Style Files for Engineering Documents", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", size=10)
    pdf.cell(0, 6, "Matthew R. Kuhn", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.multi_cell(0, 5, "Abstract: this document was produced with the class and its example file. " * 2)
    pdf.ln(4)
    paragraph = "The class produces manuscripts that roughly comply with the guidelines of the society. " * 4
    for heading in ["INTRODUCTION", "SECTIONS, SUBSECTIONS, EQUATIONS, ETC.", "MISCELLANY"]:
        _section(pdf, heading, paragraph, "bold", 10)
    pdf.output(str(tmp_path / "capitals.pdf"))
    headings = _headings(pdf_to_text(tmp_path / "capitals.pdf"))
    assert headings == [
        "## Abstract",
        "## INTRODUCTION",
        "## SECTIONS, SUBSECTIONS, EQUATIONS, ETC.",
        "## MISCELLANY",
    ]


def test_a_drop_capital_is_put_back_before_its_word(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.add_font("body", fname=str(FONT))
    pdf.add_page()
    pdf.set_font("body", size=16)
    pdf.cell(0, 10, "Typesetting Papers for the Society", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", size=14)
    pdf.ln(4)
    pdf.cell(0, 8, "Introduction", new_x="LMARGIN", new_y="NEXT")
    top = pdf.get_y()
    pdf.set_font("body", size=36)
    pdf.set_xy(pdf.l_margin, top)
    pdf.cell(12, 19, "T")  # its baseline near the third line's, as LaTeX's lettrine sets it
    pdf.set_font("body", size=10)
    first = [
        "his document, when compared to its source, instructs",
        "someone in the use of the style file for",
        "writing papers that look like the journal's.",
    ]
    for row, words in enumerate(first):
        pdf.set_xy(pdf.l_margin + 13, top + 5 * row)
        pdf.cell(0, 5, words)
    pdf.set_xy(pdf.l_margin, top + 15)
    pdf.multi_cell(
        0, 5, "Examples of section headers, lists, tables and figures are given in what follows. " * 3
    )
    pdf.ln(4)
    pdf.set_font("body", size=14)
    pdf.cell(0, 8, "Getting Started", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", size=10)
    pdf.multi_cell(0, 5, "The preamble loads the style file and sets the title and the authors. " * 3)
    pdf.output(str(tmp_path / "drop.pdf"))
    text = pdf_to_text(tmp_path / "drop.pdf")
    assert "This document, when compared" in text
    assert _headings(text) == [
        "## Introduction",
        "## Getting Started",
    ]


def test_a_title_the_running_heads_repeat_is_kept(tmp_path: Path) -> None:
    title = "The Name of the Title Is Hope"
    pdf = FPDF()
    pdf.add_font("body", fname=str(FONT))
    paragraph = "The template shows how a paper is laid out for the proceedings of the conference. " * 12
    for page in range(4):
        pdf.add_page()
        if page == 0:
            pdf.set_font("body", size=20)
            pdf.set_y(8)
            pdf.cell(0, 10, title, align="C", new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("body", size=11)
            pdf.cell(0, 6, "Ben Trovato and Lars Thorvald", align="C", new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.set_font("body", size=8)
            pdf.set_y(8)
            pdf.cell(0, 5, title, align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("body", size=10)
        pdf.ln(6)
        pdf.multi_cell(0, 5, paragraph)
    pdf.output(str(tmp_path / "heads.pdf"))
    text = pdf_to_text(tmp_path / "heads.pdf")
    assert _front(text)["title"] == title
    assert text.count(title) == 2  # in the front matter and as the heading, not as running text


def test_a_document_info_title_that_is_a_citation_line_is_not_the_title(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.add_font("body", fname=str(FONT))
    pdf.set_title("Electron. Commun. Probab. 0 (2020), article no. 0, https://doi.org/10.1214/YY-TN")
    pdf.add_page()
    pdf.set_font("body", size=8)
    pdf.cell(0, 5, "Electron. Commun. Probab. 0 (2020), article no. 0, https://doi.org/10.1214/YY-TN")
    pdf.ln(12)
    pdf.set_font("body", size=17)
    pdf.cell(0, 10, "Introduction to the Probability Class", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", size=10)
    pdf.ln(6)
    pdf.multi_cell(0, 5, "This class typesets papers for the two journals of probability theory. " * 4)
    pdf.output(str(tmp_path / "citation.pdf"))
    front = _front(pdf_to_text(tmp_path / "citation.pdf"))
    assert front["title"] == "Introduction to the Probability Class"


def test_code_in_a_line_does_not_glue_the_words_around_it(tmp_path: Path) -> None:
    """Fixed-width glyphs sit in wide cells: their gaps must not set the line's word spacing.
    Words are placed apart without space characters, as TeX sets them."""
    pdf = FPDF()
    pdf.add_font("body", fname=str(FONT))
    pdf.add_font("mono", fname=str(FONT.with_name("DejaVuSansMono.ttf")))
    pdf.add_page()
    pdf.set_font("body", size=16)
    pdf.cell(0, 10, "Simulation of Risk Models", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    for _ in range(3):
        pdf.set_font("body", size=10)
        for word in "one states models with any combination of".split():
            pdf.cell(pdf.get_string_width(word), 5, word)
            pdf.set_x(pdf.get_x() + 1.0)  # a word space of 0.28 em, no space glyph
        pdf.set_font("mono", size=10)
        pdf.set_char_spacing(2)
        pdf.cell(0, 5, '"exponential","erlang"')
        pdf.set_char_spacing(0)
        pdf.ln(6)
    pdf.output(str(tmp_path / "code.pdf"))
    assert "models with any combination of" in pdf_to_text(tmp_path / "code.pdf")


def test_a_proofs_line_numbers_in_the_margin_are_dropped(tmp_path: Path) -> None:
    """lineno sets a small number a quad before every line, counting down the page."""
    rows = [
        ("Line Numbers in a Journal's Proof", 16),
        ("1. Introduction", 12),
        *[("The estimator is consistent under random censoring and its asymptotics follow", 10)] * 4,
        ("2. Methods", 12),
        *[("We simulate the censored samples and compare the estimators on each of them", 10)] * 4,
        ("References", 12),
        ("[1] R. Koenker, Censored quantile regression redux, J. Stat. Softw. 27 (2008).", 10),
        ("[2] S. Portnoy, Censored regression quantiles, J. Amer. Statist. Assoc. 98 (2003).", 10),
    ]
    pdf = FPDF()
    pdf.add_font("body", fname=str(FONT))
    pdf.set_left_margin(30)
    pdf.add_page()
    for number, (text, size) in enumerate(rows, 1):
        y = pdf.get_y()
        pdf.set_font("body", size=8)
        pdf.set_xy(23, y)
        pdf.cell(5, 6, str(number), align="R")
        pdf.set_font("body", size=size)
        pdf.set_xy(pdf.l_margin, y)
        pdf.cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(tmp_path / "lineno.pdf"))
    text = pdf_to_text(tmp_path / "lineno.pdf")
    assert _headings(text) == ["## 1 Introduction", "## 2 Methods", "## References"]
    assert "asymptotics follow The estimator" in text
    assert "\n[1] R. Koenker" in text and "\n[2] S. Portnoy" in text


def test_a_tables_row_numbers_are_kept_though_they_count_like_line_numbers(tmp_path: Path) -> None:
    """Small numbers counting down a table's first column stand where the text above and
    below the table runs: not a margin's line numbers."""
    pdf = FPDF()
    pdf.add_font("body", fname=str(FONT))
    pdf.set_left_margin(30)
    pdf.add_page()
    pdf.set_font("body", size=10)
    for _ in range(4):
        pdf.multi_cell(
            0,
            6,
            "The trial enrolled twelve sites, listed below with their recruitment in the first year.",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    for number in range(1, 13):
        y = pdf.get_y()
        pdf.set_font("body", size=8)
        pdf.set_xy(pdf.l_margin, y)
        pdf.cell(8, 5, str(number), align="R")
        pdf.cell(60, 5, f"Site recruiting patients {number * 7}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", size=10)
    for _ in range(4):
        pdf.multi_cell(
            0,
            6,
            "Recruitment was slowest at the rural sites, which joined the trial in its second half.",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    pdf.output(str(tmp_path / "table.pdf"))
    text = pdf_to_text(tmp_path / "table.pdf")
    for number in (1, 9, 12):
        assert f"{number} Site recruiting patients {number * 7}" in text


def test_names_set_in_italic_are_the_authors_when_no_upright_line_names_anyone(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.add_font("body", fname=str(FONT))
    pdf.add_font("italic", fname=str(FONT.with_name("DejaVuSans-BoldOblique.ttf")))
    pdf.add_page()
    pdf.set_font("body", size=18)
    pdf.cell(0, 10, "Removing Batch Effects in Experiments", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("italic", size=13)
    pdf.cell(0, 7, "Jeffrey Leek¹, W. Evan Johnson², Andrew Jaffe¹", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", size=10)
    for affiliation in ["¹Johns Hopkins Bloomberg School of Public Health", "²Boston University"]:
        pdf.cell(0, 5, affiliation, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.multi_cell(0, 5, "The package removes batch effects and other unwanted variation in the data. " * 4)
    pdf.output(str(tmp_path / "italic.pdf"))
    authors = _front(pdf_to_text(tmp_path / "italic.pdf"))["authors"]
    assert authors == ["Jeffrey Leek", "W. Evan Johnson", "Andrew Jaffe"]


def test_a_masthead_over_its_volume_and_issue_is_not_the_title(tmp_path: Path) -> None:
    """Nor is a document info's title that is no words (a font's name, as Ghostscript sets it)."""
    pdf = FPDF()
    pdf.add_font("body", fname=str(FONT))
    pdf.set_title("CMR10")
    pdf.add_page()
    pdf.set_font("body", size=26)
    pdf.cell(0, 12, "Journal of Statistical Software", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", size=10)
    pdf.cell(0, 5, "August 2010, Volume 36, Issue 3.", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(14)
    pdf.set_font("body", size=17)
    pdf.cell(0, 10, "Conducting Meta-Analyses in R", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", size=12)
    pdf.cell(0, 8, "Wolfgang Viechtbauer", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", size=10)
    pdf.ln(6)
    pdf.multi_cell(0, 5, "The package provides functions for conducting meta-analyses in R. " * 4)
    pdf.output(str(tmp_path / "jss.pdf"))
    front = _front(pdf_to_text(tmp_path / "jss.pdf"))
    assert (front["title"], front["authors"]) == ("Conducting Meta-Analyses in R", ["Wolfgang Viechtbauer"])


def test_a_landscape_sheet_of_two_half_pages_is_read_half_by_half(tmp_path: Path) -> None:
    """A title page on the left half, the text's start on the right: no line crosses between
    them, though the left half holds only a few lines."""
    pdf = FPDF(orientation="L")
    pdf.add_font("body", fname=str(FONT))
    pdf.add_font("bold", fname=str(BOLD_FONT))
    pdf.set_title("The Mission Statement of a Journal")
    pdf.add_page()
    half = pdf.w / 2
    pdf.set_xy(15, 40)
    for text, size in [("THE MISSION", 28), ("STATEMENT OF", 28), ("A JOURNAL", 28), ("Editorial Board", 18)]:
        pdf.set_font("body", size=size)
        pdf.cell(half - 30, 14, text, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", size=9)
    for text in [
        "University of Michigan",
        "Ann Arbor, Michigan, USA",
        "© 2007, The Journal",
        "This work is licensed under a",
        "Creative Commons Licence",
    ]:
        pdf.set_x(15)
        pdf.cell(half - 30, 5, text, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_left_margin(half + 15)
    pdf.set_right_margin(15)
    pdf.set_y(20)
    paragraph = "The journal is a refereed series of original papers, published on the web for free. " * 12
    for heading in ["1. Description", "2. Mission"]:
        pdf.set_font("bold", size=10)
        pdf.cell(0, 6, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("body", size=10)
        pdf.multi_cell(0, 5, paragraph)
        pdf.ln(3)
    pdf.output(str(tmp_path / "landscape.pdf"))
    text = pdf_to_text(tmp_path / "landscape.pdf")
    assert _front(text)["title"] == "The Mission Statement of a Journal"
    assert _headings(text) == ["## 1 Description", "## 2 Mission"]


def test_a_copyright_line_names_no_author(tmp_path: Path) -> None:
    pdf = _front_page(tmp_path / "copyright.pdf", ["Jane Doe", "© 2020, Acme Publishing"], "")
    assert _front(pdf_to_text(pdf))["authors"] == ["Jane Doe"]


def test_a_references_heading_with_a_letter_apart_and_entries_numbered_1_paren(tmp_path: Path) -> None:
    """JPSJ's style: entries "1)", "2)"; a font the PDF gives no widths for sets the heading's
    first letter apart ("R eferences")."""
    pdf = _with_fonts_and_a_page()
    pdf.set_font("body", size=16)
    pdf.cell(
        0, 10, "Instructions for the Preparation of a Manuscript", align="C", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font("bold", size=11)
    pdf.cell(0, 8, "1. Introduction", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", size=10)
    pdf.multi_cell(0, 5, "The class file is based on the former style file and its usage is the same. " * 5)
    pdf.ln(4)
    pdf.set_font("bold", size=11)
    pdf.cell(pdf.get_string_width("R") + 1.5, 8, "R")
    pdf.cell(0, 8, "eferences", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", size=10)
    entries = [
        "1) L. Lamport: A Document Preparation System (Addison-Wesley, Reading, 1994) 2nd ed.",
        "2) M. Goossens and A. Samarin: The Companion (Addison-Wesley, Reading, 1994).",
        "3) A. Diller: Line by Line (John Wiley & Sons, Chichester, 1999) 2nd ed., p. 129.",
        "4) E-mail address is online@example.org",
    ]
    for entry in entries:
        pdf.cell(0, 5, entry, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(tmp_path / "paren.pdf"))
    text = pdf_to_text(tmp_path / "paren.pdf")
    assert _headings(text) == ["## 1 Introduction", "## References"]
    assert text.split("## References")[1].split() == " ".join(entries).split()


def test_leader_dots_do_not_glue_the_words_of_a_contents_line(tmp_path: Path) -> None:
    """The dots of a table of contents stand far apart: their gaps must not set the line's
    word spacing. Words are placed apart without space characters, as TeX sets them."""
    pdf = FPDF()
    pdf.add_font("body", fname=str(FONT))
    pdf.add_page()
    pdf.set_font("body", size=16)
    pdf.cell(0, 10, "Differential Expression of Count Data", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("body", size=10)
    for _ in range(3):
        for word in "5.3 How to choose the cutoff?".split():
            pdf.cell(pdf.get_string_width(word), 5, word)
            pdf.set_x(pdf.get_x() + 1.0)  # a word space of 0.28 em, no space glyph
        for _ in range(40):
            pdf.set_x(pdf.get_x() + 1.5)
            pdf.cell(pdf.get_string_width("."), 5, ".")
        pdf.cell(0, 5, " 16")
        pdf.ln(6)
    pdf.output(str(tmp_path / "contents.pdf"))
    pages = document_lines(read_pdf(tmp_path / "contents.pdf").pages)
    assert [line.text.split(" .")[0] for line in pages[0].lines[1:]] == ["5.3 How to choose the cutoff?"] * 3


def test_a_numbered_heading_the_outline_names_may_start_in_lower_case(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.add_font("body", fname=str(FONT))
    pdf.add_page()
    pdf.set_font("body", size=18)
    pdf.cell(0, 10, "Removing Batch Effects in Experiments", align="C", new_x="LMARGIN", new_y="NEXT")
    paragraph = "The surrogate variables are estimated from the residuals of the fitted model. " * 4
    for heading in ["1 Overview", "2 Setting up the data", "3 sva for sequencing (svaseq)", "4 What to cite"]:
        _section(pdf, heading, paragraph, "body", 14, outline=True)
    pdf.output(str(tmp_path / "lower.pdf"))
    assert _headings(pdf_to_text(tmp_path / "lower.pdf")) == [
        "## 1 Overview",
        "## 2 Setting up the data",
        "## 3 sva for sequencing (svaseq)",
        "## 4 What to cite",
    ]


def test_acknowledgments_the_outline_leaves_out_are_a_section_in_any_type(tmp_path: Path) -> None:
    """Set in bold body type, unlike the headings the outline lists."""
    pdf = _with_fonts_and_a_page()
    pdf.set_font("body", size=18)
    pdf.cell(0, 10, "A Framework for Cluster Ensembles", align="C", new_x="LMARGIN", new_y="NEXT")
    paragraph = "Cluster ensembles are collections of individual solutions to a clustering problem. " * 4
    for heading in ["1 Introduction", "2 Data structures", "3 Outlook"]:
        _section(pdf, heading, paragraph, "bold", 14, outline=True)
    pdf.set_font("bold", size=10)
    pdf.cell(0, 6, "Acknowledgments", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", size=10)
    pdf.multi_cell(
        0, 5, "We are grateful to Walter Böhm for providing efficient code for solving assignment problems."
    )
    pdf.output(str(tmp_path / "thanks.pdf"))
    assert _headings(pdf_to_text(tmp_path / "thanks.pdf")) == [
        "## 1 Introduction",
        "## 2 Data structures",
        "## 3 Outlook",
        "## Acknowledgments",
    ]


def _guide(target: Path) -> Path:
    """An authors' guide as PTP, AIAA and CJE set theirs: a version line under the title,
    "§"-numbered sections, a lettered "Abstract" subsection about writing one, a numbered
    "References" section about citing before the bibliography, an appendix whose title is
    set on the line below its label, and a bibliography numbered by raised numbers, each
    entry's first line indented."""
    pdf = _with_fonts_and_a_page()
    pdf.set_font("body", size=18)
    for line in ("Preparing Papers for the Example Journal", "Version 2.30.0"):
        pdf.cell(0, 9, line, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", size=12)
    pdf.cell(0, 8, "Ann Example", align="C", new_x="LMARGIN", new_y="NEXT")
    prose = "Authors prepare their manuscripts with the class file and send them to the office. " * 3

    def heading(text: str, size: int = 12) -> None:
        pdf.ln(3)
        pdf.set_font("bold", size=size)
        pdf.cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("body", size=10)
        pdf.multi_cell(0, 5, prose)

    heading("§1. Introduction")
    heading("§2. Headings")
    heading("A. Numbering", size=10)
    heading("B. Abstract", size=10)
    heading("§3. References")
    pdf.ln(3)
    pdf.set_font("bold", size=12)
    pdf.cell(0, 7, "Appendix A", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", size=10)
    pdf.cell(0, 5, "How to Make an Appendix", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 5, prose)
    pdf.ln(3)
    pdf.set_font("bold", size=12)
    pdf.cell(0, 7, "References", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", size=8)
    for number, first, second in (
        (
            "¹",
            "Sutton, K., “Air Radiation Revisited,” Thermal Design of Orbital Transfer Vehicles,",
            "AIAA, New York, 1985, pp. 419–441.",
        ),
        (
            "²",
            "Miner, E. W. and Lewis, C. H., “Hypersonic Ionizing Air Viscous Shock-Layer Flows,”",
            "NASA CR-2250, May 1975.",
        ),
        (
            "³",
            "Wirin, W. B., “Space Debris 1989,” Proceedings of the Colloquium on the Law of Outer Space,",
            "AIAA, Washington, DC, 1990, pp. 184–196.",
        ),
    ):
        pdf.set_x(pdf.l_margin + 8)
        pdf.cell(0, 4, f"{number}{first}", new_x="LMARGIN", new_y="NEXT")
        pdf.cell(0, 4, second, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(target))
    return target


def test_an_authors_guide_keeps_its_numbered_sections_about_abstracts_and_references(tmp_path: Path) -> None:
    text = pdf_to_text(_guide(tmp_path / "guide.pdf"))
    assert _front(text)["title"] == "Preparing Papers for the Example Journal"
    assert _headings(text) == [
        "## 1 Introduction",
        "## 2 Headings",
        "## 3 References",
        "## A. How to Make an Appendix",
        "## References",
    ]
    document = parse_text(text, "guide")
    paths = {s.label: s.path for s in document.sections}
    assert paths["B Abstract"] == ("2 Headings", "B Abstract"), (
        "a lettered subsection, not the paper's abstract"
    )
    assert any(p.section.label == "3 References" for p in document.paragraphs), "a section of the body"
    assert [r.author for r in document.references.values()] == ["Sutton", "Miner", "Wirin"]
    assert sorted(document.references) == [1, 2, 3]


def test_an_affiliations_raised_number_joins_the_affiliation_not_the_author_line_above(
    tmp_path: Path,
) -> None:
    """MNRAS sets "¹Royal Astronomical Society" so close under "Keith T. Smith" that its raised
    number is within reach of both lines; it belongs to the nearer. The author's footnote
    marks (a star the font maps to no character, read "?") are no part of the name."""
    pdf = FPDF()
    pdf.add_font("body", fname=str(FONT))
    pdf.add_page()
    pdf.set_font("body", size=16)
    pdf.text(20, 20, "A Guide for Authors of the Monthly Journal")
    pdf.set_font("body", size=12)
    pdf.text(20, 30, "Keith T. Smith?†")
    pdf.set_font("body", size=6)
    pdf.text(21, 32.0, "1")
    pdf.set_font("body", size=8)
    pdf.text(22.5, 33.2, "Royal Astronomical Society, Burlington House, London, UK")
    pdf.set_font("body", size=10)
    pdf.set_y(45)
    pdf.multi_cell(0, 5, "This guide explains how to prepare a paper for the journal with its class. " * 6)
    pdf.output(str(tmp_path / "mnras.pdf"))
    lines = [
        line.text for page in document_lines(read_pdf(tmp_path / "mnras.pdf").pages) for line in page.lines
    ]
    assert "Keith T. Smith?†" in lines
    assert any(line.startswith("¹Royal Astronomical Society") for line in lines)
    assert _front(pdf_to_text(tmp_path / "mnras.pdf"))["authors"] == ["Keith T. Smith"]


def test_a_table_of_contents_is_left_out_and_the_body_after_it_kept(tmp_path: Path) -> None:
    """A vignette's contents (entries with leader dots or their page number on a line of its
    own, running past a footnote onto the next page) read as a passage of every section's
    title; the body's first heading, which the contents listed, ends them."""
    pdf = _with_fonts_and_a_page()
    pdf.set_font("body", size=18)
    pdf.cell(0, 10, "Analysing Counts with the Example Package", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", size=12)
    pdf.cell(0, 8, "Ann Example", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("bold", size=14)
    pdf.cell(0, 9, "Contents", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", size=10)
    for title, page in (("1 Introduction", "1"), ("2 Estimating dispersion", "3"), ("2.1 Fitting", "4")):
        pdf.cell(150, 5, title + " " + ". " * 20)
        pdf.cell(0, 5, page, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(150, 5, "3 Testing for differences")
    pdf.cell(0, 5, "7", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(-30)
    pdf.set_font("body", size=7)
    pdf.cell(0, 4, "¹Other packages with similar aims exist.", new_x="LMARGIN", new_y="NEXT")
    pdf.add_page()
    pdf.set_font("body", size=10)
    pdf.cell(150, 5, "4 Session information")
    pdf.cell(0, 5, "9", align="R", new_x="LMARGIN", new_y="NEXT")
    prose = "The package fits a model to the counts of every gene and tests them for differences. " * 3
    for heading in ("1 Introduction", "2 Estimating dispersion", "3 Testing for differences"):
        pdf.ln(4)
        pdf.set_font("bold", size=12)
        pdf.cell(0, 7, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("body", size=10)
        pdf.multi_cell(0, 5, prose)
    pdf.output(str(tmp_path / "vignette.pdf"))
    text = pdf_to_text(tmp_path / "vignette.pdf")
    assert "Contents" not in text and ". . ." not in text and "Session information" not in text
    assert _headings(text) == [
        "## 1 Introduction",
        "## 2 Estimating dispersion",
        "## 3 Testing for differences",
    ]
    assert text.count("The package fits a model") == 9
