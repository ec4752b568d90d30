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
