"""Waking this process's outbox dispatchers when a notice is committed, instead of at their next poll (issue 24).

The dispatcher polls every second when idle (``notifications/dispatcher.py``), so a push left up to a second
after the commit that wrote it. Two ways now wake it at once; the poll stays as the fallback:

* ``NOTIFY hoso_outbox``: migration 0030's trigger sends it at the commit of any insert into ``notification``,
  whoever wrote it (another API process, psql). This process's listener (``backend.lib.pgnotify``: the app's in
  the embedded service, ``listen_for_notices`` in ``python -m backend dispatch``) hands it to ``_on_notice``.
  When that listener connects or drops, the dispatchers make a pass at once: whatever was inserted while nobody
  listened is found then rather than at the next poll.
* this process's own commits: after a commit that inserted into ``notification`` (or called ``hoso_book`` or
  ``hoso_book_many``, which write the booking's notices in PostgreSQL; at once for the group commit's autocommit
  call) the dispatchers are woken (``backend.lib.table_writes``: once the commit is over, so the pass sees the
  row). SQLite has no NOTIFY: there (the embedded ``make run``) this is the only way in.

Wakes are coalesced by the dispatcher (an event), so a burst of notices costs one pass, not one per notice.
"""

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.lib import pgnotify, table_writes

log = logging.getLogger("backend.notices")


class Wakeable(Protocol):
    def wake(self) -> None: ...


# The dispatchers running in this process, with the loop each runs on (a hook may fire on another thread).
_live: dict[Wakeable, asyncio.AbstractEventLoop] = {}


def wake_all() -> None:
    """Ask every dispatcher of this process to look for work now (from any thread; deferred to its loop, so a
    wake given inside a commit hook lands once the commit is over)."""
    for dispatcher, loop in list(_live.items()):
        with contextlib.suppress(RuntimeError):  # its loop is closed: it is leaving ``awake``
            loop.call_soon_threadsafe(dispatcher.wake)


def _on_notice(_payload: str) -> None:
    wake_all()


def _on_listener_reset(_db: str) -> None:
    wake_all()


def install() -> None:
    """Subscribe to NOTIFY hoso_outbox and the listener's resets, and hook this process's commits (idempotent;
    the hooks do nothing while no dispatcher runs here)."""
    pgnotify.subscribe(pgnotify.OUTBOX, _on_notice)
    pgnotify.on_reset(_on_listener_reset)
    # Inserts only: an update of a notice (sent, read) is no new work; notification_delivery is another table.
    table_writes.on_commit(wake_all, inserts=("notification",), calls=("hoso_book", "hoso_book_many"))


@contextlib.contextmanager
def awake(*dispatchers: Wakeable) -> Iterator[None]:
    """While inside, notices wake ``dispatchers`` (they run on the current event loop)."""
    install()
    loop = asyncio.get_running_loop()
    for d in dispatchers:
        _live[d] = loop
    try:
        yield
    finally:
        for d in dispatchers:
            _live.pop(d, None)


async def listen_for_notices(engine: AsyncEngine, stop: asyncio.Event) -> None:
    """A listener of hoso_outbox alone, for a process without the app's listener (``python -m backend
    dispatch``). It does not count as keeping caches coherent (``pgnotify.listening``): this process subscribes
    no cache to the other channels. SQLite: nothing to listen to."""
    if engine.url.get_backend_name() != "postgresql":
        return
    await pgnotify.listen(engine, stop, channels=(pgnotify.OUTBOX,), keeps_caches=False)
