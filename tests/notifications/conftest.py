"""Fixtures for the notification tests: a fake FCM server reached at Google's own address, and empty
notification tables on SQLite and PostgreSQL (a database created for this run and dropped at the end; only
this package's tables).

The sender talks to ``https://fcm.googleapis.com`` as in production. While this package's tests run,
``HTTPS_PROXY`` names a loopback CONNECT proxy that tunnels that name to the fake (TLS, HTTP/2, a certificate
from a test CA the process trusts through ``SSL_CERT_FILE``), and the tests run on ``ProxyingLoop``, which
applies ``HTTPS_PROXY`` for firebase-admin's async client (it ignores the variable: ``bench/fakes/proxy.py``).
"""

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
from bench.fakes.proxy import ConnectProxy, ProxyingLoop
from bench.fakes.tlsca import TestCA
from notifications.push import FcmSender
from tests.notifications.support import create_tables, make_engine, pg_admin, pg_url

DATABASES = [d.strip() for d in os.environ.get("TEST_DATABASES", "sqlite,postgres").split(",") if d.strip()]


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, object]:
    # This package's tests only (a conftest hook): the sender connects from the test's own event loop.
    return {"proxying": ProxyingLoop}


@pytest.fixture(scope="session")
def google_ca() -> TestCA:
    return TestCA()


@pytest.fixture(scope="session")
def fake_fcm_server(google_ca: TestCA) -> Iterator[FakeFcm]:
    with FakeFcm(project_id="hoso-test", ca=google_ca) as fake:
        yield fake


@pytest.fixture(scope="session")
def google_proxy(fake_fcm_server: FakeFcm) -> Iterator[ConnectProxy]:
    with ConnectProxy(fake_fcm_server.routes) as proxy:
        yield proxy


@pytest.fixture(scope="package", autouse=True)
def through_google_proxy(google_proxy: ConnectProxy, google_ca: TestCA) -> Iterator[ConnectProxy]:
    """This process and the workers it spawns send Google's traffic through the proxy (undone afterwards)."""
    mp = pytest.MonkeyPatch()
    for name, value in google_proxy.env(str(google_ca.bundle)).items():
        mp.setenv(name, value)
    yield google_proxy
    mp.undo()


@pytest.fixture(scope="session")
def service_account(fake_fcm_server: FakeFcm, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fake_fcm_server.write_service_account(tmp_path_factory.mktemp("firebase"))


@pytest.fixture
def fcm(fake_fcm_server: FakeFcm, google_proxy: ConnectProxy) -> FakeFcm:
    """The fake FCM server with its record and scripts cleared."""
    fake_fcm_server.clear()
    fake_fcm_server.delay = 0.0
    google_proxy.clear()
    return fake_fcm_server


@pytest_asyncio.fixture
async def sender(fcm: FakeFcm, service_account: Path) -> AsyncIterator[FcmSender]:
    """The production sender, at FCM's real address."""
    s = FcmSender(str(service_account), link_base="https://dichvu.example.vn/app")
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
