"""PostgreSQL LISTEN/NOTIFY for per-process caches: one listening connection per process and database.

Caches of what other processes may change (the booking ledger, courier rosters, plans) subscribe to a
channel; triggers created by migrations send the notifications at commit. While the connection is down
nothing can be known about changes, so every cache of that database is reset (``on_reset``) when the
connection is lost and again when it is back, and ``listening(db)`` tells caches whether they may keep
entries beyond a short TTL at all. SQLite has no NOTIFY: ``listening`` is never true there.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import engine_key
from backend.lib.sweeper import in_background

log = logging.getLogger("backend.pgnotify")

RECONNECT_S = 2.0
LEDGER = "hoso_ledger"  # payload: the post office id whose windows changed
REFERENCE = "hoso_reference"  # payload: the table that changed (rosters, booking rules, plans...)
ANSWERS = "hoso_answers"  # payload: a tag of backend.lib.answer_cache (dossier:<id>, table:<name>)
OUTBOX = "hoso_outbox"  # no payload: notices were inserted (wakes the dispatchers, backend/notices/wake.py)
CACHE_CHANNELS = (LEDGER, REFERENCE, ANSWERS)
CHANNELS = (*CACHE_CHANNELS, OUTBOX)

_handlers: dict[str, list[Callable[[str], None]]] = {}
_resets: list[Callable[[str], None]] = []
# Live listeners per database: a count, not a flag, so one app stopping (a second app on the same database in
# one process, as tests build) does not tell the other's caches that nobody listens.
_listening: dict[str, int] = {}


def subscribe(channel: str, handler: Callable[[str], None]) -> None:
    """Call ``handler(payload)`` for each notification on ``channel`` (in the event loop; keep it quick)."""
    if handler not in _handlers.setdefault(channel, []):
        _handlers[channel].append(handler)


def on_reset(handler: Callable[[str], None]) -> None:
    """Call ``handler(db)`` whenever the listener of database ``db`` (``backend.db.db_key``) connects or drops."""
    if handler not in _resets:
        _resets.append(handler)


def subscriptions() -> dict[str, list[Callable[[str], None]]]:
    """What is subscribed: each channel's handlers, and under ``"reset"`` the ``on_reset`` ones (a copy)."""
    subs = {channel: list(handlers) for channel, handlers in _handlers.items() if handlers}
    if _resets:
        subs["reset"] = list(_resets)
    return subs


def listening(db: str) -> bool:
    return _listening.get(db, 0) > 0


def _reset(db: str) -> None:
    for handler in _resets:
        handler(db)


def _dispatch(_conn: Any, _pid: int, channel: str, payload: str) -> None:
    for handler in _handlers.get(channel, ()):
        try:
            handler(payload)
        except Exception:
            log.exception("notification handler failed on %s %r", channel, payload)


async def listen(
    engine: AsyncEngine,
    stop: asyncio.Event,
    channels: tuple[str, ...] = CHANNELS,
    *,
    keeps_caches: bool = True,
) -> None:
    """Keep a LISTEN connection to the engine's database until ``stop``; reconnect when it drops.

    ``keeps_caches=False``: a listener for wakes only (``python -m backend dispatch``, whose caches subscribe to
    nothing), which must not tell ``listening`` that this process hears of every change."""
    import asyncpg

    db = engine_key(engine.sync_engine)  # the key caches store their entries under
    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    while not stop.is_set():
        conn = None
        counted = False
        try:
            conn = await asyncpg.connect(dsn)
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _c, lost=lost: lost.set())
            for channel in channels:
                await conn.add_listener(channel, _dispatch)
            _reset(db)  # whatever changed while nobody listened is unknown
            if keeps_caches:
                _listening[db] = _listening.get(db, 0) + 1
                counted = True
            stopped = asyncio.ensure_future(stop.wait())
            dropped = asyncio.ensure_future(lost.wait())
            await asyncio.wait({stopped, dropped}, return_when=asyncio.FIRST_COMPLETED)
            for fut in (stopped, dropped):
                fut.cancel()
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("change listener: %s; caches read the database meanwhile", exc)
        finally:
            if counted:
                _listening[db] -= 1
            _reset(db)
            if conn is not None and not conn.is_closed():
                with contextlib.suppress(Exception):
                    await conn.close(timeout=2)
        if not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RECONNECT_S)


def lifespan_hook(app: Any) -> contextlib.AbstractAsyncContextManager[None]:
    """Listen while the app runs (PostgreSQL only). hoso_outbox only where the app runs the dispatcher
    (``RUN_DISPATCHER``): elsewhere each notice's NOTIFY would reach the process for nothing."""
    engine: AsyncEngine = app.state.engine
    postgres = engine.url.get_backend_name() == "postgresql"
    settings = getattr(app.state, "settings", None)
    channels = CACHE_CHANNELS if settings is not None and not settings.run_dispatcher else CHANNELS
    return in_background(partial(listen, engine, channels=channels) if postgres else None, grace_s=5)
