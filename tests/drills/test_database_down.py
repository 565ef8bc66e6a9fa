"""Drill 6 in small: a database that cannot be reached at all (PostgreSQL restarting, or cut off: nothing
listens) answers 503 ``database_unavailable`` with ``Retry-After``, never a 500 (before the fix the driver's
``ConnectionRefusedError`` reached the catch-all handler). Real asyncpg connecting to a closed port; the whole
drill, with recovery and the change listener, is ``python -m bench.drills pgcut``."""

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator

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


@contextlib.asynccontextmanager
async def _starting_up_server() -> AsyncIterator[int]:
    """A PostgreSQL server in the middle of a restart, as far as a client can tell: it refuses SSL ('N') and
    answers the startup message with the FATAL error PostgreSQL sends then (SQLSTATE 57P03, "the database
    system is starting up"; protocol 3.0 ErrorResponse). Yields its port."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while True:
                length = struct.unpack("!i", await reader.readexactly(4))[0]
                body = await reader.readexactly(length - 4)
                if struct.unpack("!i", body[:4])[0] == 80877103:  # SSLRequest
                    writer.write(b"N")
                    continue
                fields = b"".join(
                    k + v.encode() + b"\0"
                    for k, v in (
                        (b"S", "FATAL"),
                        (b"V", "FATAL"),
                        (b"C", "57P03"),
                        (b"M", "the database system is starting up"),
                    )
                )
                writer.write(b"E" + struct.pack("!i", len(fields) + 5) + fields + b"\0")
                await writer.drain()
                break
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await server.wait_closed()


async def test_a_database_starting_up_or_shutting_down_is_a_503_problem_not_a_500() -> None:
    # Found by the PostgreSQL-restart drill (bench/drills/pg_real_restart.py): during ``pg_ctl restart`` asyncpg's
    # connect raised CannotConnectNowError (57P03), which SQLAlchemy does not wrap, and reads answered 500.
    from backend.app import create_app
    from backend.settings import Settings

    async with _starting_up_server() as port:
        app = create_app(Settings(database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{port}/test"))
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
        async with lifespan(app), httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            r = await c.post("/api/v1/auth/staff/login", json={"username": "desk01", "password": "demo1234"})
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "database_unavailable" and r.headers["Retry-After"] == "1"


def test_a_sqlstate_of_class_57_from_our_own_code_is_not_taken_for_the_database() -> None:
    from backend.lib.problems import _server_unavailable

    class Refused(Exception):
        sqlstate = "57P03"

    try:
        raise Refused
    except Refused as exc:
        assert not _server_unavailable(exc)  # not raised from a database driver's frames


def test_only_errors_raised_from_a_database_driver_count_as_the_database() -> None:
    try:
        open("/nonexistent/dir/file")  # noqa: SIM115 - an OS error of our own, not the database's
    except OSError as exc:
        assert not _from_database_driver(exc)
