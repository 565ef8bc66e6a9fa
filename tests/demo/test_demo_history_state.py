"""The demo history's loading state (``demo_history``, ``GET /health``) and an interrupted load finished by the
next start (``backend/demo/background.py``): a fresh database with the demo day but no history yet, then
``make run``'s loader called here (in ``make run`` a child process) with small chunks.

- before any load: ``absent``; a load started by ``seed_all(history_later=True)``: ``loading`` at once;
- the service ending after the first chunk: the row stays ``loading`` with exactly the dossiers written;
- the next start (``seed_all`` again) starts the loader, which writes the rest: the same rows an uninterrupted
  load writes (ids and serials), none twice; ``done``;
- an error in a chunk: ``failed`` with the exception's type only, and the next load finishes it."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from backend.app import create_app
from backend.catalogue.calendar_service import working_calendar
from backend.db import make_engine, session_factory
from backend.demo import background, history, seed_all
from backend.demo.background import demo_context
from backend.settings import Settings
from schemas.catalogue import Procedure
from schemas.dossiers import Dossier, DossierEvent
from schemas.ops import DemoHistory
from tests.conftest import DEMO_PASSWORD, create_database, lifespan

pytestmark = pytest.mark.asyncio(loop_scope="session")
ROWS = 700
CHUNK = 150


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fresh(db_kind: str, tmp_root: Path) -> AsyncIterator[AsyncEngine]:
    url, drop = await create_database(db_kind, tmp_root)
    engine = make_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()
        await drop()


async def _health(engine: AsyncEngine) -> dict[str, Any]:
    app = create_app(Settings(database_url=str(engine.url)), engine=engine)
    async with (
        lifespan(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,  # type: ignore[arg-type]
    ):
        r = await c.get("/health")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()["demo_history"]
    return body


async def _state(engine: AsyncEngine) -> DemoHistory:
    async with session_factory(engine)() as s:
        row = await s.get(DemoHistory, "82")
    assert row is not None
    return row


async def _history_ids(engine: AsyncEngine) -> list[Any]:
    async with session_factory(engine)() as s:
        rows = await s.execute(
            select(col(Dossier.id)).where(Dossier.data["source"].as_string() == history.SOURCE)  # type: ignore[index]
        )
        return sorted(rows.scalars().all())


async def test_interrupted_load_is_finished_by_the_next_start(
    fresh: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = fresh
    url = engine.url.render_as_string(hide_password=False)
    started: list[tuple[str, int]] = []
    monkeypatch.setattr(
        background, "start", lambda _url, code, rows, _health="": started.append((code, rows))
    )
    monkeypatch.setattr(background, "CHUNK", CHUNK)
    assert await _health(engine) == {"state": "absent", "dossiers_written": 0, "dossiers_planned": 0}

    loaded = await seed_all(engine, password=DEMO_PASSWORD, history_rows=ROWS, history_later=True)
    assert started == [("82", ROWS)] and "loading" in loaded["history"]
    assert (await _health(engine))["state"] == "loading"  # from the moment the loader is started
    generated_for = (await _state(engine)).generated_for

    # the service ends after the first chunk (``parent`` is not this process's parent): the row says so
    got = await background.load(url, "82", ROWS, parent=-1)
    assert got["dossiers"] == CHUNK and got["resumed_from"] == 0
    row = await _state(engine)
    assert row.state == "loading" and row.dossiers_written == CHUNK and row.dossiers_planned > CHUNK
    ids = await _history_ids(engine)
    assert len(ids) == CHUNK  # exactly what the row says
    async with session_factory(engine)() as s:
        mine = select(func.count()).select_from(DossierEvent).where(col(DossierEvent.dossier_id).in_(ids))
        events = (await s.execute(mine)).scalar_one()
    assert events == row.events_written
    status = await _health(engine)
    assert status == {"state": "loading", "dossiers_written": CHUNK, "dossiers_planned": row.dossiers_planned}

    # the next start notices and starts the loader again; it finishes from the last committed chunk
    again = await seed_all(engine, password=DEMO_PASSWORD, history_rows=ROWS, history_later=True)
    assert again["demo"] == "already loaded" and "finishing" in again["history"]
    assert started[-1] == ("82", ROWS)
    got = await background.load(url, "82", ROWS)
    row = await _state(engine)
    assert got["resumed_from"] == CHUNK and got["dossiers"] == row.dossiers_planned
    assert row.state == "done" and row.dossiers_written == row.dossiers_planned and row.finished_at
    assert row.generated_for == generated_for  # the same load, not a new one

    # the same rows an uninterrupted load of that instant writes, none twice
    async with session_factory(engine)() as s:
        ctx = await demo_context(s, "82")
        procedures = list((await s.execute(select(Procedure).order_by(Procedure.code))).scalars().all())
        cal = await working_calendar(s)
        taken = await history.taken_serials(s)
    ours = set(await _history_ids(engine))
    async with session_factory(engine)() as s:
        items = (
            await s.execute(select(col(Dossier.item_id)).where(col(Dossier.id).in_(list(ours))))
        ).scalars()
        serials = {int(i[2:10]) for i in items}  # the serials taken before the load: all but its own
    whole = history.generate(ctx, procedures, cal, ROWS, generated_for, taken - serials)
    assert sorted(d["id"] for d in whole.dossiers) == sorted(ours)
    assert len(ours) == row.dossiers_written
    assert await _health(engine) == {
        "state": "done",
        "dossiers_written": row.dossiers_written,
        "dossiers_planned": row.dossiers_written,
    }
    # a start after that changes nothing
    started.clear()
    assert "history" not in await seed_all(engine, password=DEMO_PASSWORD, history_later=True)
    assert started == []


async def test_a_failed_load_says_so_and_is_finished_next_time(
    fresh: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = fresh
    url = engine.url.render_as_string(hide_password=False)
    monkeypatch.setattr(background, "CHUNK", CHUNK)
    # the first test's history gone (a history's ids come from the province's seed: a second one of another
    # size may repeat some), so this load starts afresh
    ids = await _history_ids(engine)
    async with session_factory(engine)() as s:
        await s.execute(delete(DossierEvent).where(col(DossierEvent.dossier_id).in_(ids)))
        await s.execute(delete(Dossier).where(col(Dossier.id).in_(ids)))
        await s.execute(delete(DemoHistory))
        await s.commit()
    assert (await _health(engine))["state"] == "absent"
    before = len(await _history_ids(engine))
    real = background._write_chunk
    calls = 0

    async def failing(session: Any, row: Any, made: history.History, a: int, b: int) -> bool:
        """The second chunk breaks half-way: its state update and dossiers are in, then an event repeats
        an id already written (the database refuses it), so its transaction rolls back whole."""
        nonlocal calls
        calls += 1
        if calls == 2:
            events = list(made.events)
            first = made.event_ends[a - 1]
            events[first + 1] = {**events[first + 1], "id": events[first - 1]["id"]}
            made = history.History(made.dossiers, events, made.event_ends)
        return await real(session, row, made, a, b)

    monkeypatch.setattr(background, "_write_chunk", failing)
    with pytest.raises(IntegrityError):
        await background.load(url, "82", 400)
    row = await _state(engine)
    assert row.state == "failed" and row.error == "IntegrityError" and row.dossiers_written == CHUNK
    assert (await _health(engine))["state"] == "failed"
    assert len(await _history_ids(engine)) == before + CHUNK  # the failed chunk left nothing

    monkeypatch.setattr(background, "_write_chunk", real)
    got = await background.load(url, "82", 400)
    row = await _state(engine)
    assert got["resumed_from"] == CHUNK and row.state == "done" and row.error is None
    assert len(await _history_ids(engine)) == before + row.dossiers_planned
