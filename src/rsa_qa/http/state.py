"""What a running app holds besides its routes: the Service, the question encoder, the response cache.

    response cache   (question as sent, options, index version) → QueryResponse, bounded in
                     answers (cache_size) and in bytes of JSON (cache_bytes)

The response cache keys on the question exactly as sent (stripped by the request model):
capitals matter to the scope verdict, which reads names from them. The key carries the
index version, so a reload that swaps the searcher can never serve a stale answer.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

from threadpoolctl import threadpool_limits

from rsa_qa.caching import LRUCache
from rsa_qa.schemas import QueryResponse
from rsa_qa.search.encoding import QuestionEncoder
from rsa_qa.search.searcher import SearchOptions
from rsa_qa.service import Service


@dataclass
class AppState:
    service: Service
    encoder: QuestionEncoder = field(init=False)
    responses: LRUCache[QueryResponse] = field(init=False)

    def __post_init__(self) -> None:
        # One BLAS thread: a search's products are small, and OpenBLAS's threads, spinning
        # after each one, took the cores from the model's (a search's late-interaction
        # product went from 0.4 to 2.5 ms in the server, a question's encoding from 1 to 7).
        threadpool_limits(1, user_api="blas")
        self.encoder = QuestionEncoder(self.service.settings)
        settings = self.service.settings
        self.responses = LRUCache(settings.cache_size, max_bytes=settings.cache_bytes, size_of=_json_size)


def _json_size(response: QueryResponse) -> int:
    # One serialisation more on a miss (the answer itself costs an encode of the question).
    return len(response.model_dump_json())


def response_key(query: str, options: SearchOptions, index_version: str) -> Hashable:
    return (query, options, index_version)
