"""Question → vector for a server: cached, and otherwise embedded on the model threads.

    vector cache   (embedder fingerprint, question as the model reads it) → vector
    batcher        questions not in the cache, embedded on model threads (batching.py)

The key carries the model's fingerprint, so a reload that swaps the model can never
hand back a vector of the old one.
"""

from __future__ import annotations

import numpy as np

from rsa_qa.caching import LRUCache
from rsa_qa.config import Settings
from rsa_qa.pipeline.embed import Embedder
from rsa_qa.search.batching import EmbeddingBatcher
from rsa_qa.text import normalise


class QuestionEncoder:
    def __init__(self, settings: Settings) -> None:
        self.batcher = EmbeddingBatcher(
            settings.batch_max_size, settings.batch_max_wait_ms, workers=settings.inference_workers
        )
        self.vectors: LRUCache[np.ndarray] = LRUCache(settings.cache_size)

    async def vector(self, embedder: Embedder, query: str) -> np.ndarray:
        text = normalise(query)
        key = (embedder.fingerprint(), text)
        vector = self.vectors.get(key)
        if vector is None:
            vector = await self.batcher.embed(embedder, text)
            self.vectors.put(key, vector)
        return vector

    def close(self) -> None:
        self.batcher.close()
