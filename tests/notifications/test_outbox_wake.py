"""The dispatch worker is woken by notices, not only by its poll (issue 24; migration 0030, backend/notices/wake.py).

Each test runs ``backend.notices.worker.run`` (the code of ``python -m backend dispatch``) on a migrated database
with the production sender against the fake FCM, and polling every 60 s: a notice delivered within 10 s can only
have come through a wake. Notices written "elsewhere" go in through a raw asyncpg connection, which none of this
process's SQLAlchemy hooks see (as another process's insert).
"""

import asyncio
import os
import random
import time
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import engine_key
from backend.lib import pgnotify
from backend.migrations import upgrade_async
from backend.notices import worker
from backend.settings import Settings
from bench.fakes.fcm_server import FakeFcm
from tests.notifications.support import add_devices, enqueue_result_ready, make_engine, pg_admin, pg_url

DATABASES = [d.strip() for d in os.environ.get("TEST_DATABASES", "sqlite,postgres").split(",") if d.strip()]
WITHIN_S = 10.0  # far under the 60 s poll: only a wake delivers in time
LONG_POLL_S = 60.0


def in_thread(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` to its end on a loop of its own (a fixture asked for from inside a running test loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="module")
def pg_migrated() -> Iterator[str]:
    if "postgres" not in DATABASES:
        pytest.skip("PostgreSQL not among TEST_DATABASES")
    name = f"test_wake_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    in_thread(pg_admin(f'CREATE DATABASE "{name}"'))
    url = pg_url(name)
    in_thread(upgrade_async(url))
    yield url
    in_thread(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def sqlite_migrated(tmp_path_factory: pytest.TempPathFactory) -> str:
    if "sqlite" not in DATABASES:
        pytest.skip("SQLite not among TEST_DATABASES")
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('wake') / 'wake.db'}"
    in_thread(upgrade_async(url))
    return url


@pytest_asyncio.fixture
async def pg(pg_migrated: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(pg_migrated)
    yield engine
    await engine.dispose()


def settings(service_account: Path, url: str) -> Settings:
    return Settings(database_url=url, firebase_credentials=str(service_account))


class Running:
    """``worker.run`` as a task (no due-soon sweep)."""

    def __init__(self, engine: AsyncEngine, service_account: Path, **kw: Any) -> None:
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(
            worker.run(
                engine, self.stop, sweep=False, settings=settings(service_account, str(engine.url)), **kw
            )
        )

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 15)


def _dsn(engine: AsyncEngine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


async def insert_elsewhere(engine: AsyncEngine, citizen: uuid.UUID) -> uuid.UUID:
    """A pending notice committed through a connection of its own (no SQLAlchemy: no hook of this process)."""
    nid = uuid.uuid4()
    conn = await asyncpg.connect(_dsn(engine))
    try:
        await conn.execute(
            """
            INSERT INTO notification (id, recipient_kind, recipient_id, template, params, title_vi, body_vi,
                title_en, body_en, priority, data_only, status, attempts, next_attempt_at, created_at)
            VALUES ($1, 'citizen', $2, 'dossier.result_ready', '{"item_id": "HS123456785VN"}',
                'Đã có kết quả hồ sơ', 'Kết quả đã sẵn sàng.', 'Result ready', 'The result is ready.',
                'normal', false, 'pending', 0, now(), now())
            """,
            nid,
            citizen,
        )
    finally:
        await conn.close()
    return nid


async def delivered_within(fcm: FakeFcm, token: str, limit_s: float) -> float:
    """Seconds until the fake FCM acknowledged a message to ``token``; fails past ``limit_s``."""
    t0 = time.monotonic()
    while not any(r.acknowledged for r in fcm.for_token(token)):
        if time.monotonic() - t0 > limit_s:
            raise AssertionError(f"no push to {token} within {limit_s} s")
        await asyncio.sleep(0.01)
    return time.monotonic() - t0


async def listeners(engine: AsyncEngine) -> list[int]:
    """Backend pids of the sessions listening to hoso_outbox on this database (their last statement)."""
    conn = await asyncpg.connect(_dsn(engine))
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%hoso_outbox%'"
        )
    finally:
        await conn.close()
    return [r["pid"] for r in rows]


async def until_listening(engine: AsyncEngine, count: int = 1) -> list[int]:
    for _ in range(500):
        pids = await listeners(engine)
        if len(pids) >= count:
            await asyncio.sleep(0.5)  # the pass the listener's connect asks for is over
            return pids
        await asyncio.sleep(0.02)
    raise AssertionError("the dispatch worker never listened to hoso_outbox")


async def device(engine: AsyncEngine) -> tuple[uuid.UUID, str]:
    who = uuid.uuid4()
    token = f"wake-{who.hex[:12]}"
    await add_devices(engine, [("citizen", who, token, "android")])
    return who, token


async def test_a_notice_committed_elsewhere_wakes_the_dispatch_worker(
    pg: AsyncEngine, fcm: FakeFcm, service_account: Path
) -> None:
    who, token = await device(pg)
    run = Running(pg, service_account, poll_s=LONG_POLL_S)
    try:
        await until_listening(pg)
        await insert_elsewhere(pg, who)
        took = await delivered_within(fcm, token, WITHIN_S)
    finally:
        await run.close()
    assert took < WITHIN_S
    assert await listeners(pg) == []  # the worker's listener left with it


async def test_after_the_listener_is_back_a_pass_runs_at_once(
    pg: AsyncEngine, fcm: FakeFcm, service_account: Path
) -> None:
    """A notice committed while the listener is down (its NOTIFY reaches nobody) goes when it reconnects."""
    who, token = await device(pg)
    run = Running(pg, service_account, poll_s=LONG_POLL_S)
    try:
        [pid] = await until_listening(pg)
        conn = await asyncpg.connect(_dsn(pg))
        try:
            assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await conn.close()
        # The drop wakes the dispatchers too: its pass is over before the notice is committed, else that pass
        # (a woken pass waits worker.GATHER_S first) rather than the reconnection's may be the one to find it.
        for _ in range(100):
            if pid not in await listeners(pg):
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.5)
        assert await listeners(pg) == []  # still down: it reconnects after pgnotify.RECONNECT_S (2 s)
        await insert_elsewhere(pg, who)
        await delivered_within(fcm, token, WITHIN_S)  # reconnects after pgnotify.RECONNECT_S (2 s)
        assert [p for p in await listeners(pg) if p != pid]  # a new listening session
    finally:
        await run.close()


async def test_without_a_listener_the_poll_still_delivers(
    pg: AsyncEngine, fcm: FakeFcm, service_account: Path
) -> None:
    who, token = await device(pg)
    run = Running(pg, service_account, listen=False, poll_s=0.5)
    try:
        await asyncio.sleep(0.5)
        assert await listeners(pg) == []  # the NOTIFY of the insert reaches nobody
        await insert_elsewhere(pg, who)
        await delivered_within(fcm, token, WITHIN_S)
    finally:
        await run.close()


@pytest.mark.parametrize("kind", DATABASES)
async def test_a_commit_in_this_process_wakes_its_dispatcher(
    kind: str, request: pytest.FixtureRequest, fcm: FakeFcm, service_account: Path
) -> None:
    """The embedded service (make run: SQLite, no NOTIFY): the commit that enqueued wakes the dispatcher."""
    url = request.getfixturevalue("sqlite_migrated" if kind == "sqlite" else "pg_migrated")
    engine = make_engine(url)
    try:
        who, token = await device(engine)
        run = Running(engine, service_account, listen=False, poll_s=LONG_POLL_S)
        try:
            await asyncio.sleep(0.5)  # the first pass is over: the worker waits for a wake or 60 s
            await enqueue_result_ready(engine, who)
            await delivered_within(fcm, token, WITHIN_S)
        finally:
            await run.close()
    finally:
        await engine.dispose()


async def test_a_notice_committed_during_a_pass_is_not_left_to_the_poll(
    pg: AsyncEngine, fcm: FakeFcm, service_account: Path
) -> None:
    """The wake of a notice committed after a pass's claim looked (while that pass's push is in flight) makes the
    next pass run at once (notifications/dispatcher.py clears its wake before a pass, not after)."""
    first, first_token = await device(pg)
    second, second_token = await device(pg)
    fcm.delay = 1.0
    run = Running(pg, service_account, poll_s=LONG_POLL_S)
    try:
        await until_listening(pg)
        await insert_elsewhere(pg, first)
        for _ in range(500):  # the first notice is claimed and its request is at the fake
            if fcm.for_token(first_token):
                break
            await asyncio.sleep(0.01)
        await insert_elsewhere(pg, second)
        await delivered_within(fcm, second_token, WITHIN_S)
    finally:
        fcm.delay = 0.0
        await run.close()


async def test_a_stream_of_notices_leaves_none_to_the_poll(
    pg: AsyncEngine, fcm: FakeFcm, service_account: Path
) -> None:
    """Notices committed by four connections at random moments, some while passes are under way: with a 60 s
    poll every one still goes within seconds (a wake lost between a pass and the wait would leave one behind)."""
    people = [await device(pg) for _ in range(60)]
    rng = random.Random(24)
    run = Running(pg, service_account, poll_s=LONG_POLL_S)

    async def writer(mine: list[tuple[uuid.UUID, str]]) -> None:
        for who, _token in mine:
            await asyncio.sleep(rng.uniform(0, 0.05))
            await insert_elsewhere(pg, who)

    try:
        await until_listening(pg)
        await asyncio.gather(*(writer(people[i::4]) for i in range(4)))
        for _who, token in people:
            await delivered_within(fcm, token, WITHIN_S)
    finally:
        await run.close()


@pytest.mark.parametrize("run_dispatcher", [True, False])
async def test_the_app_hears_notices_only_where_it_dispatches(pg: AsyncEngine, run_dispatcher: bool) -> None:
    """RUN_DISPATCHER=false (the API processes of a deployment with dispatch processes): the app's listener
    keeps the caches' channels but not hoso_outbox, which would reach it for nothing at every notice."""
    app = SimpleNamespace(state=SimpleNamespace(engine=pg, settings=Settings(run_dispatcher=run_dispatcher)))
    db = engine_key(pg.sync_engine)
    async with pgnotify.lifespan_hook(app):
        for _ in range(500):
            if pgnotify.listening(db):
                break
            await asyncio.sleep(0.02)
        assert pgnotify.listening(db)
        assert len(await listeners(pg)) == (1 if run_dispatcher else 0)
