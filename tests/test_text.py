from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rsa_qa.text import collapse_whitespace, normalise, raw_terms, search_terms, sentence_spans


@pytest.mark.parametrize(
    ("variant", "plain"),
    [("VD₃", "vd3"), ("TXA₂", "txa2"), ("*New England Journal*", "new england journal"), ("a  \n b", "a b")],
)
def test_normalise_folds_subscripts_emphasis_and_space(variant: str, plain: str) -> None:
    assert normalise(variant) == plain


@given(st.text(alphabet=st.sampled_from(" \t\n\r\x0b\x0c\x1c\x85\xa0\u2003\u2028\u3000\u200bab*_")))
def test_whitespace_is_what_the_regex_calls_whitespace(text: str) -> None:
    assert collapse_whitespace(text) == re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("400mg/kg", ["400", "mg", "kg"]),
        ("400 mg/kg", ["400", "mg", "kg"]),
        ("5000IU", ["5000", "iu"]),
        ("VD₃", ["vd", "3"]),
        ("1,000 grams", ["1,000", "grams"]),
    ],
)
def test_raw_terms_split_numbers_from_units(text: str, terms: list[str]) -> None:
    assert raw_terms(text) == terms


def test_search_terms_drop_stop_words_and_stem() -> None:
    assert search_terms("What are the miscarriages of the patients?") == ["miscarriag", "patient"]


def test_sentence_spans_respect_abbreviations_and_brackets() -> None:
    text = (
        "Christiansen et al. found it. Carp et al. They gave (44% success.) Coulam et al. reported [4]. End"
    )
    sentences = [text[s:e] for s, e in sentence_spans(text)]
    assert sentences == [
        "Christiansen et al. found it.",
        "Carp et al.",
        "They gave (44% success.)",
        "Coulam et al. reported [4].",
        "End",
    ]


def test_sentence_spans_of_empty_text() -> None:
    assert sentence_spans("   ") == []
