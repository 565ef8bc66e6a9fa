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
  own (``backend.lib.pgnotify``). Entries are kept beyond ``LOCAL_TTL_S`` only while that connection is
  up; when it drops or comes back, everything of that database is forgotten.
* SQLite (the embedded single-process default) has no NOTIFY: entries there live ``LOCAL_TTL_S`` at most,
  which bounds how stale a second process on the same file can be.

A listing is advisory either way: the booking itself takes the minutes with the ledger's conditional UPDATE
(``capacity.reserve``), so a stale count can never overbook, only show a window a few milliseconds late.
Loads race with changes through a generation number per office: a load that started before a change is
not kept.

Rendered answers made from an office's ledger (``GET /slots``, ``backend/booking/slots_answer.py``) carry the
tag ``ledger_tag(office)`` of ``backend.lib.answer_cache``; every change that drops the office's entry here
(this process's commit, another's NOTIFY) drops those answers too, in the same call.
"""

import logging
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.db import db_key
from backend.lib import answer_cache, pgnotify
from schemas.base import utcnow
from schemas.booking import SlotCapacity

log = logging.getLogger("backend.booking.ledger")

LOCAL_TTL_S = 2.0  # SQLite, or PostgreSQL before the listener is up: never cached longer than this
LISTENING_TTL_S = 60.0  # belt and braces behind NOTIFY
_TOUCHED = "ledger_offices"

Booked = dict[datetime, int]


def ledger_tag(post_office_id: uuid.UUID) -> str:
    """The answer-cache tag of answers made from this office's ledger."""
    return f"ledger:{post_office_id}"


class LedgerCache:
    def __init__(self) -> None:
        self._entries: dict[tuple[str, uuid.UUID], tuple[float, datetime, Booked]] = {}
        # A load is kept only if neither its office's generation nor the epoch moved while it ran.
        self._generation: dict[uuid.UUID, int] = {}
        self._epoch = 0

    def changed(self, post_office_id: uuid.UUID) -> None:
        self._generation[post_office_id] = self._generation.get(post_office_id, 0) + 1
        for key in [k for k in self._entries if k[1] == post_office_id]:
            del self._entries[key]
        answer_cache.invalidate(ledger_tag(post_office_id))

    def forget_database(self, url: str) -> None:
        self._epoch += 1
        for key in [k for k in self._entries if k[0] == url]:
            del self._entries[key]

    def clear(self) -> None:
        self._epoch += 1
        self._entries.clear()

    async def booked(
        self, session: AsyncSession, post_office_id: uuid.UUID, starts: Sequence[datetime]
    ) -> Booked:
        """Booked minutes of the windows starting at ``starts`` (absent: nothing booked)."""
        if not starts:
            return {}
        url = db_key(session)
        key = (url, post_office_id)
        ttl = LISTENING_TTL_S if pgnotify.listening(url) else LOCAL_TTL_S
        hit = self._entries.get(key)
        if hit is not None and time.monotonic() - hit[0] < ttl and min(starts) >= hit[1]:
            return hit[2]
        # From the earliest start asked for, and at least from an hour ago: later listings start later and hit.
        since = min(min(starts), utcnow() - timedelta(hours=1))
        generation, epoch = self._generation.get(post_office_id, 0), self._epoch
        t = SlotCapacity.__table__  # type: ignore[attr-defined]
        rows = await session.execute(
            select(t.c.start, t.c.booked_minutes).where(
                t.c.post_office_id == post_office_id, t.c.start >= since
            )
        )
        booked: Booked = {start: minutes for start, minutes in rows.all()}
        if self._generation.get(post_office_id, 0) == generation and self._epoch == epoch:
            self._entries[key] = (time.monotonic(), since, booked)
        return booked


CACHE = LedgerCache()


def touched(session: AsyncSession, post_office_id: uuid.UUID) -> None:
    """Mark the session as having changed this office's ledger (forgotten here when it commits)."""
    session.sync_session.info.setdefault(_TOUCHED, set()).add(post_office_id)


def _after_commit(session: Session) -> None:
    for office in session.info.pop(_TOUCHED, ()):
        CACHE.changed(office)


def _after_rollback(session: Session) -> None:
    session.info.pop(_TOUCHED, None)


def _on_notify(payload: str) -> None:
    try:
        CACHE.changed(uuid.UUID(payload))
    except ValueError:
        log.warning("ledger notification with a bad payload: %r", payload)


_SESSION_HOOKS = (("after_commit", _after_commit), ("after_rollback", _after_rollback))


def install() -> None:
    """Forget an office's cached ledger when this process commits a change to it (global ``Session`` hooks)
    or another process does (PostgreSQL NOTIFY), and everything when the listener reconnects. Called once by
    ``backend.app.create_app``; calling it again changes nothing."""
    for name, hook in _SESSION_HOOKS:
        if not event.contains(Session, name, hook):
            event.listen(Session, name, hook)
    pgnotify.subscribe(pgnotify.LEDGER, _on_notify)
    pgnotify.on_reset(_forget_database)


def installed() -> bool:
    """Whether ``install`` ran (its ``Session`` hooks are registered)."""
    return all(event.contains(Session, name, hook) for name, hook in _SESSION_HOOKS)


def _forget_database(db: str) -> None:
    CACHE.forget_database(db)
