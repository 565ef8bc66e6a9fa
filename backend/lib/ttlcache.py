"""A per-process cache whose entries expire after a few seconds: for reference data read on every request
(office rules, calendar, procedures, planned days, staff accounts) that changes a few times a year and whose
edits may take ``ttl_s`` to show in other processes. The process that edits calls ``clear``/``forget``.

A value read before an invalidation is never stored after it (issue 17: a loader read the database, a change
notification cleared the cache, then the loader stored what it had read, stale until the TTL). Every
``clear``/``forget`` moves a generation number; ``get_or_load`` keeps a load only if the generation did not
move while it ran, and ``put(..., since=generation)`` does the same for callers that load by themselves."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(self, ttl_s: float, max_entries: int = 4096) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._items: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Future[V]] = {}
        self._generation = 0

    @property
    def generation(self) -> int:
        """Read it before loading a value, pass it to ``put(since=...)``."""
        return self._generation

    def get(self, key: K) -> V | None:
        """The value if stored less than ``ttl_s`` ago, else None."""
        hit = self._items.get(key)
        if hit is None or time.monotonic() - hit[0] >= self.ttl_s:
            return None
        return hit[1]

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The value, loaded by ``load`` when missing or expired. Concurrent misses of one key wait for the
        first caller's load instead of each running their own: at expiry, every request in flight used to
        hit the database at once, the slowest answers of the hottest endpoints. If that load fails, each
        waiter loads for itself."""
        hit = self.get(key)
        if hit is not None:
            return hit
        pending = self._loading.get(key)
        if pending is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this caller was cancelled, not the load
                return await self.get_or_load(key, load)
        pending = asyncio.get_running_loop().create_future()
        self._loading[key] = pending
        since = self._generation
        try:
            value = self.put(key, await load(), since=since)
            pending.set_result(value)
            return value
        finally:
            if self._loading.get(key) is pending:
                del self._loading[key]
            if not pending.done():
                pending.cancel()

    def put(self, key: K, value: V, *, since: int | None = None) -> V:
        """Store ``value`` and return it; with ``since`` (a ``generation`` read before the value was loaded),
        only if nothing was invalidated since then (the value is still returned)."""
        if since is not None and since != self._generation:
            return value
        if len(self._items) >= self.max_entries:
            self._items.clear()  # bounded; dropping everything is cheaper than tracking ages
        self._items[key] = (time.monotonic(), value)
        return value

    def forget(self, key: K) -> None:
        self._generation += 1
        self._items.pop(key, None)
        self._loading.pop(key, None)  # later callers load afresh instead of waiting for a stale load

    def clear(self) -> None:
        self._generation += 1
        self._items.clear()
        self._loading.clear()
