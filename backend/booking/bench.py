"""Booking benchmark: ``python -m backend.booking.bench [--slots N] [--bookings N] [--clients C]``.

Creates a fresh PostgreSQL database (``BENCH_DATABASE_URL``, default the local ``test`` server), migrates
it, seeds the demo province, runs the API with uvicorn on a free 127.0.0.1 port, then measures with httpx
at ``--clients`` concurrent clients (closed loop: each client sends its next request when the last answered):

* ``GET /slots`` for 14 days at one address;
* ``POST /appointments`` for citizens spread over the province's post offices and windows.

Prints p50/p90/p99 latency and throughput. Targets: slots p99 < 50 ms, booking p99 < 100 ms. Figures depend
on what else runs on the machine; the database is dropped afterwards.
"""

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from backend.lib.pgadmin import PG_DEFAULT, admin_exec

PHONES = [f"+849000{n:05d}" for n in range(1, 100)]


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


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _report(name: str, lat_ms: list[float], wall: float, codes: dict[int, int]) -> None:
    print(
        f"{name:<22} n={len(lat_ms):<5} p50={_pct(lat_ms, 50):7.1f} ms  p90={_pct(lat_ms, 90):7.1f} ms  "
        f"p99={_pct(lat_ms, 99):7.1f} ms  mean={statistics.fmean(lat_ms):6.1f} ms  "
        f"{len(lat_ms) / wall:6.0f} req/s  status={dict(sorted(codes.items()))}"
    )


async def _run(
    clients: int, jobs: list[Any], client: httpx.AsyncClient
) -> tuple[list[float], float, dict[int, int]]:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for j in jobs:
        queue.put_nowait(j)
    latencies: list[float] = []
    codes: dict[int, int] = {}

    async def worker() -> None:
        while not queue.empty():
            job = queue.get_nowait()
            t = time.perf_counter()
            r = await job(client)
            latencies.append((time.perf_counter() - t) * 1000)
            codes[r.status_code] = codes.get(r.status_code, 0) + 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return latencies, time.perf_counter() - t0, codes


async def bench(slots_n: int, bookings_n: int, clients: int, workers: int) -> None:
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
            "RUN_DISPATCHER": "false",
        }
        proc = subprocess.Popen(  # noqa: ASYNC220 (returns at once; the server runs beside us)
            [
                sys.executable,
                "-m",
                "uvicorn",
                "backend.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
                "--workers",
                str(workers),
            ],
            env=env,
        )
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

            def slots_job(c: httpx.AsyncClient) -> Any:
                return c.get("/api/v1/slots", params=params)

            def health_job(c: httpx.AsyncClient) -> Any:
                return c.get("/health")

            print(
                f"\nPostgreSQL, {clients} concurrent clients, uvicorn workers={workers}, cpus={os.cpu_count()}"
            )
            # The harness's own ceiling: the cheapest endpoint (one SELECT 1) under the same load and client.
            await _run(clients, [health_job] * 100, client)
            lat_ms, wall, codes = await _run(clients, [health_job] * slots_n, client)
            _report("GET /health (baseline)", lat_ms, wall, codes)
            await _run(clients, [slots_job] * 100, client)  # warm-up
            lat_ms, wall, codes = await _run(clients, [slots_job] * slots_n, client)
            _report("GET /slots (14 days)", lat_ms, wall, codes)

            # Bookings: random citizens at random homes, each into a window that still had room when listed.
            rng = random.Random(5)
            plans: list[tuple[str, dict[str, Any]]] = []
            windows_at: dict[tuple[float, float], list[str]] = {}
            for hlat, hlon in rng.sample(homes, 40):
                r = await client.get("/api/v1/slots", params={"kind": "pickup", "lat": hlat, "lon": hlon})
                if r.status_code == 200:
                    windows_at[(hlat, hlon)] = [s["start"] for s in r.json()["items"] if s["remaining"] > 0]
            places = [p for p, ws in windows_at.items() if ws]
            for _ in range(bookings_n + 100):
                p = rng.choice(places)
                body = {
                    "kind": "pickup",
                    "start": rng.choice(windows_at[p]),
                    "lat": p[0],
                    "lon": p[1],
                    "procedure": "1.004859",
                }
                plans.append((rng.choice(tokens), body))

            def book_job(token: str, body: dict[str, Any]) -> Any:
                def run(c: httpx.AsyncClient) -> Any:
                    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
                    return c.post("/api/v1/appointments", json=body, headers=headers)

                return run

            jobs = [book_job(t, b) for t, b in plans]
            await _run(clients, jobs[:100], client)  # warm-up
            lat_ms, wall, codes = await _run(clients, jobs[100:], client)
            _report("POST /appointments", lat_ms, wall, codes)
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
    parser = argparse.ArgumentParser(prog="python -m backend.booking.bench")
    parser.add_argument("--slots", type=int, default=2000)
    parser.add_argument("--bookings", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    args = parser.parse_args()
    asyncio.run(bench(args.slots, args.bookings, args.clients, args.workers))


if __name__ == "__main__":
    main()
