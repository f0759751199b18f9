"""A small thread-safe LRU cache shared by the search backends (postings, analysed query
words, results). Django-free, like the rest of what index sub-writers import."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class LRU:
    """A small thread-safe LRU keyed by anything, bounded by a total 'size'.

    (``functools.lru_cache`` bounds the number of entries; posting arrays differ in size by
    orders of magnitude, so this one bounds their total length.)"""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.size = 0
        self.data: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self.lock:
            item = self.data.get(key)
            if item is None:
                return None
            self.data.move_to_end(key)
            return item[0]

    def put(self, key: Any, value: Any, size: int = 1) -> None:
        with self.lock:
            if key in self.data:
                self.size -= self.data.pop(key)[1]
            self.data[key] = (value, size)
            self.size += size
            while self.size > self.capacity and len(self.data) > 1:
                _, (_, old) = self.data.popitem(last=False)
                self.size -= old

    def clear(self) -> int:
        """Drop every entry; returns how many there were."""
        with self.lock:
            dropped = len(self.data)
            self.data.clear()
            self.size = 0
            return dropped
