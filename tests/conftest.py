"""Test fixtures: every API test runs against SQLite and PostgreSQL.

``TEST_DATABASES`` (default ``sqlite,postgres``) picks the engines; ``TEST_DATABASE_URL`` (default the local
``test`` database on 127.0.0.1:5432) is where a fresh, uniquely named database is created for this run and
dropped afterwards. If PostgreSQL is asked for and unreachable, the run stops with a clear message.

``TEST_CLOCK_AT`` (an ISO time with its offset, e.g. ``2026-12-31T23:58:30+07:00``) runs the suite with Python's
clock moved there and ticking, to catch tests that hold only on some days or hours (holidays, weekends,
Vietnam's midnight, after closing time). Run it on ``tests/api tests/unit``: the fake FCM server's TLS
certificate is checked by OpenSSL against the real clock, and routing's worker processes keep the real clock.
"""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

os.environ.setdefault("APP_ENV", "test")
# The demo's citizens (+84900000001…099), and numbers no demo citizen has (+84920000001…099): a test that needs
# a citizen no other test has touched takes one of those.
os.environ.setdefault("OTP_TEST_NUMBERS", "+84900000001-+84900000099:123456,+84920000001-+84920000099:123456")
os.environ.setdefault("AUTH_RATE_PER_MINUTE", "1000000")
os.environ.setdefault("AUTH_ACCOUNT_RATE_PER_HOUR", "1000000")
# Public reads per client and second (backend/lib/answer_cache.py): every test client is one address.
os.environ.setdefault("PUBLIC_RATE_PER_S", "1000000")
os.environ.setdefault("PUBLIC_RATE_BURST", "1000000")
os.environ.setdefault("RUN_DISPATCHER", "false")
os.environ.setdefault("SECRET_KEY", "test-secret-" + "x" * 32)

import httpx
import pytest_asyncio
from litestar import Litestar
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from tests import openapi_check

# Property tests are reproducible in CI (same examples every run); HYPOTHESIS_PROFILE=explore searches anew.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
hypothesis_settings.register_profile("explore", deadline=None, max_examples=1000)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

if os.environ.get("TEST_CLOCK_AT"):
    from datetime import datetime

    import time_machine

    moved_to = datetime.fromisoformat(os.environ["TEST_CLOCK_AT"])
    if moved_to.tzinfo is None:
        raise pytest.UsageError("TEST_CLOCK_AT needs a UTC offset, e.g. 2026-12-31T23:58:30+07:00")
    time_machine.travel(moved_to, tick=True).start()

PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
DATABASES = [d.strip() for d in os.environ.get("TEST_DATABASES", "sqlite,postgres").split(",") if d.strip()]
DEMO_PASSWORD = "demo1234"


def _pg_admin_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", PG_DEFAULT)


async def _pg_exec(sql: str) -> None:
    import asyncpg

    from backend.lib.pgadmin import connect

    try:
        conn = await connect(_pg_admin_url(), connect_timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.exit(
            f"PostgreSQL is unreachable at {_pg_admin_url()} ({exc}). Start it, set TEST_DATABASE_URL, "
            "or run only SQLite with TEST_DATABASES=sqlite.",
            returncode=3,
        )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create_database(kind: str, tmp: Path) -> tuple[str, Any]:
    """A fresh database URL with migrations applied, and a cleanup coroutine factory."""
    from backend.migrations import upgrade_async

    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / f'test-{uuid.uuid4().hex[:8]}.db'}"

        async def drop_sqlite() -> None:
            return None

        await upgrade_async(url)
        return url, drop_sqlite
    name = f"hoso_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await _pg_exec(f'CREATE DATABASE "{name}"')
    url = make_url(_pg_admin_url()).set(database=name).render_as_string(hide_password=False)

    async def drop_pg() -> None:
        await _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    await upgrade_async(url)
    return url, drop_pg


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("db")


@pytest.fixture(scope="session", params=DATABASES)
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def database_url(db_kind: str, tmp_root: Path) -> AsyncIterator[str]:
    url, drop = await create_database(db_kind, tmp_root)
    yield url
    await drop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a migrated database holding the reference data and the demo province (no demo day)."""
    from backend.db import make_engine, session_factory
    from backend.demo.province import seed_province
    from backend.demo.reference import load_reference

    eng = make_engine(database_url)
    factory = session_factory(eng)
    async with factory() as session:
        await load_reference(session)
    async with factory() as session:
        ctx = await seed_province(session, password=DEMO_PASSWORD, citizens=120)
        await session.commit()
    _demo[str(eng.url)] = ctx
    yield eng
    await eng.dispose()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def app(engine: AsyncEngine) -> Litestar:
    from backend.app import create_app
    from backend.settings import Settings

    return create_app(Settings(database_url=str(engine.url)), engine=engine)


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """Runs the ASGI lifespan of ``app`` in this event loop (Litestar's test clients run the app in a
    portal thread, which serialises requests; we need real concurrency and one loop for asyncpg)."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def receive() -> dict[str, Any]:
        return await inbox.get()

    async def send(message: Any) -> None:
        await outbox.put(dict(message))

    scope: Any = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, receive, send))  # type: ignore[arg-type]
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    assert started["type"] == "lifespan.startup.complete", started
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        # Every answer checked against the OpenAPI document (tests/openapi_check.py; VALIDATE_RESPONSES=0: off).
        hooks = openapi_check.response_hooks(app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", timeout=120, event_hooks=hooks
        ) as c:
            c.app = app  # type: ignore[attr-defined]
            yield c


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if openapi_check.enabled():
        terminalreporter.write_line(openapi_check.summary())


@pytest.fixture(scope="session")
def demo(engine: AsyncEngine) -> Any:
    """The ``DemoContext`` of the seeded province (post offices, staff, citizens...)."""
    return _demo[str(engine.url)]


_demo: dict[str, Any] = {}
_token_cache: dict[tuple[str, str], str] = {}


async def staff_headers(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    key = (str(client.app.state.engine.url), username)  # type: ignore[attr-defined]
    if key not in _token_cache:
        r = await client.post(
            "/api/v1/auth/staff/login", json={"username": username, "password": DEMO_PASSWORD}
        )
        assert r.status_code == 200, r.text
        _token_cache[key] = r.json()["access_token"]
    return {"Authorization": f"Bearer {_token_cache[key]}"}


async def citizen_headers(client: httpx.AsyncClient, phone: str) -> dict[str, str]:
    key = (str(client.app.state.engine.url), phone)  # type: ignore[attr-defined]
    if key not in _token_cache:
        r = await client.post("/api/v1/auth/citizen/verify", json={"phone": phone, "code": "123456"})
        assert r.status_code == 200, r.text
        _token_cache[key] = r.json()["access_token"]
    return {"Authorization": f"Bearer {_token_cache[key]}"}
