"""A per-process cache whose entries expire after a few seconds: for reference data read on every request
(office rules, calendar, procedures, planned days, staff accounts) that changes a few times a year and whose
edits may take ``ttl_s`` to show in other processes. The process that edits calls ``clear``/``forget``."""

import time
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(self, ttl_s: float, max_entries: int = 4096) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._items: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        """The value if stored less than ``ttl_s`` ago, else None."""
        hit = self._items.get(key)
        if hit is None or time.monotonic() - hit[0] >= self.ttl_s:
            return None
        return hit[1]

    def put(self, key: K, value: V) -> V:
        if len(self._items) >= self.max_entries:
            self._items.clear()  # bounded; dropping everything is cheaper than tracking ages
        self._items[key] = (time.monotonic(), value)
        return value

    def forget(self, key: K) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()
