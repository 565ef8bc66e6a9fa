"""Booking benchmark: ``python -m bench.booking [--slots N] [--bookings N] [--clients C]``.

Creates a fresh PostgreSQL database (``BENCH_DATABASE_URL``, default the local ``test`` server), migrates
it, seeds the demo province, runs the API as production does (``backend.server``, ``--workers`` processes,
default 2) on a free 127.0.0.1 port, then loads it with ``bench.loadgen`` (pre-built requests, C
parser: the client costs little of the CPU it shares with the server):

* ``GET /slots`` for 14 days at one address;
* ``POST /appointments`` for citizens spread over the province's post offices and windows;

first closed loop at ``--clients`` concurrent clients (each sends its next request when the last is
answered; counted once the first 4 rounds have passed, see ``loadgen.closed_loop``), then open loop at each
of ``--rates`` requests/s (Poisson arrivals, latency from arrival). Prints p50/p90/p99 latency, throughput,
and the CPU each request cost the API processes, the PostgreSQL backends and the load generator (read from
/proc: comparable between a busy and a quiet host, where latency is not). Targets: slots p99 < 50 ms,
booking p99 < 100 ms at 50 clients. Figures depend on what else runs on the machine; the database is
dropped afterwards.

``--write-path python`` serves bookings through the statement-by-statement path SQLite uses (key claim,
inserts and ``capacity.reserve`` as separate statements, one commit per booking) instead of the PL/pgSQL
functions with group commit (``backend/booking/pgbatch.py``): the comparison behind keeping the second path.

The national peak, the rate the open loop must hold (``--rates`` defaults to it and to 4 times it):

* Volume. Vietnam Post received and returned over 12 million administrative-procedure dossiers in 2018
  (vnpost.vn, "Vietnam Post maintains an average growth rate of over 30% per year", December 2018) and nearly
  8 million in the first half of 2020, 30% more than a year before (vnpost.vn, "Vietnam Post accepts and
  delivers nearly 8 million administrative records in two first quarters 2020"): about 16 million a year.
  The Ministry of Justice's administrative procedures control department put all administrative documents
  exchanged in the country at a minimum of 600,000 a day (Vietnam News / SGGP, "Trillions of dong saved by
  postal services"): the ceiling if every one went by post.
* Bookings per dossier: at most 2 (a home pickup and the result's delivery; a dossier handed in at a counter
  books nothing). From the postal figure: 16 M x 2 / 250 working days = 128,000 bookings a working day.
* Busiest day: x 2 (month and quarter ends; even March-April 2020, the distancing peak, carried about 3 M, the
  year's monthly average) = 256,000. Busiest hour: 15% of the day (desks open 7:30-11:30 and 13:30-17:00, the
  app mostly used the same hours) = 38,400 an hour = 10.7 bookings/s.
* National peak taken here: the ceiling instead, 600,000 bookings on the busiest day, 15% in its busiest
  hour = 90,000 an hour = 25 bookings/s (2.3 times the postal figure: room for the growth since 2020 and the
  2025 reform moving counter work to the post). Safety factor 4: the path must hold 100 bookings/s with a
  p99 well under 100 ms on the 2-core bench host with 2 API processes.
"""

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

import httpx
from sqlalchemy.engine import make_url

from backend.lib.pgadmin import PG_DEFAULT, admin_exec
from bench import loadgen

PHONES = [f"+849000{n:05d}" for n in range(1, 100)]
NATIONAL_PEAK_PER_S = 25.0  # bookings a second at the busiest hour, derived in the docstring
SAFETY = 4

# Bookings through the path SQLite uses: the server's workers are forked from the process that runs this, so
# they inherit the switch (Granian forks on Linux, ``backend/server.py``).
PYTHON_PATH = "import backend.booking.pgbook as pgbook; pgbook.supported = lambda session: False; "


async def _pg(sql: str) -> None:
    await admin_exec(os.environ.get("BENCH_DATABASE_URL", PG_DEFAULT), sql)


async def _prepare(url: str) -> list[tuple[float, float]]:
    from backend.db import make_engine, session_factory
    from backend.demo.province import seed_province
    from backend.demo.reference import load_reference
    from backend.migrations import upgrade_async

    await upgrade_async(url)
    engine = make_engine(url)
    factory = session_factory(engine)
    async with factory() as session:
        await load_reference(session)
    async with factory() as session:
        ctx = await seed_province(session, password="demo1234", citizens=120)
        await session.commit()
    await engine.dispose()
    return [(a.lat, a.lon) for a in ctx.addresses.values()]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_TICK_MS = 1000 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 10.0


