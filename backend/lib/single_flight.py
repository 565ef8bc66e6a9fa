"""Concurrent callers of one key share one run (issue 24): the answer cache's loads, the inbox's version reads, the
courier route's loads. A polled read asked by many connections at the moment its stored answer lapses would
otherwise load it once per request, each holding a database connection, and queue behind one another.

``run(key, make)``: the first caller runs ``make()``; callers arriving while it runs get its result. If that run
fails or is cancelled, a waiting caller runs ``make()`` itself (and fails the same way, or not); a waiting caller
that is itself cancelled is. ``forget``, ``forget_where`` and ``forget_all`` make later callers start a run of
their own instead of joining one begun before something changed (the run goes on for those already waiting).
``waited(key)`` only waits for a run in progress, for callers that must do their own work after it, and
``run(..., join=False)`` runs for this caller alone (the route's audit: each caller's answer records its own
audience).
"""

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    def __init__(self) -> None:
        self._running: dict[K, asyncio.Future[V]] = {}

    async def _joined(self, pending: asyncio.Future[V]) -> tuple[bool, V | None]:
        """(True, its result) when the run succeeded; (False, None) when it failed or was cancelled."""
        try:
            return True, await asyncio.shield(pending)
        except asyncio.CancelledError:
            if not pending.cancelled():
                raise  # this caller was cancelled, not the run
        except Exception:
            pass
        return False, None

    async def run(self, key: K, make: Callable[[], Awaitable[V]], *, join: bool = True) -> V:
        """``make()``'s result, shared with the callers of ``key`` meanwhile; ``join=False``: never another
        caller's (this caller's run is the one later callers join or wait for)."""
        pending = self._running.get(key) if join else None
        if pending is not None:
            done, value = await self._joined(pending)
            if done:
                return value  # type: ignore[return-value]  # the run's result, of type V
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        try:
            value = await make()
            future.set_result(value)
            return value
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waited
            raise
        finally:
            if self._running.get(key) is future:
                del self._running[key]

    async def waited(self, key: K) -> bool:
        """Waits for the run of ``key`` in progress, if any (whatever its outcome); True when there was one."""
        pending = self._running.get(key)
        if pending is None:
            return False
        await self._joined(pending)
        return True

    def forget(self, key: K) -> None:
        self._running.pop(key, None)

    def forget_all(self) -> None:
        self._running.clear()

    def forget_where(self, test: Callable[[K], bool]) -> None:
        for key in [k for k in self._running if test(k)]:
            del self._running[key]

    def __len__(self) -> int:
        return len(self._running)
