"""Group commit of bookings on PostgreSQL: bookings waiting at the same moment share one statement.

Each web process sends at most one ``hoso_book_many`` call (migration 0004) at a time per database. A booking
that arrives while a call is in flight waits for it to end and goes with the others that arrived meanwhile,
so under load one round trip and one commit carry many bookings, and alone a booking goes at once (no timer,
no added wait). Measured on the 2-core host: a booking's own round trip cost the web process ~1.5 ms of CPU
under load, more than all of its checks; in the database a booking alone took 1.4 ms (its commit's flush
included), 0.5-0.6 ms as one of 20 in a statement.

What each booking gets is what ``pgbook.write`` gives it alone: created, a replay of the key's earlier booking,
or None for a full window, each decided by its own ``hoso_book`` call inside the statement. The answer waits
for the commit. If the statement fails for another reason, nothing was written and the bookings are tried one
by one, so one bad booking fails alone; a lost connection fails them all (the database may or may not have
committed, and only the Idempotency-Key makes a retry safe), answered as 503 like any lost connection.

Why PostgreSQL keeps this second write path (issue 18 asked for one): the statement-by-statement write SQLite
uses (``services.book.write_in_steps``) does not hold 4 times the national peak on PostgreSQL. The peak is
25 bookings/s (derived in ``bench/booking.py``); at 100/s, 2 API processes on the 2-core bench host, runs
interleaved on a host busy with other test runs (load 8-12), ``python -m bench.booking --slots 500
--bookings 500 [--write-path python]``, December 2026:

    POST /appointments, 3 runs  this path (group commit)      statement by statement
    open loop 100/s  p50        19 / 12 / 12 ms               24 / 27 / 541 ms
                     p90        106 / 36 / 44 ms              762 / 233 / 1211 ms
                     p99        236 / 66 / 197 ms             1293 / 459 / 1849 ms
    closed loop, 50 clients     351 / 789 / 517 bookings/s    167 / 326 / 248 bookings/s
    CPU a booking: API, DB      1.2-1.4 ms, 0.4 ms            2.6-3.1 ms, 0.9-1.2 ms

At the peak itself (25/s) the two were alike (p99 71-269 against 72-273 ms, set by the host's other load). A booking written
statement by statement costs about six round trips and a commit of its own, and the window's ledger row stays
locked until that commit's WAL flush (fdatasync ~5 ms on this disk, ``pg_test_fsync``), so bookings of one
window queue behind each other's flushes; here one flush carries up to ``MAX_ITEMS`` bookings. The price is
the rule written twice (``capacity._RESERVE`` and migration 0003): ``tests/api/test_booking_paths.py`` runs
the same bookings through both and fails if their answers or rows differ.
"""

import asyncio
import uuid
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, bindparam, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.booking import ledger_cache
from backend.booking.pgbook import Written, item_json

MAX_ITEMS = 64  # bounds one statement's work and the locks it holds until its commit

_CALL_MANY = text(
    "SELECT o_index, o_outcome, o_appointment, o_hash FROM hoso_book_many(CAST(:items AS jsonb))"
).bindparams(bindparam("items", type_=String()))


@dataclass
class _Waiting:
    item: bytes
    office: uuid.UUID
    answer: "asyncio.Future[Written | None]"


class Batcher:
    """The bookings of one process for one database."""

    def __init__(self, engine: AsyncEngine, max_items: int = MAX_ITEMS) -> None:
        self._engine = weakref.ref(engine)
        self._max = max_items
        self._waiting: list[_Waiting] = []
        self._sender: asyncio.Task[None] | None = None
        self.calls = 0  # statements sent, for tests and benchmarks

    async def write(self, args: Mapping[str, Any]) -> Written | None:
        """``pgbook.write`` for a request with no transaction of its own."""
        answer: asyncio.Future[Written | None] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(item_json(args), args["office"], answer))
        if self._sender is None:
            self._sender = asyncio.create_task(self._send())
        return await answer

    async def _send(self) -> None:
        try:
            while self._waiting:
                batch = [w for w in self._waiting[: self._max] if not w.answer.cancelled()]
                del self._waiting[: self._max]
                if batch:
                    await self._call(batch)
        except asyncio.CancelledError:  # the loop is shutting down: nobody will be answered
            _fail(self._waiting, asyncio.CancelledError())
            self._waiting.clear()
            raise
        finally:
            self._sender = None

    async def _call(self, batch: list[_Waiting]) -> None:
        engine = self._engine()
        try:
            if engine is None:  # pragma: no cover - the engine is disposed of only at shutdown
                raise RuntimeError("the database engine is gone")
            payload = (b"[" + b",".join(w.item for w in batch) + b"]").decode()
            self.calls += 1
            async with engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                rows = (await conn.execute(_CALL_MANY, {"items": payload})).all()
        except DBAPIError as exc:
            statement_failed = getattr(exc.orig, "sqlstate", None) and not exc.connection_invalidated
            if len(batch) > 1 and statement_failed:
                for w in batch:  # nothing was written: each on its own, so a bad one fails alone
                    await self._call([w])
                return
            _fail(batch, exc)
            return
        except asyncio.CancelledError:
            _fail(batch, asyncio.CancelledError())
            raise
        except Exception as exc:  # e.g. no connection within the pool's timeout: these fail, the next go on
            _fail(batch, exc)
            return
        for row in rows:
            w = batch[row.o_index]
            if row.o_outcome == "full":
                result = None
            else:
                if row.o_outcome == "created":
                    ledger_cache.CACHE.changed(w.office)
                result = Written(row.o_outcome == "created", row.o_appointment, row.o_hash)
            if not w.answer.done():
                w.answer.set_result(result)
        _fail(batch, RuntimeError("hoso_book_many returned no row for a booking"))


def _fail(batch: list[_Waiting], exc: BaseException) -> None:
    for w in batch:
        if not w.answer.done():
            if isinstance(exc, asyncio.CancelledError):
                w.answer.cancel()
            else:
                w.answer.set_exception(exc)


_BATCHERS: "weakref.WeakKeyDictionary[AsyncEngine, Batcher]" = weakref.WeakKeyDictionary()


def batcher(engine: AsyncEngine) -> Batcher:
    found = _BATCHERS.get(engine)
    if found is None:
        found = _BATCHERS[engine] = Batcher(engine)
    return found
