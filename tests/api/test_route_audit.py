"""The courier's route and the personal-data audit (issue 24, Decree 13/2023/NĐ-CP): each disclosure recorded at
least once, a repeat of the very same one (same account, client address, purpose and ETag, while the stored
answer lives) once, and no route sent when its audit cannot be written.

Office 82-BD-02 (dispatcher02, courier03, courier04) on a day no other test plans there (tests/api/
test_read_answers.py uses the same office 16 days ahead, the access matrix 90). Reads go through an app behind
a trusted proxy (10.0.0.0/24), so each request names its client in ``X-Forwarded-For``. The audit's refusal is
a real one: a trigger of the test database refusing the courier's audit rows.
"""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.app import create_app
from backend.db import engine_key, session_factory
from backend.lib import answer_cache
from backend.planning import route_answer
from backend.settings import Settings
from schemas.audit import PersonalDataAccess
from schemas.base import utcnow
from schemas.booking import Appointment
from schemas.vntime import vn_date
from tests import openapi_check
from tests.api.planning_support import H, next_weekday
from tests.conftest import lifespan, staff_headers
from tests.support.route_reads import audit_rows, published_courier
from tests.support.sqlite_ddl import run_fresh

PROXY = ("10.0.0.1", 40000)
HERE, THERE = "198.51.100.31", "198.51.100.32"
ROUTE = "GET /api/v1/couriers/me/route"


@pytest.fixture(autouse=True)
def _answers_live_their_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without a NOTIFY listener (SQLite) a stored answer lives 1.5 s; the re-reads below must meet it alive
    # on a loaded machine too. Nothing else writes this database, so nothing is missed meanwhile.
    monkeypatch.setattr(answer_cache, "SHORT_TTL_S", route_answer.MAX_AGE_S)


