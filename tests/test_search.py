"""Retrieval behaviour on the real article with the real model."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

from conftest import EVAL
from rsa_qa.evaluation import load_questions, normalise_answer
from rsa_qa.pipeline.embed import Embedder
from rsa_qa.search import searcher as search_module
from rsa_qa.search.question import asks_for_citation
from rsa_qa.search.searcher import Searcher, SearchOptions
from rsa_qa.store.load import LoadedIndex
from rsa_qa.store.vector_index import Within

TOP = SearchOptions(top_k=5)


def top_section(searcher: Searcher, question: str) -> str | None:
    return searcher.search(question, TOP).hits[0].passage.section.number


@pytest.mark.parametrize(
    ("question", "section"),
    [
        ("What daily IVIG dose did Carp give?", "3.2"),
        ("400mg/kg", "3.2"),
        ("5000IU heparin", "3.3"),
        ("Christiansen", "3.2"),
        ("What is the role of VD₃ in RSA?", "3.4"),
        ("What is the role of VD3 in RSA?", "3.4"),
    ],
)
def test_names_numbers_and_doses_are_found(searcher: Searcher, question: str, section: str) -> None:
    assert top_section(searcher, question) == section


def test_a_question_about_a_cited_work_finds_its_entry_and_the_passage_citing_it(searcher: Searcher) -> None:
    hits = searcher.search("Which study did Liang Baozhu publish?", TOP).hits
    entry = next(h for h in hits if h.passage.section.title == "References")
    assert entry.rank <= 2 and entry.passage.text.startswith("[3] Liang Baozhu")
    assert [p.id for p in searcher.citing(entry.passage)] == ["immunology-rsa-review:3.1-03"]
    assert "immunology-rsa-review:3.1-03" in [h.passage.id for h in hits[:3]]


def test_subscript_and_plain_digit_rank_alike(searcher: Searcher) -> None:
    plain = [h.passage.id for h in searcher.search("VD3 immunosuppressant", TOP).hits]
    subscript = [h.passage.id for h in searcher.search("VD₃ immunosuppressant", TOP).hits]
    assert plain == subscript


def test_fusion_uses_both_dense_and_lexical_evidence(searcher: Searcher) -> None:
    hits = searcher.search("What IVIG dose is combined with heparin and aspirin?", TOP).hits
    top = hits[0]
    assert top.dense > 0 and top.lexical > 0
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_highlights_are_exact_slices_of_the_passage(searcher: Searcher) -> None:
    for question in ("What daily IVIG dose did Carp give?", "Who should receive aspirin and prednisone?"):
        for hit in searcher.search(question, TOP).hits:
            assert len(hit.highlights) <= 2
            for highlight in hit.highlights:
                assert hit.passage.text[highlight.start : highlight.end] == highlight.text


def test_only_sentences_that_match_are_highlighted(searcher: Searcher) -> None:
    """Answers show the sentences that hold them; off-topic results are not made to look answered."""
    shown, right, off_topic_top = 0, 0, 0
    rows = [r for name in ("dev.jsonl", "own.jsonl") for r in load_questions(EVAL / name)]
    for row in rows:
        hits = searcher.search(row["question"], TOP).hits
        if row.get("out_of_scope"):
            off_topic_top += bool(hits[0].highlights)
            continue
        strings = [normalise_answer(s) for a in row["accept"] for s in a["contains"]]
        for highlight in hits[0].highlights:
            shown += 1
            right += any(s in normalise_answer(highlight.text) for s in strings)
    answerable = sum(not r.get("out_of_scope") for r in rows)
    assert shown >= answerable // 2, "most answers show a highlight"
    assert right / shown >= 0.6, "most highlights hold an expected answer"
    assert off_topic_top <= 2


@pytest.mark.parametrize(("wanted", "allowed"), [("3", {"3.1", "3.2", "3.3", "3.4"}), ("3.2", {"3.2"})])
def test_section_filter(searcher: Searcher, wanted: str, allowed: set[str]) -> None:
    hits = searcher.search("immune attack on the embryo", SearchOptions(top_k=50, sections=(wanted,))).hits
    assert hits and {h.passage.section.number for h in hits} <= allowed


def test_section_filter_by_name(searcher: Searcher) -> None:
    hits = searcher.search("immune factors", SearchOptions(top_k=10, sections=("Abstract",))).hits
    assert hits and all(h.passage.section.title == "Abstract" for h in hits)


def test_min_score_drops_weak_results(searcher: Searcher) -> None:
    everything = searcher.search("heparin", SearchOptions(top_k=50)).hits
    threshold = everything[2].score
    kept = searcher.search("heparin", SearchOptions(top_k=50, min_score=threshold)).hits
    assert kept and all(h.score >= threshold for h in kept)
    assert len(kept) < len(everything)


def test_expand_adds_neighbours_marked_as_context(searcher: Searcher) -> None:
    hits = searcher.search("atrophied embryos heart tube", SearchOptions(top_k=1, expand=1)).hits
    assert hits[0].context_for is None
    context = hits[1:]
    assert context and all(h.context_for == hits[0].passage.id for h in context)
    assert all(h.passage.section == hits[0].passage.section for h in context)


def test_results_are_deterministic(searcher: Searcher) -> None:
    first = [(h.passage.id, h.score) for h in searcher.search("immune factors", SearchOptions(top_k=50)).hits]
    second = [
        (h.passage.id, h.score) for h in searcher.search("immune factors", SearchOptions(top_k=50)).hits
    ]
    assert first == second
    assert len({pid for pid, _ in first}) == len(first)


@pytest.mark.parametrize(
    "question",
    [
        "What are the side effects of statins?",
        "What will the weather be in Paris tomorrow?",
        "How is HIV transmitted?",
        "Who wrote Pride and Prejudice?",
        "How does chemotherapy treat breast cancer?",
    ],
)
def test_off_topic_questions_are_out_of_scope(searcher: Searcher, question: str) -> None:
    result = searcher.search(question, TOP)
    assert result.scope.in_scope is False
    assert result.scope.reason
    assert result.hits, "passages are still returned; the client decides"


@pytest.mark.parametrize(
    "question",
    [
        "What daily IVIG dose did Carp give?",
        "Can injecting lymphocytes cause fever?",
        "What are the keywords of the review?",
        "What did Zhao and Lin write about?",
    ],
)
def test_answerable_questions_are_in_scope(searcher: Searcher, question: str) -> None:
    assert searcher.search(question, TOP).scope.in_scope is True


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Which reference supports this?", True),
        ("What was cited for IVIG?", True),
        ("What dose of IVIG?", False),
    ],
)
def test_citation_intent(question: str, expected: bool) -> None:
    assert asks_for_citation(question) is expected


def test_citation_questions_prefer_passages_that_cite(searcher: Searcher) -> None:
    hits = searcher.search("Which reference supports the efficacy of lymphocyte immunotherapy?", TOP).hits
    assert hits[0].passage.references


def test_scoring_only_candidates_gives_the_same_results_when_they_cover_the_article(
    searcher: Searcher,
) -> None:
    """The large-index path (FAISS and BM25 candidates first), forced onto the article."""
    narrowed = Searcher(searcher.index, searcher.embedder, candidates=len(searcher.passages) - 1)
    for question in (
        "What daily IVIG dose did Carp give?",
        "heparin",
        "Which study did Liang Baozhu publish?",
    ):
        full = searcher.search(question, SearchOptions(top_k=10))
        part = narrowed.search(question, SearchOptions(top_k=10))
        assert [(h.passage.id, h.score, h.highlights) for h in part.hits] == [
            (h.passage.id, h.score, h.highlights) for h in full.hits
        ]
        assert part.scope == full.scope


def test_few_candidates_still_find_the_answer(searcher: Searcher) -> None:
    narrowed = Searcher(searcher.index, searcher.embedder, candidates=10)
    for question, section in [("What daily IVIG dose did Carp give?", "3.2"), ("5000IU heparin", "3.3")]:
        assert narrowed.search(question, TOP).hits[0].passage.section.number == section


def test_memos_of_texts_and_sentence_terms_stay_bounded(
    index: LoadedIndex, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a large index every question meets new passages; what is kept of them must not grow for ever."""
    monkeypatch.setattr(search_module, "_MEMO_LIMIT", 4)
    fresh = Searcher(index, embedder)
    expected = [h.passage.id for h in fresh.search("IVIG dose", TOP).hits]
    for question in ("IVIG dose", "heparin", "vitamin D", "NK cells", "progesterone"):
        fresh.search(question, TOP)
        assert len(fresh._folded_texts) <= 4 and len(fresh._sentence_terms) <= 4
    assert [h.passage.id for h in fresh.search("IVIG dose", TOP).hits] == expected


