"""A bounded, thread-safe least-recently-used map (cachetools' LRUCache behind a lock).

The engine's answer cache is read and written from the server's worker threads, hence the lock.
A size of 0 disables caching: nothing is stored.
"""

from __future__ import annotations

import threading
from typing import Generic, Hashable, TypeVar

from cachetools import LRUCache

V = TypeVar("V")


class BoundedLRU(Generic[V]):
    """At most `size` entries; the least recently used one is evicted first."""

    def __init__(self, size: int) -> None:
        self.size = max(0, int(size))
        self._entries: LRUCache[Hashable, V] | None = LRUCache(self.size) if self.size else None
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        if self._entries is None:
            return None
        with self._lock:
            return self._entries.get(key)

    def put(self, key: Hashable, value: V) -> None:
        if self._entries is None:
            return
        with self._lock:
            self._entries[key] = value

    def __len__(self) -> int:
        return 0 if self._entries is None else len(self._entries)
