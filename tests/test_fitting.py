"""Fitting the ranker, scope and highlight models, and the cross-validation that measures them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import EVAL
from rsa_qa import fitting
from rsa_qa.search.features import PASSAGE_FEATURES
from rsa_qa.search.model import Models, load_models
from rsa_qa.search.searcher import Searcher

POOLED = [EVAL / name for name in ("dev.jsonl", "own.jsonl", "check.jsonl", "blind.jsonl")]
# The oracle: MiniLM cosine and BM25 (as a share of the best candidate's), one weight between them.
BASELINE = [PASSAGE_FEATURES.index("dense_passage"), PASSAGE_FEATURES.index("lexical_share")]


@pytest.fixture(scope="module")
def examples(searcher: Searcher) -> list[fitting.Example]:
    unfitted = Searcher(searcher.index, searcher.embedder, models=Models.unfitted())
    return fitting.collect(unfitted, POOLED)


def test_every_question_is_scored_against_every_passage_and_labelled_by_the_scorer(
    examples: list[fitting.Example], searcher: Searcher
) -> None:
    assert len(examples) == sum(len(path.read_text(encoding="utf-8").splitlines()) for path in POOLED)
    answerable = [e for e in examples if e.answerable]
    assert all(e.features.shape == (len(searcher.passages), len(PASSAGE_FEATURES)) for e in examples)
    assert sum(e.labels.any() for e in answerable) / len(answerable) > 0.97
    assert not any(e.labels.any() for e in examples if not e.answerable)


def test_a_passage_of_a_subsection_answers_a_question_naming_its_top_level_section(
    searcher: Searcher, tmp_path: Path
) -> None:
    passage = next(p for p in searcher.passages if len(p.section.path) >= 2)
    top_level = passage.section.path[0].split(" ", 1)[1]  # "3 Title" -> "Title"
    words = passage.text.split()[:8]
    row = {"id": "q", "question": "?", "accept": [{"top_section": top_level, "contains": [" ".join(words)]}]}
    questions = tmp_path / "papers.jsonl"
    questions.write_text(json.dumps(row) + "\n", encoding="utf-8")
    (example,) = fitting.collect(
        Searcher(searcher.index, searcher.embedder, models=Models.unfitted()), [questions]
    )
    labelled = {searcher.passages[int(r)].id for r in example.scored.rows[example.labels]}
    assert passage.id in labelled


def test_grouped_folds_keep_paraphrases_together(examples: list[fitting.Example]) -> None:
    folds = fitting.grouped_folds(examples, fitting.FOLDS, seed=7)
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(examples)))
    fold_of = {i: f for f, fold in enumerate(folds) for i in fold.tolist()}
    by_group: dict[str, set[int]] = {}
    for i, example in enumerate(examples):
        by_group.setdefault(example.group, set()).add(fold_of[i])
    assert all(len(folds_of_group) == 1 for folds_of_group in by_group.values())
    assert any(len([e for e in examples if e.group == g]) > 1 for g in by_group), "the blind set has groups"


def test_the_fitted_ranker_beats_the_plain_fusion_oracle_out_of_fold(
    examples: list[fitting.Example], searcher: Searcher
) -> None:
    learned = fitting.figures(fitting.cross_validate(examples, repeats=1).outcomes[0])
    oracle = fitting.figures(fitting.cross_validate(examples, BASELINE, repeats=1).outcomes[0])
    assert learned.mrr10 > oracle.mrr10 and learned.hit1 >= oracle.hit1
    assert learned.answerable_rejected <= 0.05


def test_the_conditional_logit_learns_which_feature_answers() -> None:
    rng = np.random.default_rng(0)
    examples = []
    for i in range(60):
        features = rng.normal(size=(8, len(PASSAGE_FEATURES)))
        truth = features[:, 3] - 0.5 * features[:, 5]
        labels = truth == truth.max()
        examples.append(_example(f"q{i}", features, labels))
    model = fitting.fit_ranker(examples, l2=0.03, columns=list(range(len(PASSAGE_FEATURES))))
    assert np.argmax(model.weights) == 3 and np.argmin(model.weights) == 5
    fresh = rng.normal(size=(8, len(PASSAGE_FEATURES)))
    assert np.argmax(model.score(fresh)) == np.argmax(fresh[:, 3] - 0.5 * fresh[:, 5])


def test_the_scope_threshold_rejects_at_most_the_target_share() -> None:
    probabilities = np.linspace(0.01, 0.99, 200)
    threshold = fitting.rejection_threshold(probabilities)
    assert np.mean(probabilities < threshold) <= fitting.TARGET_REJECTION
    assert np.mean(probabilities < np.nextafter(threshold, 1.0)) > fitting.TARGET_REJECTION


def test_the_shipped_models_are_fitted_on_these_features_and_carry_their_figures() -> None:
    models = load_models()
    assert models.ranker.features == PASSAGE_FEATURES
    report = models.report["cross_validated"]
    assert 0 < report["hit1"] <= 1 and 0 <= report["answerable_rejected"] <= 0.05
    assert models.report["questions"] >= 287


def _example(name: str, features: np.ndarray, labels: np.ndarray) -> fitting.Example:
    from rsa_qa.search.question import Question
    from rsa_qa.search.searcher import Scored

    scored = Scored(Question.read(name), np.arange(len(labels)), features, np.zeros(len(labels)), {}, {})
    return fitting.Example(
        id=name,
        source="synthetic",
        corpus="",
        searcher=None,  # type: ignore[arg-type]  # the ranker alone never asks it
        kind="test",
        group=name,
        text=name,
        answerable=True,
        scored=scored,
        labels=labels,
        tie_break=np.arange(len(labels)),
    )
