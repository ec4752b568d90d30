"""Micro-batching plumbing, with the deterministic hash embedder standing in for the model."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from conftest import HashEmbedder
from rsa_qa.batching import EmbeddingBatcher


class CountingEmbedder(HashEmbedder):
    def __init__(self, fail_on: str | None = None) -> None:
        super().__init__(fail_on)
        self.calls: list[int] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls.append(len(texts))
        return super().encode(texts)


async def _embed_all(batcher: EmbeddingBatcher, embedder: HashEmbedder, texts: list[str]) -> list[np.ndarray]:
    return await asyncio.gather(*(batcher.embed(embedder, t) for t in texts))


def test_concurrent_questions_share_model_calls_and_keep_their_own_vectors() -> None:
    embedder = CountingEmbedder()
    texts = [f"question {i}" for i in range(40)]
    vectors = asyncio.run(_embed_all(EmbeddingBatcher(max_size=16, max_wait_ms=2.0), embedder, texts))
    assert len(embedder.calls) < len(texts)
    assert max(embedder.calls) <= 16 and sum(embedder.calls) == 40
    for text, vector in zip(texts, vectors, strict=True):
        assert np.array_equal(vector, embedder.encode([text])[0])


def test_a_lone_question_is_embedded_alone() -> None:
    embedder = CountingEmbedder()
    batcher = EmbeddingBatcher(max_size=16, max_wait_ms=50.0)

    async def one_after_another() -> None:
        for text in ("first", "second", "third"):
            await batcher.embed(embedder, text)

    asyncio.run(one_after_another())
    assert embedder.calls == [1, 1, 1]
    assert batcher.stats.batches == 3 and batcher.stats.largest == 1


def test_a_failing_batch_fails_its_requests_and_the_batcher_goes_on() -> None:
    embedder = CountingEmbedder(fail_on="boom")
    batcher = EmbeddingBatcher()

    async def scenario() -> np.ndarray:
        with pytest.raises(RuntimeError, match="on purpose"):
            await batcher.embed(embedder, "boom")
        return await batcher.embed(embedder, "fine")

    assert asyncio.run(scenario()).shape == (embedder.dimension,)


def test_questions_for_two_models_are_not_mixed() -> None:
    first, second = CountingEmbedder(), CountingEmbedder()
    batcher = EmbeddingBatcher()

    async def scenario() -> list[np.ndarray]:
        return await asyncio.gather(
            batcher.embed(first, "a"), batcher.embed(second, "b"), batcher.embed(first, "c")
        )

    asyncio.run(scenario())
    assert sum(first.calls) == 2 and sum(second.calls) == 1


def test_a_batcher_survives_a_new_event_loop() -> None:
    embedder = CountingEmbedder()
    batcher = EmbeddingBatcher()
    asyncio.run(_embed_all(batcher, embedder, ["one"]))
    assert len(asyncio.run(_embed_all(batcher, embedder, ["two", "three"]))) == 2


class MeetingEmbedder(CountingEmbedder):
    """Each call waits until another call is running beside it (or fails after 5 s)."""

    def __init__(self) -> None:
        super().__init__()
        self.meeting = threading.Barrier(2, timeout=5)

    def encode(self, texts: list[str]) -> np.ndarray:
        self.meeting.wait()
        return super().encode(texts)


def test_two_workers_share_the_waiting_questions_and_run_side_by_side() -> None:
    embedder = MeetingEmbedder()
    texts = [f"question {i}" for i in range(8)]
    vectors = asyncio.run(_embed_all(EmbeddingBatcher(max_size=16, workers=2), embedder, texts))
    assert embedder.calls == [4, 4]
    embedder.meeting = threading.Barrier(1)
    for text, vector in zip(texts, vectors, strict=True):
        assert np.array_equal(vector, embedder.encode([text])[0])