def _pid_cpu_ms(pid: int) -> float:
    """User + system CPU of one process so far (ms); 0 once it is gone or where /proc is missing."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) * _TICK_MS


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return out


@dataclass
class _Meter:
    """CPU spent per request by the API processes, by the PostgreSQL backends serving the bench database and
    by this load generator: unlike latency, it does not depend on how the two cores were shared, so runs on a
    busy or a quiet host compare. Backends that start and end within one load are missed (the pool keeps
    its connections, so there are few)."""

    api: list[int]
    database: str

    async def _pg_pids(self) -> list[int]:
        from backend.lib.pgadmin import connect

        conn = await connect(os.environ.get("BENCH_DATABASE_URL", PG_DEFAULT))
        try:
            rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", self.database)
        finally:
            await conn.close()
        return [r["pid"] for r in rows]

    async def snapshot(self) -> dict[str, dict[int, float]]:
        return {
            "API": {p: _pid_cpu_ms(p) for p in self.api},
            "PostgreSQL": {p: _pid_cpu_ms(p) for p in await self._pg_pids()},
            "client": {os.getpid(): _pid_cpu_ms(os.getpid())},
        }


def _cpu_per_request(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]], n: int) -> str:
    parts = []
    for name, now in after.items():
        spent = sum(ms - before[name].get(pid, 0.0) for pid, ms in now.items())
        parts.append(f"{name} {spent / n:.2f}")
    return "CPU ms/request: " + ", ".join(parts)


def _cpu() -> tuple[int, int]:
    """(all, stolen) CPU ticks of the machine so far; (0, 0) where /proc/stat is missing."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return 0, 0
    return sum(ticks), ticks[7]


async def _measure(name: str, run: Awaitable[loadgen.Result], meter: _Meter) -> None:
    """Run and report one load, with the CPU time the hypervisor gave to other guests meanwhile (steal): on a
    shared VM it moves these figures from one run to the next. Then the CPU each request cost (all requests,
    the uncounted first ones included)."""
    spent_before = await meter.snapshot()
    before = _cpu()
    r = await run
    after = _cpu()
    spent = _cpu_per_request(spent_before, await meter.snapshot(), len(r.latencies_ms) + len(r.warmup_ms))
    steal = 100 * (after[1] - before[1]) / (after[0] - before[0]) if after[0] > before[0] else 0.0
    print(
        f"  {name:<22} n={len(r.latencies_ms):<5} p50={r.pct(50):7.1f} ms  p90={r.pct(90):7.1f} ms  "
        f"p99={r.pct(99):7.1f} ms  mean={statistics.fmean(r.latencies_ms):6.1f} ms  "
        f"{r.rate:6.0f} req/s  status={dict(sorted(r.statuses.items()))}  steal={steal:.1f}%"
    )
    if r.warmup_ms:
        lead = loadgen.Result(latencies_ms=r.warmup_ms)
        print(
            f"  {'':<22} (not counted: the first {len(r.warmup_ms)}, clients starting together: "
            f"p50={lead.pct(50):.1f} ms p99={lead.pct(99):.1f} ms max={max(r.warmup_ms):.1f} ms)"
        )
    print(f"  {'':<22} {spent}")


