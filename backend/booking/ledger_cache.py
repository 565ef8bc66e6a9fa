"""What each window has booked, kept per process between changes: the slot listing reads no database.

``GET /slots`` is the hottest read of the product (every citizen opening the booking screen) and the ledger
(``slot_capacity``) is the only part of it that is not reference data. Reading it on every listing cost a
database round trip whose tail dominated the listing's latency under load.

Coherence:

* The process that writes the ledger forgets that office's entry when its transaction commits (a session
  ``after_commit`` hook; ``capacity.reserve``/``release`` mark the session), so a citizen reading right
  after booking sees it.
* Other processes learn of it through PostgreSQL: a trigger on ``slot_capacity`` (migration 0002) sends
  ``NOTIFY hoso_ledger, '<post office id>'`` at commit, and each process listens on one connection of its
  own (``listen``). Entries are only kept while that connection is up; when it drops, everything is
  forgotten and listings read the database until it is back.
* SQLite (the embedded single-process default) has no NOTIFY: entries there live ``LOCAL_TTL_S`` at most,
  which bounds how stale a second process on the same file can be.

A listing is advisory either way: the booking itself takes the minutes with the ledger's conditional UPDATE
(``capacity.reserve``), so a stale count can never overbook, only show a window a few milliseconds late.
Loads race with changes through a generation number per office: a load that started before a change is
not kept.
"""

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.db import db_key
from schemas.base import utcnow
from schemas.booking import SlotCapacity

log = logging.getLogger("backend.booking.ledger")

CHANNEL = "hoso_ledger"
LOCAL_TTL_S = 2.0  # SQLite, or PostgreSQL before the listener is up: never cached longer than this
LISTENING_TTL_S = 60.0  # belt and braces behind NOTIFY
RECONNECT_S = 2.0
_TOUCHED = "ledger_offices"

Booked = dict[datetime, int]


class LedgerCache:
    def __init__(self) -> None:
        self._entries: dict[tuple[str, uuid.UUID], tuple[float, datetime, Booked]] = {}
        self._generation: dict[uuid.UUID, int] = {}
        self.listening: set[str] = set()  # database URLs whose NOTIFY listener is connected

    def changed(self, post_office_id: uuid.UUID) -> None:
        self._generation[post_office_id] = self._generation.get(post_office_id, 0) + 1
        for key in [k for k in self._entries if k[1] == post_office_id]:
            del self._entries[key]

    def forget_database(self, url: str) -> None:
        for key in [k for k in self._entries if k[0] == url]:
            del self._entries[key]

    def clear(self) -> None:
        self._entries.clear()
        self._generation.clear()

    async def booked(
        self, session: AsyncSession, post_office_id: uuid.UUID, starts: Sequence[datetime]
    ) -> Booked:
        """Booked minutes of the windows starting at ``starts`` (absent: nothing booked)."""
        if not starts:
            return {}
        url = db_key(session)
        key = (url, post_office_id)
        ttl = LISTENING_TTL_S if url in self.listening else LOCAL_TTL_S
        hit = self._entries.get(key)
        if hit is not None and time.monotonic() - hit[0] < ttl and min(starts) >= hit[1]:
            return hit[2]
        # Future windows only (what listings show); older starts are read straight from the database.
        since = min(min(starts), utcnow() - timedelta(hours=1))
        generation = self._generation.get(post_office_id, 0)
        t = SlotCapacity.__table__  # type: ignore[attr-defined]
        rows = await session.execute(
            select(t.c.start, t.c.booked_minutes).where(
                t.c.post_office_id == post_office_id, t.c.start >= since
            )
        )
        booked: Booked = {start: minutes for start, minutes in rows.all()}
        if self._generation.get(post_office_id, 0) == generation:
            self._entries[key] = (time.monotonic(), since, booked)
        return booked


CACHE = LedgerCache()


def touched(session: AsyncSession, post_office_id: uuid.UUID) -> None:
    """Mark the session as having changed this office's ledger (forgotten here when it commits)."""
    session.sync_session.info.setdefault(_TOUCHED, set()).add(post_office_id)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    for office in session.info.pop(_TOUCHED, ()):
        CACHE.changed(office)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_TOUCHED, None)


def _on_notify(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
    try:
        CACHE.changed(uuid.UUID(payload))
    except ValueError:
        log.warning("ledger notification with a bad payload: %r", payload)


async def listen(engine_url: URL, stop: asyncio.Event) -> None:
    """Keep a LISTEN connection to the engine's database (PostgreSQL) until ``stop``; reconnect when it
    drops."""
    import asyncpg

    url = str(engine_url)  # the key entries are stored under (password masked)
    dsn = engine_url.set(drivername="postgresql").render_as_string(hide_password=False)
    while not stop.is_set():
        conn = None
        try:
            conn = await asyncpg.connect(dsn)
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _c, lost=lost: lost.set())
            await conn.add_listener(CHANNEL, _on_notify)
            # Whatever changed while nobody listened is unknown: start from the database.
            CACHE.forget_database(url)
            CACHE.listening.add(url)
            stopped = asyncio.ensure_future(stop.wait())
            dropped = asyncio.ensure_future(lost.wait())
            await asyncio.wait({stopped, dropped}, return_when=asyncio.FIRST_COMPLETED)
            for fut in (stopped, dropped):
                fut.cancel()
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("ledger listener: %s; listings read the database meanwhile", exc)
        finally:
            CACHE.listening.discard(url)
            CACHE.forget_database(url)
            if conn is not None and not conn.is_closed():
                with contextlib.suppress(Exception):
                    await conn.close(timeout=2)
        if not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RECONNECT_S)


@contextlib.asynccontextmanager
async def lifespan_hook(app: Any) -> AsyncIterator[None]:
    """Listen for ledger changes while the app runs (PostgreSQL only)."""
    engine_url: URL = app.state.engine.url
    if engine_url.get_backend_name() != "postgresql":
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(listen(engine_url, stop))
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout=5)
