from __future__ import annotations

import pytest

from rsa_qa.pipeline.citations import cited_numbers, parse_entry, split_entries


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("risk [1].", [1]),
        ("as shown [1,3]", [1, 3]),
        ("several [2–4] and [2-3]", [2, 3, 4]),
        ("no marker here", []),
        ("range capped [1-2000]", list(range(1, 52))),
        ("superscript miscarriage¹,³ and risk²⁻⁴", [1, 3, 2, 4]),
        ("after punctuation: the command,¹ by an en-dash.², ³ and (Ref.)⁴", [1, 2, 3, 4]),
        ("a superscript alone ¹ after a space is no marker", []),
        ("a plain number 2020 or dose 400 is not a marker", []),
    ],
)
def test_cited_numbers(text: str, numbers: list[int]) -> None:
    assert cited_numbers(text) == numbers


@pytest.mark.parametrize(
    ("block", "entries"),
    [
        ("[1] Smith J. A.\n[2] Doe A. B.", ["[1] Smith J. A.", "[2] Doe A. B."]),
        ("- [1] Smith J.\n- [2] Doe A.", ["- [1] Smith J.", "- [2] Doe A."]),
        (
            "1. Smith J. Title.\n   continued line.\n2. Doe A. Title.",
            ["1. Smith J. Title.\n   continued line.", "2. Doe A. Title."],
        ),
        ("Smith J (2020) Title.\nDoe A (2019) Other.", ["Smith J (2020) Title.", "Doe A (2019) Other."]),
    ],
)
def test_split_entries(block: str, entries: list[str]) -> None:
    assert [text for _, text in split_entries(block)] == entries


def test_parse_numbered_and_author_year_entries() -> None:
    numbered = parse_entry("2. Doe A, Roe B. A title. J Test. 2019;3:1-2.", 0, next_number=1)
    assert (numbered.number, numbered.citation, numbered.author, numbered.year) == (
        2,
        "Doe A, Roe B. A title. J Test. 2019;3:1-2.",
        "Doe",
        "2019",
    )
    author_year = parse_entry("Smith J, Lee K (2020) Something. J X 1:2.", 0, next_number=7)
    assert (author_year.number, author_year.author, author_year.year) == (7, "Smith", "2020")


def test_author_year_markers_resolve_within_the_list() -> None:
    entries = {
        1: parse_entry("Smith J, Lee K (2020) One.", 0, 1),
        2: parse_entry("Doe A (2019) Two.", 0, 2),
    }
    text = "As found (Smith et al., 2020; Doe 2019) and (Nobody 2018)."
    assert cited_numbers(text, entries) == [1, 2]


def test_markers_outside_the_list_are_dropped() -> None:
    entries = {1: parse_entry("[1] Smith J. One. 2020.", 0, 1)}
    assert cited_numbers("see [1] and [9]", entries) == [1]


AUTHOR_YEAR_LIST = {
    1: parse_entry("Andrews DWK (1991). Heteroskedasticity and autocorrelation.", 0, 1),
    2: parse_entry("Hothorn T, Hornik K, Zeileis A (2006). Unbiased recursive partitioning.", 0, 2),
    3: parse_entry("Zeileis A (2004a). Econometric computing with HC and HAC.", 0, 3),
    4: parse_entry("Zeileis A (2004b). Object-oriented computation of sandwich estimators.", 0, 4),
    5: parse_entry("van de Wiel MA (2001). The split-up algorithm.", 0, 5),
    6: parse_entry("Cribari-Neto F (2004). Asymptotic inference under heteroskedasticity.", 0, 6),
    7: parse_entry("Zeileis A (2006). Implementing a class of structural change tests.", 0, 7),
}


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("as shown by Andrews (1991), the", [1]),
        ("the (Hothorn, Hornik, and Zeileis 2006) algorithm", [2]),
        ("see Hothorn, Hornik, and Zeileis (2006) and Andrews (1991, p. 820)", [2, 1]),
        ("estimators (Cribari-Neto 2004; see also Zeileis 2004a,b)", [6, 3, 4]),
        ("following van de Wiel (2001)", [5]),
        ("Moreover, Andrews (1991) showed", [1]),
        ("Zeileis (2004) is ambiguous between 2004a and 2004b", []),
        ("Zeileis (2006) is not", [7]),
        ("Hornik (2006) is not a first author", []),
        ("Andrews (1992) is the wrong year", []),
    ],
)
def test_author_year_markers_narrative_and_parenthetical(text: str, numbers: list[int]) -> None:
    assert cited_numbers(text, AUTHOR_YEAR_LIST) == numbers


def test_first_author_skips_initials_and_particles() -> None:
    assert parse_entry("[3] E. B. Davies and L. Parns, Trapped modes, 1988.", 0, 1).author == "Davies"
    assert parse_entry("De Leeuw J (2009). Multidimensional scaling.", 0, 1).author == "Leeuw"
    assert parse_entry("Østergaard K (2010). Danish.", 0, 1).author == "Østergaard"


def test_same_first_author_and_year_told_apart_by_co_authors() -> None:
    entries = {
        1: parse_entry("Eddelbuettel D, François R (2021). RcppGSL.", 0, 1),
        2: parse_entry("Eddelbuettel D, François R, Bates D, Ni B (2021). RcppArmadillo.", 0, 2),
    }
    assert cited_numbers("see Eddelbuettel and François (2021)", entries) == [1]
    assert cited_numbers("see (Eddelbuettel et al. 2021)", entries) == [2]
    assert cited_numbers("see Eddelbuettel (2021)", entries) == []


def test_corporate_authors_resolve_by_how_their_entry_begins() -> None:
    entries = {
        1: parse_entry("R Core Team (2021a). R: A Language and Environment.", 0, 1),
        2: parse_entry("ISO/IEC (2011). C++ 2011 Standard Document.", 0, 2),
        3: parse_entry("R Core Team (2021b). Writing R extensions.", 0, 3),
    }
    assert cited_numbers("in R (R Core Team 2021a) and the standard ISO/IEC (2011)", entries) == [1, 2]
    assert cited_numbers("see R Core Team (2021b)", entries) == [3]