async def bench(
    slots_n: int, bookings_n: int, clients: int, workers: int, rates: list[float], write_path: str
) -> None:
    name = f"hoso_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await _pg(f'CREATE DATABASE "{name}"')
    url = make_url(os.environ.get("BENCH_DATABASE_URL", PG_DEFAULT)).set(database=name)
    db_url = url.render_as_string(hide_password=False)
    proc: subprocess.Popen[bytes] | None = None
    try:
        homes = await _prepare(db_url)
        port = _free_port()
        env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "APP_ENV": "test",
            "SECRET_KEY": "bench-secret-" + "x" * 32,
            "OTP_TEST_NUMBERS": "+84900000001-+84900000099:123456",
            "AUTH_RATE_PER_MINUTE": "100000000",
            "PUBLIC_RATE_PER_S": "100000000",  # every load connection is 127.0.0.1
            "PUBLIC_RATE_BURST": "100000000",
            "RUN_DISPATCHER": "false",
            # several processes share desk feeds and limits through Redis (the service refuses otherwise)
            "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "WEB_CONCURRENCY": str(workers),
        }
        # The service's own server, as production runs it (backend/server.py: Granian workers).
        serve = (
            "import sys; from backend.server import serve; from backend.settings import get_settings; "
            + (PYTHON_PATH if write_path == "python" else "")
            + "sys.exit(serve(get_settings(), log_access=False))"
        )
        proc = subprocess.Popen([sys.executable, "-c", serve], env=env)  # noqa: ASYNC220 (runs beside us)
        base = f"http://127.0.0.1:{port}"
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
            for _ in range(200):
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            tokens = []
            for phone in PHONES:
                r = await client.post("/api/v1/auth/citizen/verify", json={"phone": phone, "code": "123456"})
                r.raise_for_status()
                tokens.append(r.json()["access_token"])
            lat, lon = homes[0]
            first = (
                await client.get("/api/v1/slots", params={"kind": "pickup", "lat": lat, "lon": lon})
            ).json()
            day0 = first["items"][0]["start"][:10]
            from datetime import date

            day14 = (date.fromisoformat(day0) + timedelta(days=14)).isoformat()
            params = {"kind": "pickup", "lat": lat, "lon": lon, "from": day0, "to": day14}

            host = f"127.0.0.1:{port}"
            slots_req = loadgen.request_bytes("GET", "/api/v1/slots?" + urlencode(params), host)
            health_req = loadgen.request_bytes("GET", "/health", host)

            # Bookings: random citizens at random homes, each into a window that still had room when listed.
            rng = random.Random(5)
            windows_at: dict[tuple[float, float], list[str]] = {}
            for hlat, hlon in rng.sample(homes, 40):
                r = await client.get("/api/v1/slots", params={"kind": "pickup", "lat": hlat, "lon": hlon})
                if r.status_code == 200:
                    windows_at[(hlat, hlon)] = [s["start"] for s in r.json()["items"] if s["remaining"] > 0]
            places = [p for p, ws in windows_at.items() if ws]

            def booking() -> bytes:
                p = rng.choice(places)
                body = {
                    "kind": "pickup",
                    "start": rng.choice(windows_at[p]),
                    "lat": p[0],
                    "lon": p[1],
                    "procedure": "1.004859",
                }
                headers = {
                    "Authorization": f"Bearer {rng.choice(tokens)}",
                    "Idempotency-Key": uuid.uuid4().hex,
                    "Content-Type": "application/json",
                }
                return loadgen.request_bytes(
                    "POST", "/api/v1/appointments", host, headers, json.dumps(body).encode()
                )

        writes = (
            "statement by statement (the SQLite path)"
            if write_path == "python"
            else "hoso_book, group commit"
        )
        print(
            f"\nPostgreSQL, API processes={workers}, cpus={os.cpu_count()}, load={os.getloadavg()[0]:.2f}, "
            f"booking writes: {writes}"
        )
        print(f"closed loop, {clients} concurrent clients (each sends its next request when answered):")
        # The harness's ceiling: the cheapest endpoint (one SELECT 1) under the same load and client.
        # Each measured loop first sends ``lead`` requests it does not count (see ``loadgen.closed_loop``):
        # the 50 clients start at the same instant, and those first rounds are reported on their own line.
        lead = 4 * clients
        at = ("127.0.0.1", port)
        meter = _Meter(api=[proc.pid, *_children(proc.pid)], database=name)
        await loadgen.closed_loop("127.0.0.1", port, [health_req] * 200, clients)
        health = [health_req] * (lead + slots_n)
        await _measure(
            "GET /health (baseline)", loadgen.closed_loop(*at, health, clients, warmup=lead), meter
        )
        await loadgen.closed_loop(*at, [slots_req] * 200, clients)  # warm-up
        listing = [slots_req] * (lead + slots_n)
        await _measure("GET /slots (14 days)", loadgen.closed_loop(*at, listing, clients, warmup=lead), meter)
        await loadgen.closed_loop(*at, [booking() for _ in range(300)], clients)  # warm-up
        books = [booking() for _ in range(lead + bookings_n)]
        await _measure("POST /appointments", loadgen.closed_loop(*at, books, clients, warmup=lead), meter)
        for rate in rates:
            print(f"open loop, {rate:g} requests/s arriving (Poisson), up to {clients} connections:")
            n = max(200, int(rate * 10))
            await _measure(
                "GET /slots (14 days)", loadgen.open_loop(*at, [slots_req] * n, clients, rate), meter
            )
            books = [booking() for _ in range(n)]
            await _measure("POST /appointments", loadgen.open_loop(*at, books, clients, rate), meter)
        print("(409 = window full: a real answer, timed like the others)")
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        await _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.booking")
    parser.add_argument("--slots", type=int, default=2000)
    parser.add_argument("--bookings", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2, help="API processes (WEB_CONCURRENCY)")
    parser.add_argument(
        "--rates",
        default=f"{NATIONAL_PEAK_PER_S:g},{NATIONAL_PEAK_PER_S * SAFETY:g}",
        help="open-loop arrival rates (requests/s), comma-separated; '' for none (default: the national peak "
        "and 4 times it)",
    )
    parser.add_argument(
        "--write-path",
        choices=("function", "python"),
        default="function",
        help="PostgreSQL bookings through hoso_book/hoso_book_many (as served) or statement by statement",
    )
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    run = asyncio.run
    try:
        import uvloop  # the client's own overhead matters on 2 cores

        run = uvloop.run
    except ImportError:
        pass
    run(bench(args.slots, args.bookings, args.clients, args.workers, rates, args.write_path))


if __name__ == "__main__":
    main()
