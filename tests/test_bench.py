"""The benchmarks' own inputs: distinct questions and realistic synthetic passages.

The speed targets themselves are checked by `make bench`, not here."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from bench import distinct_questions
from bench_scale import PassageMaker

from conftest import EVAL
from rsa_qa.pipeline.embed import Embedder
from rsa_qa.store.load import LoadedIndex, load_index


def test_benchmark_questions_never_repeat() -> None:
    questions = list(itertools.islice(distinct_questions(EVAL), 20_000))
    assert len(questions) == 20_000 == len(set(questions))


def test_synthetic_passages_are_reproducible_and_made_of_the_article(index: LoadedIndex) -> None:
    maker = PassageMaker(index, seed=1)
    sources = maker.sources(50)
    first = maker.passages(sources)
    assert first == PassageMaker(index, seed=1).passages(PassageMaker(index, seed=1).sources(50))
    article_words = {w for p in index.passages for w in p.text.split()}
    for picked, passage in zip(sources, first, strict=True):
        assert 2 <= len(picked) <= 5 and passage.sentences
        words = passage.text.split()
        assert sum(w in article_words for w in words) / len(words) > 0.7


def test_composed_vectors_are_unit_length_and_near_their_sentences(index: LoadedIndex) -> None:
    maker = PassageMaker(index, seed=1)
    sources = maker.sources(20)
    vectors = maker.vectors(sources)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    for picked, vector in zip(sources, vectors, strict=True):
        assert (index.sentence_vectors[list(picked)] @ vector).max() > 0.5


def test_the_start_benchmark_writes_an_index_a_real_server_loads_and_answers_from(
    index: LoadedIndex, embedder: Embedder, tmp_path: Path
) -> None:
    from bench_start import measure_start, write_index

    written = tmp_path / "index"
    write_index(written, index, PassageMaker(index, seed=3), 400, embedder)
    assert len(load_index(written).passages) == 400
    figures = measure_start(written)
    assert figures["answered"] is True
    assert 0 < figures["ready_s"] < 120 and figures["rss_at_ready_mb"] > 0
