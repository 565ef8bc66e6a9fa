"""Fixtures for the notification tests: a fake FCM server, and empty notification tables on SQLite and
PostgreSQL (a database created for this run and dropped at the end; only this package's tables)."""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.fakes.fcm_server import FakeFcm
from notifications.push import FcmSender
from tests.notifications.support import create_tables, make_engine, pg_admin, pg_url

DATABASES = [d.strip() for d in os.environ.get("TEST_DATABASES", "sqlite,postgres").split(",") if d.strip()]


@pytest.fixture(scope="session")
def fake_fcm_server() -> Iterator[FakeFcm]:
    # TLS, HTTP/2 or HTTP/1.1 by ALPN, like fcm.googleapis.com (httpx speaks HTTP/2 only over TLS).
    with FakeFcm(project_id="hoso-test", tls=True) as fake:
        yield fake


@pytest.fixture(scope="session")
def service_account(fake_fcm_server: FakeFcm, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fake_fcm_server.write_service_account(tmp_path_factory.mktemp("firebase"))


@pytest.fixture
def fcm(fake_fcm_server: FakeFcm) -> FakeFcm:
    """The fake FCM server with its record and scripts cleared."""
    fake_fcm_server.clear()
    fake_fcm_server.delay = 0.0
    return fake_fcm_server


@pytest_asyncio.fixture(params=["1.1", "2"], ids=["http1", "http2"])
async def sender(
    request: pytest.FixtureRequest, fcm: FakeFcm, service_account: Path
) -> AsyncIterator[FcmSender]:
    """The production sender on each wire: our HTTP/1.1 pool (the default) and httpx's HTTP/2."""
    s = FcmSender(
        str(service_account),
        base_url=fcm.send_base_url,
        ca_file=fcm.ca_file,
        link_base="https://dichvu.example.vn/app",
        http=request.param,
    )
    yield s
    await s.aclose()


@pytest.fixture(scope="session")
def pg_notif_url() -> Iterator[str]:
    """A database of our own for this run (other engineers' tests run in parallel on the same server)."""
    name = f"test_notif_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def create() -> str:
        await pg_admin(f'CREATE DATABASE "{name}"')
        url = pg_url(name)
        engine = make_engine(url)
        await create_tables(engine)
        await engine.dispose()
        return url

    try:
        url = asyncio.run(create())
    except OSError as exc:
        pytest.exit(f"PostgreSQL unreachable for notification tests: {exc}", returncode=3)
    yield url
    asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=DATABASES)
def notif_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def notif_db(notif_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """URL of empty notification tables (a fresh SQLite file, or the run's PostgreSQL database emptied)."""
    if notif_kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'notif.db'}"
        statement = None
    else:
        url = request.getfixturevalue("pg_notif_url")
        statement = "TRUNCATE notification_delivery, notification, device_target"

    async def prepare() -> None:
        engine = make_engine(url)
        if statement is None:
            await create_tables(engine)
        else:
            async with engine.begin() as conn:
                await conn.execute(text(statement))
        await engine.dispose()

    asyncio.run(prepare())
    return url


@pytest_asyncio.fixture
async def db(notif_db: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(notif_db)
    yield engine
    await engine.dispose()
