from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rsa_qa.config import Settings
from rsa_qa.errors import CorpusError
from rsa_qa.pipeline.chunk import SPECIAL_TOKENS, ChunkSettings, Passage, TokenCounter, chunk_document
from rsa_qa.pipeline.document import Document
from rsa_qa.pipeline.embed import Embedder, load_tokenizer
from rsa_qa.pipeline.parse import parse_text
from rsa_qa.text import collapse_whitespace, normalise
from test_parse import ARTICLES

SETTINGS = ChunkSettings(max_tokens=254, model_max_tokens=256, embed_section_titles=True)


@pytest.fixture(scope="module")
def passages(document: Document, embedder: Embedder) -> list[Passage]:
    return chunk_document(document, embedder.count_tokens, SETTINGS)


def test_every_passage_fits_the_model_window(passages: list[Passage], embedder: Embedder) -> None:
    for passage in passages:
        embedded = passage.embedding_text(SETTINGS.embed_section_titles)
        assert embedder.count_tokens(embedded) + SPECIAL_TOKENS <= SETTINGS.model_max_tokens, passage.id


def test_long_paragraphs_are_split_at_sentence_ends(passages: list[Passage], document: Document) -> None:
    section_3_3 = [p for p in passages if p.section.number == "3.3"]
    assert len(section_3_3) >= 2, "3.3 is one paragraph of ~400 word pieces"
    for passage in section_3_3:
        assert passage.text.endswith((".", ".)", "]")), passage.text[-20:]


def test_passages_slice_the_source_and_stay_in_their_section(
    passages: list[Passage], document: Document
) -> None:
    for passage in passages:
        assert collapse_whitespace(document.source[passage.start : passage.end]) == passage.text
        paragraphs = [p for p in document.paragraphs if p.start <= passage.start < p.end]
        assert paragraphs and paragraphs[0].section == passage.section


def test_ids_are_unique_and_readable(passages: list[Passage]) -> None:
    ids = [p.id for p in passages]
    assert len(set(ids)) == len(ids)
    doc = "immunology-rsa-review"
    assert {f"{doc}:3.2-01", f"{doc}:abstract-01", f"{doc}:front-matter-01"} <= set(ids)


def test_each_reference_entry_is_a_passage_and_markers_resolve(
    passages: list[Passage], document: Document
) -> None:
    entries = [p for p in passages if p.section.title == "References"]
    assert [p.references for p in entries] == [(1,), (2,), (3,), (4,), (5,)]
    assert [p.id.rsplit(":", 1)[1] for p in entries] == [f"references-0{n}" for n in range(1, 6)]
    for entry, number in zip(entries, range(1, 6), strict=True):
        assert entry.text.startswith(f"[{number}]") and document.references[number].citation in entry.text
    body = [p for p in passages if p.section.title != "References"]
    assert {n for p in body for n in p.references} == {1, 2, 3, 4, 5}
    for passage in body:
        for number in passage.references:
            assert f"[{number}]" in passage.text


def test_sentence_offsets_are_within_passage_text(passages: list[Passage]) -> None:
    for passage in passages:
        for start, end in passage.sentences:
            assert 0 <= start < end <= len(passage.text)
            assert passage.text[start:end].strip() == passage.text[start:end]


def test_chunking_is_deterministic(document: Document, embedder: Embedder, passages: list[Passage]) -> None:
    assert chunk_document(document, embedder.count_tokens, SETTINGS) == passages


def test_small_budget_splits_into_balanced_pieces(embedder: Embedder) -> None:
    sentence = "The quick brown fox jumps over the lazy dog near the river bank."
    doc = parse_text("Title\n\n1. Section\n\n" + " ".join([sentence] * 12) + "\n")
    settings = ChunkSettings(max_tokens=60, model_max_tokens=256, embed_section_titles=False)
    pieces = [p for p in chunk_document(doc, embedder.count_tokens, settings) if p.section.number == "1"]
    sizes = [embedder.count_tokens(p.text) for p in pieces]
    assert all(size <= 60 for size in sizes)
    assert max(sizes) - min(sizes) <= embedder.count_tokens(sentence)
    assert " ".join(p.text for p in pieces) == " ".join([sentence] * 12)


def test_sentence_longer_than_budget_is_cut_between_words(embedder: Embedder) -> None:
    words = " ".join(f"word{i}" for i in range(200))
    doc = parse_text(f"Title\n\n1. Section\n\n{words}\n")
    settings = ChunkSettings(max_tokens=40, model_max_tokens=256, embed_section_titles=False)
    pieces = [p for p in chunk_document(doc, embedder.count_tokens, settings) if p.section.number == "1"]
    assert len(pieces) > 1
    assert all(embedder.count_tokens(p.text) <= 40 for p in pieces)
    assert " ".join(p.text for p in pieces) == words


@pytest.fixture(scope="module")
def count_tokens() -> TokenCounter:
    tokenizer = load_tokenizer(Path(Settings().model_path))
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)


def test_a_word_longer_than_the_budget_is_cut_between_characters(count_tokens: TokenCounter) -> None:
    word = "0-" * 200  # one "word" of 400 word pieces: punctuation splits it
    doc = parse_text(f"Title\n\n1. Section\n\n{word}\n")
    settings = ChunkSettings(max_tokens=16, model_max_tokens=256, embed_section_titles=False)
    pieces = [p for p in chunk_document(doc, count_tokens, settings) if p.section.number == "1"]
    assert len(pieces) > 1 and "".join(p.text for p in pieces) == word
    assert all(count_tokens(p.text) <= 16 for p in pieces)


@settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", 150)),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(source=ARTICLES, max_tokens=st.sampled_from([16, 60, 254]), titles=st.booleans())
def test_any_text_chunks_within_the_window_and_slices_the_source(
    count_tokens: TokenCounter, source: str, max_tokens: int, titles: bool
) -> None:
    try:
        doc = parse_text(source)
    except CorpusError:
        return
    chunking = ChunkSettings(max_tokens=max_tokens, model_max_tokens=256, embed_section_titles=titles)
    passages = chunk_document(doc, count_tokens, chunking)
    assert len({p.id for p in passages}) == len(passages)
    for passage in passages:
        assert passage.text and collapse_whitespace(source[passage.start : passage.end]) == passage.text
        # What the model reads is the normalised text (index.py); it must not be truncated.
        read = normalise(passage.embedding_text(titles))
        assert count_tokens(read) + SPECIAL_TOKENS <= chunking.model_max_tokens, passage.id
        assert count_tokens(normalise(passage.text)) <= max_tokens, passage.id
        for start, end in passage.sentences:
            assert 0 <= start < end <= len(passage.text)
