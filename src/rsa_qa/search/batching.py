"""Micro-batching: questions that arrive together go through the model together.

A request awaits `EmbeddingBatcher.embed(embedder, text)`, which puts the question on a
queue and returns to the event loop. `workers` model threads (one per core by default)
take questions from the queue themselves, run the model and hand each vector back to its
request's event loop. The loop only ever enqueues and receives, so the model starts on a
question at once, even while the loop is busy answering others: a dispatcher on the
loop would leave both cores idle whenever the loop had other work queued first.

A thread takes the first waiting question and, for an embedder that encodes several
texts in one call, more of those already waiting: its share of the queue (the queue
split between the threads), at most max_size, and it waits up to max_wait_ms for
more while the other threads are busy anyway. So batches grow with the load by
themselves and a lone question waits for nothing. The int8 embedder encodes one text
per call (embed.py), so under it each thread takes one question at a time: measured on
two cores, two calls side by side embed about twice as many questions a second as one,
and a bigger batch in one call gains much less (see docs/performance.md).

A question that is alone (no other in flight or waiting) goes instead to the model's
`encode_alone`, where the embedder has one: a call that shares the question out between
every core. Meanwhile the other threads wait before starting a call, so the cores it
uses are not crowded; a question that arrives during it waits a few milliseconds.
"""

from __future__ import annotations

import asyncio
import logging
import math
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from rsa_qa.pipeline.embed import Embedder

log = logging.getLogger(__name__)


@dataclass
class Waiting:
    embedder: Embedder
    text: str
    future: asyncio.Future[np.ndarray]
    loop: asyncio.AbstractEventLoop


# Put on the queue by close(), once per model thread.
_STOP: Any = object()


@dataclass
class BatchStats:
    batches: int = 0
    texts: int = 0
    largest: int = 0
    alone: int = 0

    def record(self, size: int, alone: bool) -> None:
        self.batches += 1
        self.texts += size
        self.largest = max(self.largest, size)
        self.alone += alone


class EmbeddingBatcher:
    """Embeds concurrent questions in batches; safe to share between requests and event loops."""

    def __init__(self, max_size: int = 16, max_wait_ms: float = 2.0, workers: int = 1) -> None:
        self.max_size = max_size
        self.max_wait = max_wait_ms / 1000
        self.workers = workers
        self.stats = BatchStats()
        self._queue: queue.SimpleQueue[Waiting] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._start_lock = threading.Lock()
        # Which model calls run: an alone call runs only with no other beside it.
        self._calls = threading.Condition()
        self._running = 0
        self._alone_running = False

    async def embed(self, embedder: Embedder, text: str) -> np.ndarray:
        if not self._threads:
            self._start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[np.ndarray] = loop.create_future()
        self._queue.put(Waiting(embedder, text, future, loop))
        return await future

    def _start(self) -> None:
        with self._start_lock:
            if self._threads:
                return
            for number in range(self.workers):
                thread = threading.Thread(target=self._work, name=f"rsa-qa-embed-{number}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def close(self) -> None:
        """Let the model threads finish what they hold and stop; a later embed() starts new ones."""
        with self._start_lock:
            threads, self._threads = self._threads, []
            for _ in threads:
                self._queue.put(_STOP)
        for thread in threads:
            thread.join(timeout=30)

    def _work(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            alone = self._begin_call(batch)
            try:
                self._run(batch, alone)
            finally:
                self._end_call()

    def _take(self) -> list[Waiting] | None:
        """The first waiting question, and for a batching embedder this thread's share of the rest.

        None tells the thread to stop.
        """
        first = self._queue.get()
        if first is _STOP:
            return None
        batch = [first]
        embedder = first.embedder
        if not getattr(embedder, "batches", True):
            return batch
        share = min(self.max_size, max(1, math.ceil((self._queue.qsize() + 1) / self.workers)))
        deadline = time.monotonic() + self.max_wait
        while len(batch) < share or (len(batch) < self.max_size and self._others_busy()):
            timeout = deadline - time.monotonic()
            try:
                waiting = self._queue.get_nowait() if timeout <= 0 else self._queue.get(timeout=timeout)
            except queue.Empty:
                break
            if waiting is _STOP:
                self._queue.put(waiting)  # for this thread's next turn, once the batch is done
                break
            batch.append(waiting)
            if waiting.embedder is not embedder:  # a reload swapped the model; _run splits them
                break
        return batch

    def _others_busy(self) -> bool:
        with self._calls:
            return self._running >= self.workers - 1

    def _begin_call(self, batch: list[Waiting]) -> bool:
        with self._calls:
            while self._alone_running:
                self._calls.wait()
            alone = (
                len(batch) == 1
                and self._running == 0
                and self._queue.empty()
                and hasattr(batch[0].embedder, "encode_alone")
            )
            self._running += 1
            self._alone_running = alone
            return alone

    def _end_call(self) -> None:
        with self._calls:
            self._running -= 1
            self._alone_running = False
            self._calls.notify_all()

    def _run(self, batch: list[Waiting], alone: bool) -> None:
        batch = [w for w in batch if not w.future.done()]  # a cancelled request needs no vector
        groups: dict[int, list[Waiting]] = {}
        for waiting in batch:  # a reload may have swapped the model while these waited
            groups.setdefault(id(waiting.embedder), []).append(waiting)
        for group in groups.values():
            self.stats.record(len(group), alone)
            try:
                vectors = _encode(group[0].embedder, [w.text for w in group], alone)
            except Exception as exc:  # handed to each request; the thread goes on
                log.exception("embedding a batch of %d questions failed", len(group))
                for waiting in group:
                    _deliver(waiting, exception=exc)
                continue
            for waiting, vector in zip(group, vectors, strict=True):
                _deliver(waiting, vector=vector)


def _encode(embedder: Embedder, texts: list[str], alone: bool) -> list[np.ndarray]:
    """Each text's vector; from an embedder that encodes one text a run anyway (the int8
    one), its word pieces' vectors too, from the same run (encode_with_tokens)."""
    one_by_one = alone or not getattr(embedder, "batches", True)
    if one_by_one and hasattr(embedder, "encode_with_tokens"):
        return [embedder.encode_with_tokens(text, alone=alone) for text in texts]
    if alone:
        return [np.asarray(embedder.encode_alone(texts[0]))]  # type: ignore[attr-defined]
    return list(embedder.encode(texts))


def _deliver(
    waiting: Waiting, vector: np.ndarray | None = None, exception: BaseException | None = None
) -> None:
    """Hand the outcome to the request's event loop; a closed loop has nobody left to tell."""

    def settle() -> None:
        if waiting.future.done():
            return
        if exception is not None:
            waiting.future.set_exception(exception)
        else:
            waiting.future.set_result(vector)  # type: ignore[arg-type]

    try:
        waiting.loop.call_soon_threadsafe(settle)
    except RuntimeError:
        pass
