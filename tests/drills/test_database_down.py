"""Drill 6 in small: a database that cannot be reached at all (PostgreSQL restarting, or cut off: nothing
listens) answers 503 ``database_unavailable`` with ``Retry-After``, never a 500 (before the fix the driver's
``ConnectionRefusedError`` reached the catch-all handler). Real asyncpg connecting to a closed port; the whole
drill, with recovery and the change listener, is ``python -m bench.drills pgcut``."""

import socket

import httpx

from backend.lib.problems import _from_database_driver
from tests.conftest import lifespan


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_an_unreachable_database_is_a_503_problem_not_a_500() -> None:
    from backend.app import create_app
    from backend.settings import Settings

    dead = f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/test"
    app = create_app(Settings(database_url=dead))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
    async with lifespan(app), httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        r = await c.post("/api/v1/auth/staff/login", json={"username": "desk01", "password": "demo1234"})
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "database_unavailable" and r.headers["Retry-After"] == "1"
    assert r.headers["content-type"].startswith("application/problem+json")


def test_only_errors_raised_from_a_database_driver_count_as_the_database() -> None:
    try:
        open("/nonexistent/dir/file")  # noqa: SIM115 - an OS error of our own, not the database's
    except OSError as exc:
        assert not _from_database_driver(exc)
