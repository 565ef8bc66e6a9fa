"""Tests of changes made by another process: this process's PostgreSQL change listener (``backend.lib.pgnotify``)
up before the change, or on SQLite (no NOTIFY) the cached account checks' TTL shortened."""

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.lib import auth, pgnotify
from backend.lib.ttlcache import TtlCache


async def listener_up(engine: AsyncEngine) -> None:
    """Waits up to 5 s for the app's change listener on the engine's database (it connects at startup)."""
    db = str(engine.url)
    for _ in range(100):
        if pgnotify.listening(db):
            return
        await asyncio.sleep(0.05)
    assert pgnotify.listening(db), "the change listener never came up"


async def account_checks_follow_others(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL: the listener is up (NOTIFY drops the cached account checks at once). SQLite: the cached checks
    live 1 s instead of ``STAFF_CHECK_TTL_S`` (the mechanism is the same, the test stays short)."""
    if engine.dialect.name == "postgresql":
        await listener_up(engine)
    else:
        monkeypatch.setattr(auth, "_accounts", TtlCache(1.0, max_entries=1000))
