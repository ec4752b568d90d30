"""Micro-batching plumbing, with the deterministic hash embedder standing in for the model."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from conftest import HashEmbedder
from rsa_qa.search.batching import EmbeddingBatcher, Waiting


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


def test_two_workers_run_side_by_side() -> None:
    embedder = MeetingEmbedder()
    texts = [f"question {i}" for i in range(8)]
    vectors = asyncio.run(_embed_all(EmbeddingBatcher(max_size=16, workers=2), embedder, texts))
    assert len(embedder.calls) >= 2 and sum(embedder.calls) == 8  # else the barrier would have failed
    embedder.meeting = threading.Barrier(1)
    for text, vector in zip(texts, vectors, strict=True):
        assert np.array_equal(vector, embedder.encode([text])[0])


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop to own the futures of questions put on a queue by hand."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def _queued(
    batcher: EmbeddingBatcher, embedder: HashEmbedder, count: int, loop: asyncio.AbstractEventLoop
) -> None:
    for i in range(count):
        batcher._queue.put(Waiting(embedder, f"question {i}", loop.create_future(), loop))


def test_a_thread_takes_its_share_of_the_waiting_questions(loop: asyncio.AbstractEventLoop) -> None:
    batcher = EmbeddingBatcher(max_size=16, max_wait_ms=0.0, workers=2)
    _queued(batcher, CountingEmbedder(), 10, loop)
    assert len(batcher._take()) == 5  # the other half is left for the other thread
    assert len(batcher._take()) == 3


def test_a_one_at_a_time_embedder_gets_one_question_per_call(loop: asyncio.AbstractEventLoop) -> None:
    embedder = CountingEmbedder()
    embedder.batches = False  # type: ignore[attr-defined]
    batcher = EmbeddingBatcher(max_size=16, workers=2)
    _queued(batcher, embedder, 6, loop)
    assert len(batcher._take()) == 1


class LoneAwareEmbedder(CountingEmbedder):
    """Records which questions went through encode_alone; its vectors are encode's."""

    def __init__(self) -> None:
        super().__init__()
        self.alone: list[str] = []

    def encode_alone(self, text: str) -> np.ndarray:
        self.alone.append(text)
        return HashEmbedder.encode(self, [text])[0]


def test_a_lone_question_gets_the_every_core_call_and_a_crowd_does_not(
    loop: asyncio.AbstractEventLoop,
) -> None:
    embedder = LoneAwareEmbedder()
    batcher = EmbeddingBatcher(max_size=16, workers=2)

    async def one_after_another() -> list[np.ndarray]:
        return [await batcher.embed(embedder, text) for text in ("first", "second")]

    lone = asyncio.run(one_after_another())
    assert embedder.alone == ["first", "second"]
    assert np.array_equal(lone[0], embedder.encode(["first"])[0])
    embedder.alone.clear()
    _queued(batcher, embedder, 4, loop)
    assert not batcher._begin_call(batcher._take())  # others are waiting: not alone
    batcher._end_call()


def test_close_stops_the_model_threads_and_a_later_question_starts_new_ones() -> None:
    embedder = CountingEmbedder()
    batcher = EmbeddingBatcher(workers=2)
    asyncio.run(_embed_all(batcher, embedder, ["one", "two", "three"]))
    threads = list(batcher._threads)
    batcher.close()
    assert threads and not any(t.is_alive() for t in threads)
    assert len(asyncio.run(_embed_all(batcher, embedder, ["four"]))) == 1
    batcher.close()
