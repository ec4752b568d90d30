"""Late interaction: the build stores each passage's word-piece vectors, the searcher scores
with them from the question's one model run, and an index without them ranks with the
model fitted without them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rsa_qa.config import Settings
from rsa_qa.pipeline.embed import Embedder, token_vectors
from rsa_qa.search.features import PASSAGE_FEATURES
from rsa_qa.search.searcher import Searcher, SearchOptions
from rsa_qa.search.tables import SearchTables
from rsa_qa.service import build_index
from rsa_qa.store.load import LoadedIndex
from rsa_qa.text import normalise

LATE = PASSAGE_FEATURES.index("late_interaction")


def test_the_build_stores_every_passage_s_word_pieces(
    index: LoadedIndex, embedder: Embedder, settings: Settings
) -> None:
    tokens = SearchTables.of(index).tokens
    assert tokens is not None
    assert len(tokens.start) == len(index.passages) + 1
    assert tokens.start[-1] == len(tokens.vectors) == len(tokens.scale)
    row = 3
    encoded = token_vectors(
        embedder, normalise(index.passages[row].embedding_text(settings.embed_section_titles))
    )
    assert encoded is not None
    span = slice(int(tokens.start[row]), int(tokens.start[row + 1]))
    stored = tokens.vectors[span].astype(np.float32) * tokens.scale[span, np.newaxis]
    assert stored.shape == encoded[1:].shape
    # int8 copies of unit vectors: each within a small angle of the model's own.
    assert np.abs((stored * encoded[1:]).sum(axis=1) - 1).max() < 0.01


def test_a_passage_s_own_words_match_it_best(searcher: Searcher) -> None:
    row = 10
    scored = searcher.score(searcher.passages[row].text)
    late = scored.features[:, LATE]
    assert int(scored.rows[int(np.argmax(late))]) == row
    assert 0.9 < late.max() <= 1.0001


def test_word_pieces_from_the_question_s_one_run_rank_as_a_plain_search(searcher: Searcher) -> None:
    query = "Can the mother's defence system reject a pregnancy?"
    packed = token_vectors(searcher.embedder, normalise(query))
    assert packed is not None and packed.ndim == 2
    given = searcher.search(query, SearchOptions(), query_vector=packed)
    plain = searcher.search(query, SearchOptions())
    assert [h.passage.id for h in given.hits] == [h.passage.id for h in plain.hits]
    assert np.allclose([h.score for h in given.hits], [h.score for h in plain.hits], atol=1e-5)
    assert searcher.ranker is searcher.models.ranker


def test_an_index_without_word_pieces_ranks_with_the_model_fitted_without_them(
    settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    small = settings.model_copy(update={"index_dir": tmp_path / "index", "late_interaction_passages": 0})
    index = build_index(small, embedder, progress=lambda _: None).index
    searcher = Searcher(index, embedder)
    assert SearchTables.of(index).tokens is None
    assert searcher.ranker is searcher.models.plain_ranker
    scored = searcher.score("Which cells of the immune system are found in the uterus?")
    assert not scored.features[:, LATE].any()
    assert searcher.search("Which cells of the immune system are found in the uterus?", SearchOptions()).hits
