"""What the drills share: a throwaway PostgreSQL database, the service started as production runs it, citizens'
tokens, a booking burst and the invariants checked afterwards.

* The database: ``CREATE DATABASE hoso_drill_<pid>_<hex>`` on ``DRILL_DATABASE_URL`` (default the local
  ``test`` server, like ``bench/booking.py``), migrated and seeded with the demo province; dropped
  ``WITH (FORCE)`` at the end whatever happened.
* The service: ``python -m backend serve`` (``backend/server.py``: Granian, ``WEB_CONCURRENCY`` worker processes
  forked by one parent) on a free 127.0.0.1 port, with ``REDIS_URL`` on the local Redis (db ``DRILL_REDIS_DB``,
  default 13, not the suite's nor the booking bench's) unless a drill says otherwise.
"""

import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from backend.lib.pgadmin import PG_DEFAULT, admin_exec

ROOT = Path(__file__).resolve().parents[2]
PHONES = [f"+849000{n:05d}" for n in range(1, 41)]
OTP = "+84900000001-+84900000099:123456"
PROCEDURE = "1.004859"


@dataclass
class Outcome:
    """One row of the drills' table."""

    drill: str
    done: str
    expected: str
    observed: str
    passed: bool
    figures: dict[str, Any] = field(default_factory=dict)


def admin_url() -> str:
    return os.environ.get("DRILL_DATABASE_URL", PG_DEFAULT)


