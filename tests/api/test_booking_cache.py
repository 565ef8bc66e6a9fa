"""The slot listing's in-memory ledger stays coherent with the database (SQLite and PostgreSQL), and a lost
database connection answers 503, then recovers."""

import asyncio
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.booking import ledger_cache
from tests import openapi_check
from tests.api.test_booking_flow import place_of, set_booked, slots
from tests.conftest import _pg_admin_url
from tests.support.listener import listener_up

PO = 8


async def _remaining(client: httpx.AsyncClient, lat: float, lon: float, start: str) -> int:
    return int(next(s["remaining"] for s in (await slots(client, lat, lon))["items"] if s["start"] == start))


async def test_a_ledger_change_made_elsewhere_reaches_the_listing(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    po = demo.post_offices[PO]
    lat, lon = place_of(demo, PO)
    items = (await slots(client, lat, lon))["items"]
    window = next(s for s in items if s["remaining"] > 0)
    start = datetime.fromisoformat(window["start"])
    end = datetime.fromisoformat(window["end"])
    assert await _remaining(client, lat, lon, window["start"]) == window["remaining"]  # now from the cache

    listening = engine.dialect.name == "postgresql"
    if listening:
        await listener_up(engine)
    before = await set_booked(engine, po.id, start, end, 10_000)  # earlier tests may have booked it
    try:
        # PostgreSQL: NOTIFY drops the entry long before its 60 s safety TTL; SQLite: the 2 s local TTL.
        patience = 5.0 if listening else ledger_cache.LOCAL_TTL_S + 5.0
        assert await _eventually(client, lat, lon, window["start"], 0, patience) == 0
    finally:
        await set_booked(engine, po.id, start, end, before)
    if listening:
        back = await _eventually(client, lat, lon, window["start"], window["remaining"], 5.0)
        assert back == window["remaining"]


async def _eventually(
    client: httpx.AsyncClient, lat: float, lon: float, start: str, want: int, s: float
) -> int:
    """The window's remaining count once it equals ``want``, or the last one seen after about ``s`` seconds."""
    seen = -1
    for _ in range(int(s / 0.05)):
        seen = await _remaining(client, lat, lon, start)
        if seen == want:
            break
        await asyncio.sleep(0.05)
    return seen


async def test_a_lost_database_connection_is_a_503_then_recovers() -> None:
    """PostgreSQL restarted under the pool: the request that meets the dead connection answers a 503 problem
    the client may retry, the pool drops its connections, and the next request is served (no pre-ping)."""
    from backend.app import create_app
    from backend.db import make_engine
    from backend.lib.pgadmin import connect
    from backend.settings import Settings

    url = _pg_admin_url()
    engine = make_engine(url, pool_size=2)
    app = create_app(Settings(database_url=url), engine=engine)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", event_hooks=openapi_check.response_hooks(app)
        ) as web:
            assert (await web.get("/health")).status_code == 200
            async with engine.connect() as conn:  # the pool's one connection, as /health left it
                pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            admin = await connect(url)
            try:
                assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
            finally:
                await admin.close()
            lost = await web.get("/health")
            assert lost.status_code == 503, lost.text
            assert lost.headers["content-type"].startswith("application/problem+json")
            assert lost.json()["type"].endswith("database_unavailable")
            assert lost.headers["retry-after"] == "1"
            assert (await web.get("/health")).status_code == 200
    finally:
        await engine.dispose()
