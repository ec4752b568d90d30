"""The server's query path: cached responses, and question vectors cached or micro-batched.

    response cache   (question as sent, options, index version) → QueryResponse
    vector cache     (embedder fingerprint, question as the model reads it) → vector
    batcher          questions not in either cache, embedded together (batching.py)

The response cache keys on the question exactly as sent (stripped by the request model):
capitals matter to the scope verdict, which reads names from them. Both keys carry what
the index or model was, so a reload that swaps service.searcher can never serve a stale
answer.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np

from rsa_qa.batching import EmbeddingBatcher
from rsa_qa.caching import LRUCache
from rsa_qa.config import Settings
from rsa_qa.schemas import QueryResponse
from rsa_qa.search import Searcher, SearchOptions
from rsa_qa.text import normalise


class QueryEngine:
    def __init__(self, settings: Settings) -> None:
        self.batcher = EmbeddingBatcher(
            settings.batch_max_size, settings.batch_max_wait_ms, workers=settings.inference_workers
        )
        self.vectors: LRUCache[np.ndarray] = LRUCache(settings.cache_size)
        self.responses: LRUCache[QueryResponse] = LRUCache(settings.cache_size)

    async def vector(self, searcher: Searcher, query: str) -> np.ndarray:
        text = normalise(query)
        key = (searcher.embedder.fingerprint(), text)
        vector = self.vectors.get(key)
        if vector is None:
            vector = await self.batcher.embed(searcher.embedder, text)
            self.vectors.put(key, vector)
        return vector


def response_key(query: str, options: SearchOptions, index_version: str) -> Hashable:
    return (query, options, index_version)
