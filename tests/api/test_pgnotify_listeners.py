"""The change listener counts its connections per database: one app stopping does not tell another app's
caches on the same database that nobody listens (they would fall back to short TTLs, and a test waiting for
the listener would wait in vain)."""

import asyncio
from types import SimpleNamespace

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import engine_key
from backend.lib import pgnotify


async def _until(condition: object, seconds: float = 5.0) -> bool:
    for _ in range(int(seconds / 0.05)):
        if condition():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.05)
    return bool(condition())  # type: ignore[operator]


async def test_one_listener_stopping_leaves_the_other_listening(engine: AsyncEngine) -> None:
    db = engine_key(engine.sync_engine)
    first, second = SimpleNamespace(state=SimpleNamespace(engine=engine)), None
    async with pgnotify.lifespan_hook(first):
        if engine.dialect.name != "postgresql":  # SQLite has no NOTIFY: never listening
            assert not pgnotify.listening(db)
            return
        assert await _until(lambda: pgnotify.listening(db))
        second = SimpleNamespace(state=SimpleNamespace(engine=engine))
        async with pgnotify.lifespan_hook(second):
            await asyncio.sleep(0.2)
        # the second app stopped; the first still listens
        assert pgnotify.listening(db)