def redis_url() -> str:
    return os.environ.get(
        "DRILL_REDIS_URL", f"redis://127.0.0.1:6379/{os.environ.get('DRILL_REDIS_DB', '13')}"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def database(prefix: str = "hoso_drill", *, full: bool = False) -> AsyncIterator[tuple[str, str]]:
    """A fresh, migrated PostgreSQL database holding the reference data and the demo province: (url, name).
    ``full``: the whole demo as ``make run`` loads it (its day of dossiers, custody, money, plans)."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await admin_exec(admin_url(), f'CREATE DATABASE "{name}"')
    url = make_url(admin_url()).set(database=name).render_as_string(hide_password=False)
    try:
        await prepare(url, full=full)
        yield url, name
    finally:
        await drop_database(name)


async def prepare(url: str, *, full: bool = False) -> None:
    """Migrate the database at ``url`` (PostgreSQL or SQLite) and load the reference data and the demo province
    (``full``: the whole demo, see ``database``)."""
    from backend.db import make_engine, session_factory
    from backend.demo.province import seed_province
    from backend.demo.reference import load_reference
    from backend.migrations import upgrade_async

    await upgrade_async(url)
    engine = make_engine(url)
    try:
        if full:
            await _seed_demo(engine)
        else:
            factory = session_factory(engine)
            async with factory() as session:
                await load_reference(session)
            async with factory() as session:
                await seed_province(session, password="demo1234", citizens=60)
                await session.commit()
    finally:
        await engine.dispose()


# Route plans are solved while seeding (minutes on a shared host) and no drill reads them.
SKIPPED_SLICES = frozenset({"planning"})
# Demo slices that failed to load in this run (the drills go on without them; the table says so).
SLICES_FAILED: list[str] = []


async def _seed_demo(engine: Any) -> None:
    """The whole demo as ``backend.demo.seed_all`` loads it, slice by slice: a slice that fails (another
    domain's work in progress) is rolled back and named in ``SLICES_FAILED`` instead of stopping the drills."""
    from backend.db import session_factory
    from backend.demo import SLICES
    from backend.demo.province import seed_province
    from backend.demo.reference import load_reference

    factory = session_factory(engine)
    async with factory() as session:
        await load_reference(session)
    async with factory() as session:
        ctx = await seed_province(session, password="demo1234")
        await session.commit()
    for name, seed in SLICES:
        if name in SKIPPED_SLICES:
            continue
        async with factory() as session:
            try:
                await seed(session, ctx)
                await session.commit()
            except Exception as exc:  # reported; the drills need the rest
                await session.rollback()
                SLICES_FAILED.append(f"{name}: {type(exc).__name__}: {str(exc)[:120]}")


async def drop_database(name: str) -> None:
    await admin_exec(admin_url(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def fetch(url: str, sql: str) -> list[dict[str, Any]]:
    """Rows of one query on the database at ``url`` (PostgreSQL or SQLite), from outside the service."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return [dict(r) for r in (await conn.execute(text(sql))).mappings().all()]
    finally:
        await engine.dispose()


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return sorted(out)


def _established(port: int) -> set[str]:
    """Socket inodes of established TCP connections whose local port is ``port`` (``/proc/net/tcp``)."""
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if int(cols[1].rsplit(":", 1)[1], 16) == port and cols[3] == "01":
                out.add(cols[9])
    return out


def _socket_inodes(pid: int) -> set[str]:
    out: set[str] = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return out
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            out.add(target[8:-1])
    return out


class Service:
    """``python -m backend serve`` running in a subprocess; its log in ``log``."""

    def __init__(
        self, db_url: str, workers: int = 2, preexec: Callable[[], None] | None = None, **settings: str
    ) -> None:
        self.preexec = preexec
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = Path(os.environ.get("TMPDIR", "/tmp")) / f"drill-serve-{os.getpid()}-{self.port}.log"
        self.env = {
            **os.environ,
            "APP_ENV": "test",
            "DATABASE_URL": db_url,
            "SECRET_KEY": "drill-secret-" + "x" * 32,
            "OTP_TEST_NUMBERS": OTP,
            "AUTH_RATE_PER_MINUTE": "100000000",
            "PUBLIC_RATE_PER_S": "100000000",  # every load connection is 127.0.0.1
            "PUBLIC_RATE_BURST": "100000000",
            "AUTH_ACCOUNT_RATE_PER_HOUR": "100000000",
            "RUN_DISPATCHER": "false",
            "REDIS_URL": redis_url(),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(workers),
            "SHUTDOWN_TIMEOUT_S": "5",
            **settings,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, wait_s: float = 180) -> float:
        """Start and wait until ``/health`` answers 200 from every worker (seconds taken)."""
        began = time.monotonic()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "backend", "serve"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=log,
                preexec_fn=self.preexec,  # a resource limit (upload drill), set before exec
            )
        self.wait_up(wait_s)
        return time.monotonic() - began

    def wait_up(self, wait_s: float = 180) -> None:
        deadline = time.monotonic() + wait_s
        while True:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"the service exited ({self.proc.returncode}): {self.log_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/health", timeout=2).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the service did not come up in {wait_s:g} s: {self.log_text()[-2000:]}")
            time.sleep(0.1)

    def workers(self) -> list[int]:
        return children(self.proc.pid) if self.proc else []

    def busiest(self) -> tuple[int, int]:
        """The worker holding the most open client connections to the service's port, and that number."""
        held = _established(self.port)
        counts = {pid: len(_socket_inodes(pid) & held) for pid in self.workers()}
        pid = max(counts, key=lambda p: counts[p])
        return pid, counts[pid]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            for pid in self.workers():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.proc.kill()
            self.proc.wait()

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""


@contextlib.contextmanager
def serving(
    db_url: str, workers: int = 2, preexec: Callable[[], None] | None = None, **settings: str
) -> Iterator[Service]:
    service = Service(db_url, workers, preexec, **settings)
    try:
        service.start()
        yield service
    finally:
        service.stop()
        with contextlib.suppress(OSError):
            service.log.unlink()


class RedisServer:
    """A private ``redis-server`` (no persistence) on a free port, which a drill stops and starts again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


async def staff_token(client: httpx.AsyncClient, username: str) -> str:
    r = await client.post("/api/v1/auth/staff/login", json={"username": username, "password": "demo1234"})
    r.raise_for_status()
    return str(r.json()["access_token"])


async def citizen_tokens(client: httpx.AsyncClient, phones: list[str] = PHONES) -> list[str]:
    tokens = []
    for phone in phones:
        r = await client.post("/api/v1/auth/citizen/verify", json={"phone": phone, "code": "123456"})
        r.raise_for_status()
        tokens.append(r.json()["access_token"])
    return tokens


async def homes(url: str) -> list[tuple[float, float]]:
    """Citizens' home places of the seeded province (where pickups are booked)."""
    rows = await fetch(url, "SELECT lat, lon FROM citizen_address LIMIT 200")
    return [(float(r["lat"]), float(r["lon"])) for r in rows]


@dataclass
class Burst:
    """Booking requests ready to send: each a (token, idempotency key, body)."""

    requests: list[tuple[str, str, dict[str, Any]]]


async def burst(
    client: httpx.AsyncClient, places: list[tuple[float, float]], tokens: list[str], n: int
) -> Burst:
    """``n`` bookings of random citizens at random homes, each into a window that had room when listed."""
    rng = random.Random(24)
    windows_at: dict[tuple[float, float], list[str]] = {}
    for lat, lon in rng.sample(places, min(20, len(places))):
        r = await client.get("/api/v1/slots", params={"kind": "pickup", "lat": lat, "lon": lon})
        if r.status_code == 200:
            ws = [s["start"] for s in r.json()["items"] if s["remaining"] > 0]
            if ws:
                windows_at[(lat, lon)] = ws
    if not windows_at:
        raise RuntimeError("no window with room at any sampled home")
    spots = list(windows_at)
    out = []
    for _ in range(n):
        lat, lon = rng.choice(spots)
        body = {"kind": "pickup", "start": rng.choice(windows_at[(lat, lon)]), "lat": lat, "lon": lon}
        out.append((rng.choice(tokens), uuid.uuid4().hex, {**body, "procedure": PROCEDURE}))
    return Burst(out)


async def book(client: httpx.AsyncClient, token: str, key: str, body: Mapping[str, Any]) -> int | str:
    """One booking: the status, or the transport error's class name."""
    try:
        r = await client.post(
            "/api/v1/appointments",
            content=json.dumps(body),
            headers={
                "Authorization": f"Bearer {token}",
                "Idempotency-Key": key,
                "Content-Type": "application/json",
            },
        )
    except httpx.TransportError as exc:
        return type(exc).__name__
    return r.status_code


async def send_all(client: httpx.AsyncClient, b: Burst, concurrency: int) -> list[int | str]:
    sem = asyncio.Semaphore(concurrency)

    async def one(req: tuple[str, str, dict[str, Any]]) -> int | str:
        async with sem:
            return await book(client, *req)

    return list(await asyncio.gather(*(one(r) for r in b.requests)))
