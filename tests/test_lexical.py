"""BM25 for every passage, for some rows, and candidates within a postings budget."""

from __future__ import annotations

import bm25s
import numpy as np
import pytest

from rsa_qa.search.searcher import Searcher
from rsa_qa.search.tables import lexical_terms
from rsa_qa.store.lexical import K1, B, LexicalIndex
from rsa_qa.text import search_terms


@pytest.fixture(scope="module")
def article_terms(searcher: Searcher) -> list[list[str]]:
    return [lexical_terms(searcher.index, p) for p in searcher.passages]


QUESTIONS = [
    "What daily dose of intravenous immunoglobulin was given?",
    "heparin heparin aspirin",  # a repeated term counts twice, as in bm25s
    "NK cells and Th17/Treg balance in the decidua",
    "words the article never uses: zeppelin quasar",
]


@pytest.mark.parametrize("question", QUESTIONS)
def test_scores_are_bm25s_scores(article_terms: list[list[str]], question: str) -> None:
    reference = bm25s.BM25(k1=K1, b=B)
    reference.index(article_terms, show_progress=False)
    lexical = LexicalIndex(article_terms)
    terms = search_terms(question)
    expected = reference.get_scores([t for t in terms if t in reference.vocab_dict])
    scores, matched = lexical.score_all(lexical.term_ids(terms))
    assert np.allclose(scores, expected, rtol=1e-5, atol=1e-6)
    wanted = set(terms)
    assert matched.tolist() == [len(wanted & set(p)) for p in article_terms]


@pytest.mark.parametrize("question", QUESTIONS)
def test_scoring_some_rows_gives_their_scores_from_scoring_all(
    article_terms: list[list[str]], question: str
) -> None:
    lexical = LexicalIndex(article_terms)
    ids = lexical.term_ids(search_terms(question))
    every, every_matched = lexical.score_all(ids)
    rows = np.random.default_rng(3).permutation(len(article_terms))[:9]
    scores, matched = lexical.score_rows(rows, ids)
    assert np.allclose(scores, every[rows], rtol=1e-5) and np.array_equal(matched, every_matched[rows])


def test_candidates_within_budget_are_the_best_by_bm25(article_terms: list[list[str]]) -> None:
    lexical = LexicalIndex(article_terms)
    ids = lexical.term_ids(search_terms(QUESTIONS[0]))
    scores, _ = lexical.score_all(ids)
    found = lexical.candidates(ids, 5, budget=10**9)
    assert set(found) == set(np.argsort(-scores, kind="stable")[:5])


def test_a_small_budget_keeps_to_the_rarest_terms() -> None:
    common = [["pregnancy", "outcome"] for _ in range(50)]
    rare = [["pregnancy", "tacrolimus"], ["tacrolimus"]]
    lexical = LexicalIndex(common + rare)
    ids = lexical.term_ids(["pregnancy", "tacrolimus"])
    assert sorted(lexical.candidates(ids, 10, budget=5).tolist()) == [50, 51]  # "pregnancy" left out
    assert len(lexical.candidates(ids, 10, budget=1000)) == 10
    assert lexical.candidates(ids, 10, budget=1).size == 0  # even the rarest term is too common
    assert lexical.candidates(lexical.term_ids(["unknown"]), 10, budget=5).size == 0


def test_passages_without_terms_and_document_frequency() -> None:
    lexical = LexicalIndex([["ivig"], [], ["ivig", "ivig", "heparin"]])
    assert lexical.passage_frequency == {"ivig": 2, "heparin": 1}
    scores, matched = lexical.score_all(lexical.term_ids(["ivig"]))
    assert scores[1] == 0 and scores[0] > 0 and scores[2] > 0 and matched.tolist() == [1, 0, 1]
