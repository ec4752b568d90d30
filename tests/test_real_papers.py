"""Twelve published article PDFs (R vignettes and journal templates from Debian packages),
read, indexed and asked about exactly as `rsa-qa index` and the API do.

The truth files beside them were written by hand from the printed page. The floors here
are regression guards on these development papers; the figures that say how well the
extractor does on papers it was not built on come from `make papers-heldout`
(eval/first-look.md)."""

from __future__ import annotations

import statistics

import pytest
from papers import PaperFigures, papers_in, score_folder

from conftest import ROOT

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


def test_questions_find_their_passage_under_the_right_section(figures: list[PaperFigures]) -> None:
    ranks = [rank for f in figures for rank in f.ranks]
    labels = [right for f in figures for right in f.labels_right]
    assert len(ranks) == len(labels) >= 30
    assert statistics.fmean(1 / rank if rank else 0.0 for rank in ranks) >= 0.8
    assert statistics.fmean(labels) >= 0.85
