"""Micro-batching: questions that arrive together go through the model together.

A request awaits `EmbeddingBatcher.embed(embedder, text)`. A dispatcher task gathers the
waiting questions and runs the model on them in one call, in a model thread, so the event
loop goes on accepting and answering requests meanwhile. A batch closes when it is full,
when the event loop went round once without another question arriving, or after
max_wait_ms, whichever comes first. While the model threads are busy the next batch fills
up, so batches grow with the load by themselves and a lone question waits for nothing.

There are `workers` model threads (one per core by default). Measured on two cores, two
model calls side by side embed about twice as many questions a second as one; a bigger
batch in one call gains much less (see README, Performance). So waiting questions are
shared out between the free threads rather than all put into one batch.
"""

from __future__ import annotations

import asyncio
import logging
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from rsa_qa.embed import Embedder

log = logging.getLogger(__name__)


@dataclass
class _Waiting:
    embedder: Embedder
    text: str
    future: asyncio.Future[np.ndarray]


@dataclass
class BatchStats:
    batches: int = 0
    texts: int = 0
    largest: int = 0

    def record(self, size: int) -> None:
        self.batches += 1
        self.texts += size
        self.largest = max(self.largest, size)


class EmbeddingBatcher:
    """Embeds concurrent questions in batches; safe to share between requests of one event loop."""

    def __init__(self, max_size: int = 16, max_wait_ms: float = 2.0, workers: int = 1) -> None:
        self.max_size = max_size
        self.max_wait = max_wait_ms / 1000
        self.workers = workers
        self.stats = BatchStats()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rsa-qa-embed")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: list[_Waiting] = []
        self._arrived: asyncio.Event | None = None
        self._busy = 0  # model threads running a batch
        self._thread_freed: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()

    async def embed(self, embedder: Embedder, text: str) -> np.ndarray:
        loop = asyncio.get_running_loop()
        if loop is not self._loop or self._worker is None or self._worker.done():
            self._start(loop)
        assert self._arrived is not None
        future: asyncio.Future[np.ndarray] = loop.create_future()
        self._waiting.append(_Waiting(embedder, text, future))
        self._arrived.set()
        return await future

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        # A test client may run the same app on a new event loop; futures of the old
        # loop cannot be awaited on this one, so the worker starts afresh.
        self._loop = loop
        self._waiting = []
        self._arrived = asyncio.Event()
        self._busy = 0
        self._thread_freed = asyncio.Event()
        self._worker = loop.create_task(self._work(), name="rsa-qa-embedding-batcher")

    async def _work(self) -> None:
        assert self._loop is not None and self._arrived is not None and self._thread_freed is not None
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            while self._busy >= self.workers:  # meanwhile, questions pile up
                self._thread_freed.clear()
                await self._thread_freed.wait()
            await self._gather()
            # Share the waiting questions out between the free threads.
            size = min(self.max_size, max(1, math.ceil(len(self._waiting) / (self.workers - self._busy))))
            batch, self._waiting = self._waiting[:size], self._waiting[size:]
            if self._waiting:
                self._arrived.set()
            self._busy += 1
            task = self._loop.create_task(self._run(batch))
            self._running.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._busy -= 1
        if self._thread_freed is not None:
            self._thread_freed.set()

    async def _gather(self) -> None:
        """Let requests that are already on their way join, within max_wait."""
        assert self._loop is not None
        deadline = self._loop.time() + self.max_wait
        seen = len(self._waiting)
        while seen < self.max_size and self._loop.time() < deadline:
            await asyncio.sleep(0)
            if len(self._waiting) == seen:
                return
            seen = len(self._waiting)

    async def _run(self, batch: list[_Waiting]) -> None:
        assert self._loop is not None
        batch = [w for w in batch if not w.future.done()]  # a cancelled request needs no vector
        groups: dict[int, list[_Waiting]] = {}
        for waiting in batch:  # a reload may have swapped the model while these waited
            groups.setdefault(id(waiting.embedder), []).append(waiting)
        for group in groups.values():
            self.stats.record(len(group))
            try:
                vectors = await self._loop.run_in_executor(
                    self._executor, group[0].embedder.encode, [w.text for w in group]
                )
            except Exception as exc:  # handed to each request; the worker goes on
                log.exception("embedding a batch of %d questions failed", len(group))
                for waiting in group:
                    if not waiting.future.done():
                        waiting.future.set_exception(exc)
                continue
            for waiting, vector in zip(group, vectors, strict=True):
                if not waiting.future.done():
                    waiting.future.set_result(vector)
