"""Two API services (``python -m backend serve``, one process each, on two ports) on one fresh PostgreSQL
database seeded with the reference data and the demo province: the stateless web tier of issue 24, as
``tests/api/test_two_instances.py`` and ``tests/api/test_public_reads.py`` use it.

The services share Redis db 12 (``REDIS_URL``); their sign-in limit per account is ``ACCOUNT_LIMIT`` an hour.
"""

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx

from tests.conftest import DEMO_PASSWORD, create_database

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/12"
ACCOUNT_LIMIT = 6  # AUTH_ACCOUNT_RATE_PER_HOUR of both instances


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(proc: subprocess.Popen[bytes], port: int, *, within_s: float = 90) -> None:
    """Until the service on ``port`` answers ``/health`` (fails if it exits or takes over ``within_s``)."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert proc.poll() is None, "the server exited"
        assert time.monotonic() < deadline, "the server did not come up"
        time.sleep(0.2)


@contextmanager
def instances(database_url: str, log: Path, **settings: str) -> Iterator[list[int]]:
    """Two services on ``database_url``, up (``/health`` answers) when this yields their ports; ``settings``
    (environment variables) override the defaults here, e.g. another ``REDIS_URL``."""
    ports = [free_port(), free_port()]
    procs = []
    for port in ports:
        env = {
            **os.environ,
            "APP_ENV": "test",
            "DATABASE_URL": database_url,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "WEB_CONCURRENCY": "1",
            "RUN_DISPATCHER": "false",
            "REDIS_URL": REDIS_URL,
            "AUTH_RATE_PER_MINUTE": "1000000",
            "AUTH_ACCOUNT_RATE_PER_HOUR": str(ACCOUNT_LIMIT),
            **settings,
        }
        with log.open("ab") as out:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "backend", "serve"], cwd=ROOT, env=env, stdout=out, stderr=out
                )
            )
    try:
        for proc, port in zip(procs, ports, strict=True):
            wait_up(proc, port)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


@dataclass
class TwoServices:
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient]
    demo: Any  # what seed_province returned (the demo province's organisations and accounts)
    log: Path  # both services' output


@asynccontextmanager
async def two_services(tmp: Path, *, citizens: int) -> AsyncIterator[TwoServices]:
    """A fresh PostgreSQL database (whatever TEST_DATABASES says: the services share it) with the reference data
    and the demo province of ``citizens`` citizens, two services on it and a client of each. The database is
    dropped afterwards."""
    from backend.db import make_engine, session_factory
    from backend.demo.province import seed_province
    from backend.demo.reference import load_reference

    url, drop = await create_database("postgres", tmp)
    engine = make_engine(url)
    try:
        factory = session_factory(engine)
        async with factory() as session:
            await load_reference(session)
        async with factory() as session:
            demo = await seed_province(session, password=DEMO_PASSWORD, citizens=citizens)
            await session.commit()
        with instances(url, tmp / "servers.log") as ports:
            clients = []
            for port in ports:
                c = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30)
                # The suite's helpers cache tokens per app: one key per instance (and per database).
                state = SimpleNamespace(engine=SimpleNamespace(url=f"{tmp.name}:{port}"))
                c.app = SimpleNamespace(state=state)  # type: ignore[attr-defined]
                clients.append(c)
            try:
                yield TwoServices((clients[0], clients[1]), demo, tmp / "servers.log")
            finally:
                for c in clients:
                    await c.aclose()
    finally:
        await engine.dispose()
        await drop()
