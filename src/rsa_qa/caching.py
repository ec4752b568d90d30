"""A small least-recently-used cache, safe to use from several threads."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class LRUCache(Generic[V]):
    """Holds at most max_size values and, when sized, at most max_bytes of them by size_of;
    a size of 0 holds nothing. A value larger than max_bytes on its own is not kept."""

    def __init__(
        self, max_size: int, max_bytes: int | None = None, size_of: Callable[[V], int] | None = None
    ) -> None:
        if (max_bytes is None) != (size_of is None):
            raise ValueError("max_bytes and size_of go together")
        self.max_size = max_size
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self.bytes = 0
        self._size_of = size_of
        self._values: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            held = self._values.get(key)
            if held is None:
                self.misses += 1
                return None
            self._values.move_to_end(key)
            self.hits += 1
            return held[0]

    def put(self, key: Hashable, value: V) -> None:
        if self.max_size <= 0:
            return
        size = self._size_of(value) if self._size_of is not None else 0
        if self.max_bytes is not None and size > self.max_bytes:
            return
        with self._lock:
            previous = self._values.pop(key, None)
            if previous is not None:
                self.bytes -= previous[1]
            self._values[key] = (value, size)
            self.bytes += size
            while len(self._values) > self.max_size or (
                self.max_bytes is not None and self.bytes > self.max_bytes
            ):
                self.bytes -= self._values.popitem(last=False)[1][1]

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self.bytes = 0

    def __len__(self) -> int:
        return len(self._values)
