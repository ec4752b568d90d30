from __future__ import annotations

from rsa_qa.caching import LRUCache


def test_least_recently_used_goes_first() -> None:
    cache: LRUCache[int] = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c")) == (1, 3)
    assert (cache.hits, cache.misses) == (3, 1)


def test_size_zero_holds_nothing() -> None:
    cache: LRUCache[int] = LRUCache(0)
    cache.put("a", 1)
    assert cache.get("a") is None and len(cache) == 0


def test_bytes_bound_evicts_the_oldest_until_it_fits() -> None:
    cache: LRUCache[str] = LRUCache(100, max_bytes=10, size_of=len)
    cache.put("a", "xxxx")
    cache.put("b", "yyyy")
    cache.put("c", "zzzz")
    assert cache.get("a") is None and cache.bytes == 8 and len(cache) == 2
    cache.put("b", "y")  # replacing a value counts its new size only
    assert cache.bytes == 5
    cache.put("huge", "w" * 11)  # larger than the whole budget: not kept, nothing evicted
    assert cache.get("huge") is None and len(cache) == 2
    cache.clear()
    assert cache.bytes == 0