@asynccontextmanager
async def _proxied(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=str(engine.url), trusted_proxies="10.0.0.0/24"), engine=engine)  # type: ignore[call-arg]
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app, client=PROXY)  # type: ignore[arg-type]
        hooks = openapi_check.response_hooks(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", event_hooks=hooks) as c:
            yield c


async def _published(client: httpx.AsyncClient, engine: AsyncEngine, demo: Any, day: date) -> str:
    """Plans and publishes the office's day; the courier who got the stops."""
    windows = [("pickup", 8 * H, 10 * H), ("pickup", 9 * H, 11 * H), ("pickup", 13 * H, 15 * H)]
    return await published_courier(client, engine, demo, day, windows)


async def _rows(engine: AsyncEngine, staff_id: uuid.UUID, before: set[uuid.UUID]) -> list[PersonalDataAccess]:
    """The account's audit rows of the route but those of ``before`` (ids)."""
    return [r for r in await audit_rows(engine, staff_id, ROUTE) if r.id not in before]


async def _mark(engine: AsyncEngine, staff_id: uuid.UUID) -> set[uuid.UUID]:
    return {r.id for r in await _rows(engine, staff_id, set())}


async def _read(
    proxied: httpx.AsyncClient, url: str, me: dict[str, str], client_ip: str, **extra: str
) -> httpx.Response:
    return await proxied.get(url, headers={**me, "X-Forwarded-For": client_ip, **extra})


def _stored(engine: AsyncEngine, staff_id: uuid.UUID, day: date) -> answer_cache.Entry | None:
    key = ("route", staff_id, day, vn_date(utcnow()))
    return answer_cache.lookup(engine_key(engine.sync_engine), key)


async def _repeat(
    proxied: httpx.AsyncClient,
    engine: AsyncEngine,
    staff_id: uuid.UUID,
    day: date,
    me: dict[str, str],
    ip: str,
) -> int:
    """The rows a re-read writes while the stored answer lives through it. A notification (another test's
    plan, the listener connecting) may drop it meanwhile: that read is then a new disclosure, recorded, and
    the next one is the repeat."""
    url = f"/api/v1/couriers/me/route?date={day.isoformat()}"
    for _ in range(5):
        entry, mark = _stored(engine, staff_id, day), await _mark(engine, staff_id)
        r = await _read(proxied, url, me, ip)
        assert r.status_code == 200, r.text
        if entry is not None and _stored(engine, staff_id, day) is entry:
            return len(await _rows(engine, staff_id, mark))
    raise AssertionError("the stored route never lived through a re-read")


async def test_each_disclosure_is_recorded_once_per_account_address_purpose_and_answer(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    day = next_weekday(35)
    username = await _published(client, engine, demo, day)
    staff_id = demo.staff[username].id
    me = await staff_headers(client, username)
    url = f"/api/v1/couriers/me/route?date={day.isoformat()}"
    async with _proxied(engine) as proxied:
        mark = await _mark(engine, staff_id)
        first = await _read(proxied, url, me, HERE)
        assert first.status_code == 200, first.text
        stops = first.json()["stops"]
        assert len(stops) == 3
        rows = await _rows(engine, staff_id, mark)
        # One row per citizen shown, naming them, the appointment, the fields and where the read came from.
        appointments = {s["appointment"]["id"] for s in stops}
        assert {r.resource for r in rows} == appointments and len(rows) == len(stops)
        async with session_factory(engine)() as session:
            ids = [uuid.UUID(a) for a in appointments]
            owners = {
                str(a.id): a.citizen_id
                for a in (await session.exec(select(Appointment).where(col(Appointment.id).in_(ids)))).all()
            }
        assert all(r.citizen_id == owners[r.resource] for r in rows if r.resource)
        assert all(r.client_ip == HERE and r.fields and r.staff_role == "courier" for r in rows)

        # The very same answer to the same account from the same address: nothing new disclosed, no row.
        assert await _repeat(proxied, engine, staff_id, day, me, HERE) == 0
        # A 304 shows nothing.
        mark = await _mark(engine, staff_id)
        unchanged = await _read(proxied, url, me, HERE, **{"If-None-Match": first.headers["etag"]})
        assert unchanged.status_code == 304
        assert not await _rows(engine, staff_id, mark)

        # From another client address: recorded again, once.
        mark = await _mark(engine, staff_id)
        there = await _read(proxied, url, me, THERE)
        assert there.status_code == 200 and there.content == first.content
        rows = await _rows(engine, staff_id, mark)
        assert len(rows) == 3 and all(r.client_ip == THERE for r in rows)
        assert await _repeat(proxied, engine, staff_id, day, me, THERE) == 0
        # Another stated purpose is another disclosure too.
        mark = await _mark(engine, staff_id)
        why = await _read(proxied, url, me, HERE, **{"X-Purpose": "goi-lai"})
        assert why.status_code == 200
        rows = await _rows(engine, staff_id, mark)
        assert len(rows) == 3 and all(r.purpose == "goi-lai" and r.client_ip == HERE for r in rows)

        # A stop changes: a new answer (new ETag), recorded again from the same address, then once.
        r = await client.post(f"/api/v1/couriers/me/stops/{stops[0]['id']}/start", headers=me)
        assert r.status_code == 200, r.text
        mark = await _mark(engine, staff_id)
        changed = await _read(proxied, url, me, HERE)
        assert changed.status_code == 200 and changed.headers["etag"] != first.headers["etag"]
        rows = await _rows(engine, staff_id, mark)
        assert len(rows) == 3 and all(r.client_ip == HERE and r.purpose is None for r in rows)
        assert await _repeat(proxied, engine, staff_id, day, me, HERE) == 0


async def _refuse_audit(engine: AsyncEngine, staff_id: uuid.UUID, on: bool) -> None:
    """A trigger of the database refusing this account's audit rows (on), or gone (off)."""
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            if on:
                await conn.execute(
                    text(
                        "CREATE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS "
                        "$$ BEGIN RAISE EXCEPTION 'audit refused (test)'; END $$"
                    )
                )
                await conn.execute(
                    text(
                        "CREATE TRIGGER test_refuse_audit BEFORE INSERT ON personal_data_access FOR EACH ROW "
                        f"WHEN (NEW.staff_id = '{staff_id}') EXECUTE FUNCTION test_refuse_audit()"
                    )
                )
            else:
                await conn.execute(text("DROP TRIGGER IF EXISTS test_refuse_audit ON personal_data_access"))
                await conn.execute(text("DROP FUNCTION IF EXISTS test_refuse_audit()"))
            return
    statements = ["DROP TRIGGER IF EXISTS test_refuse_audit"]
    if on:
        statements.append(
            "CREATE TRIGGER test_refuse_audit BEFORE INSERT ON personal_data_access "
            f"WHEN NEW.staff_id = '{staff_id.hex}' BEGIN SELECT RAISE(ABORT, 'audit refused (test)'); END"
        )
    run_fresh(engine, *statements)


def _refused(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "service_unavailable" and "stops" not in r.json()
    assert "etag" not in r.headers


async def test_a_route_whose_audit_cannot_be_written_is_not_sent(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    day = next_weekday(42)  # a week after the first test's: never the same Monday
    username = await _published(client, engine, demo, day)
    staff_id = demo.staff[username].id
    me = await staff_headers(client, username)
    url = f"/api/v1/couriers/me/route?date={day.isoformat()}"
    async with _proxied(engine) as proxied:
        mark = await _mark(engine, staff_id)
        try:
            await _refuse_audit(engine, staff_id, True)
            _refused(await _read(proxied, url, me, HERE))  # loaded from the database, audit refused at commit
        finally:
            await _refuse_audit(engine, staff_id, False)
        assert not await _rows(engine, staff_id, mark)
        sent = await _read(proxied, url, me, HERE)  # now written (the stored answer's reads, or loaded again)
        assert sent.status_code == 200 and len(sent.json()["stops"]) == 3
        assert len(await _rows(engine, staff_id, mark)) == 3
        try:
            await _refuse_audit(engine, staff_id, True)
            _refused(await _read(proxied, url, me, THERE))  # a new address: its rows refused, no route
            # The address already recorded is still served from the stored answer: that disclosure is in the
            # audit. (Were the answer dropped meanwhile, the read would be a new one, refused.)
            entry = _stored(engine, staff_id, day)
            here = await _read(proxied, url, me, HERE)
            if entry is not None and _stored(engine, staff_id, day) is entry:
                assert here.status_code == 200, here.text
            else:
                _refused(here)
        finally:
            await _refuse_audit(engine, staff_id, False)
        assert len(await _rows(engine, staff_id, mark)) == 3
        # The refused address was not taken as recorded: its next read writes its rows.
        assert (await _read(proxied, url, me, THERE)).status_code == 200
        rows = await _rows(engine, staff_id, mark)
        assert len(rows) == 6 and sum(r.client_ip == THERE for r in rows) == 3
