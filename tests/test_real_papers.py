"""Twelve published article PDFs (R vignettes and journal templates from Debian packages),
read, indexed and asked about exactly as `rsa-qa index` and the API do.

The truth files beside them were written by hand from the printed page. The floors here
are regression guards on these development papers; the figures that say how well the
extractor does on papers it was not built on come from `make papers-heldout`
(eval/first-look.md)."""

from __future__ import annotations

import shutil
import statistics

import pytest
from papers import PaperFigures, is_glued, papers_in, score_folder

from conftest import ARTICLE, EVAL, ROOT
from rsa_qa.config import Settings
from rsa_qa.evaluation import Search, in_process_search, load_questions, score
from rsa_qa.service import build_index, load_embedder

PAPERS = ROOT / "tests" / "data" / "papers"


@pytest.fixture(scope="module")
def figures() -> list[PaperFigures]:
    return score_folder(PAPERS, questions=True)


def share(figures: list[PaperFigures], value: str) -> float:
    return statistics.fmean(float(getattr(f, value)) for f in figures)


def test_every_paper_is_read(figures: list[PaperFigures]) -> None:
    assert len(figures) == len(papers_in(PAPERS)) >= 12
    assert [f.name for f in figures if f.error] == []


def test_front_matter_comes_out_right(figures: list[PaperFigures]) -> None:
    assert share(figures, "title") >= 0.9
    assert share(figures, "authors") >= 0.8


def test_top_level_sections_are_found(figures: list[PaperFigures]) -> None:
    assert share(figures, "sections_found") >= 0.9
    assert min(f.sections_found for f in figures) >= 0.7


def test_reference_lists_are_split_into_their_entries(figures: list[PaperFigures]) -> None:
    assert share(figures, "references_ok") >= 0.9


def test_passages_carry_no_ligature_glyphs_or_glued_words(figures: list[PaperFigures]) -> None:
    passages = sum(f.passages for f in figures)
    noisy = sum(f.ligature_passages + f.glued_passages for f in figures)
    assert passages > 1000
    assert noisy <= 0.005 * passages


def test_a_tight_justified_line_keeps_the_word_spaces_pdfium_sees() -> None:
    """elsarticle's narrow columns set "of the" 0.12 em apart, under the gap a word space
    needs without PDFium's guess of a space there."""
    from rsa_qa.pipeline.pdf import pdf_to_text

    text = " ".join(pdf_to_text(PAPERS / "elsarticle-3pd.pdf").split())
    assert "the minimum of the lower branch" in text
    assert "a well pronounced minimum" in text


@pytest.mark.parametrize(
    ("text", "glued"),
    [
        ("Ifapaperisacceptedforpublication, itis sent", True),
        ("the Proceedingsofthenationalacademy of", True),
        ("vsd = varianceStabilizingTransformation ( cdsBlind )", False),
        ("see newCountDataSetFromHTSeqCount, described below", False),
        ("a deoxyribonucleoprotein complex", False),
    ],
)
def test_glued_words_are_told_from_a_programs_camel_case_names(text: str, glued: bool) -> None:
    assert is_glued(text) is glued


def test_questions_find_their_passage_under_the_right_section(figures: list[PaperFigures]) -> None:
    ranks = [rank for f in figures for rank in f.ranks]
    labels = [right for f in figures for right in f.labels_right]
    assert len(ranks) == len(labels) >= 30
    assert statistics.fmean(1 / rank if rank else 0.0 for rank in ranks) >= 0.8
    assert statistics.fmean(labels) >= 0.85


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Search:
    """The review and the twelve papers in one corpus, as a researcher's library."""
    corpus = tmp_path_factory.mktemp("library") / "corpus"
    corpus.mkdir()
    for source in [ARTICLE, *PAPERS.glob("*.pdf")]:
        shutil.copy(source, corpus)
    settings = Settings(corpus_dir=corpus, index_dir=corpus.parent / "index")
    build_index(settings, load_embedder(settings, export_if_missing=True), progress=lambda _: None)
    return in_process_search(settings)


def test_words_of_affiliations_and_reference_lists_do_not_make_a_question_answerable(library: Search) -> None:
    report = score(load_questions(EVAL / "library-offtopic.jsonl"), library)
    assert report.out_of_scope == 25
    assert report.oos_rejected is not None and report.oos_rejected >= 0.7
    assert library("What is the capital of France?", 3)["in_scope"] is False


def test_the_review_is_still_answered_among_the_papers(library: Search) -> None:
    report = score(load_questions(EVAL / "dev.jsonl"), library)
    assert report.hit3 >= 0.85
    assert report.in_scope_rejected <= 0.1