def test_a_filter_on_a_large_index_draws_its_candidates_from_the_passages_it_allows(
    searcher: Searcher,
) -> None:
    """On a large index the candidates are a few hundred of millions of passages: a section
    whose passages are none of the question's nearest must still be searched, as an index
    whose every passage is a candidate searches it (the order may differ: some features, such
    as a passage's rank by cosine, are relative to the candidates)."""
    narrowed = Searcher(searcher.index, searcher.embedder, candidates=10)
    question, options = "What daily IVIG dose did Carp give?", SearchOptions(top_k=50, sections=("2",))
    unfiltered = {h.passage.section.number for h in narrowed.search(question, SearchOptions(top_k=50)).hits}
    assert not any(n and n.split(".")[0] == "2" for n in unfiltered), "section 2 is not among the candidates"
    hits = narrowed.search(question, options).hits
    assert hits and all((h.passage.section.number or "").split(".")[0] == "2" for h in hits)
    assert {h.passage.id for h in hits} == {h.passage.id for h in searcher.search(question, options).hits}


def test_a_database_is_asked_for_the_nearest_passages_while_bm25_finds_its_candidates(
    searcher: Searcher,
) -> None:
    """A database's round trip is most of a question's time on a large index: the searcher
    must not wait for it before the BM25 candidates' work. The stand-in database answers
    only once that work has begun; asked first and waited for, it would time out."""
    bm25_begun = threading.Event()

    def database(vector: np.ndarray, count: int, within: Within | None) -> np.ndarray:
        if not bm25_begun.wait(timeout=10):
            pytest.fail("the database was waited for before BM25 began")
        return np.asarray(searcher.index.vectors.search(vector[None], count)[1][0])

    index = dataclasses.replace(searcher.index, nearest=database)
    overlapping = Searcher(index, searcher.embedder, candidates=10)
    candidates = overlapping.lexical.candidates

    def begin(*args: object, **kwargs: object) -> np.ndarray:
        bm25_begun.set()
        return candidates(*args, **kwargs)  # type: ignore[arg-type]

    overlapping.lexical.candidates = begin  # type: ignore[method-assign]
    sequential = Searcher(searcher.index, searcher.embedder, candidates=10)
    question = "What daily IVIG dose did Carp give?"
    assert [h.passage.id for h in overlapping.search(question, TOP).hits] == [
        h.passage.id for h in sequential.search(question, TOP).hits
    ]
