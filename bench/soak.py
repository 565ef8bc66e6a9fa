"""``python -m bench.soak --minutes 30``: a soak of the service as production runs it, on PostgreSQL.

The whole demo (``make run``'s data) in a throwaway database (``bench/drills/common.py``), ``python -m backend
serve`` with ``--workers`` Granian workers, ``PLAN_QUEUE=saq`` with one ``python -m backend solver-worker`` and
one ``python -m backend dispatch``. Then ``--minutes`` of mixed open-loop load (Poisson arrivals, latency from
the arrival time, so queueing counts; ``bench.loadgen``'s requests and parser) at these rates per second (scaled
by ``--scale``):

* ``booking``: citizens book pickups (``POST /appointments``; 409 when the window is full counts as an answer);
* ``track``: public tracking (``GET /track/{item_id}``) of the demo's dossiers;
* ``sync``: couriers' offline syncs (``POST /events/batch``, 5 events each on the demo's items, a third of them
  replays: per-item answers, 200);
* ``desk``: desk clerks' dossier lists (``GET /dossiers``);
* ``plan``: dispatchers' route solves for tomorrow (``POST /post-offices/{office}/plans``, 5 s budget: 202).

Every minute it prints p50/p99 and answers per kind and the RSS of each process (service parent and workers,
solver worker, dispatcher); at the end each process's RSS slope over the second half of the run (MiB per minute)
and the error counts (5xx, transport failures, answers outside each kind's expected statuses). Exit status 1 on
any error or a slope above ``--max-slope`` MiB/min. Figures measured on a shared machine are under contention.
"""

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.drills import common
from bench.loadgen import _Conn, request_bytes
from schemas.vntime import VN_TZ

RATES = {"booking": 2.0, "track": 20.0, "sync": 1.0, "desk": 3.0, "plan": 1 / 20}
EXPECTED = {
    "booking": {200, 201, 409},
    "track": {200},
    "sync": {200},
    "desk": {200},
    "plan": {200, 202, 409},
}
CLIENTS = {"booking": 8, "track": 16, "sync": 4, "desk": 6, "plan": 2}


@dataclass
class Minute:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[str, Counter[int]] = field(default_factory=dict)


class Pool:
    """Keep-alive connections to the service; a connection the server closed while idle (Granian closes idle
    ones after the header timeout) is replaced before use, so a low-rate kind does not count that as an error.
    A request that fails on a live connection is an error (status 0)."""

    def __init__(self, port: int, size: int) -> None:
        self.port = port
        self.free: asyncio.Queue[_Conn | None] = asyncio.Queue()
        for _ in range(size):
            self.free.put_nowait(None)

    async def send(self, data: bytes) -> int:
        conn = await self.free.get()
        try:
            if conn is None or conn.transport is None or conn.transport.is_closing():
                loop = asyncio.get_running_loop()
                conn = (await loop.create_connection(_Conn, "127.0.0.1", self.port))[1]
            return await asyncio.wait_for(conn.send(data), 60)
        except (OSError, TimeoutError):
            if conn is not None and conn.transport is not None:
                conn.transport.close()
            conn = None
            return 0
        finally:
            self.free.put_nowait(conn)

    def close(self) -> None:
        while not self.free.empty():
            conn = self.free.get_nowait()
            if conn is not None and conn.transport is not None:
                conn.transport.close()


async def open_loop(
    pool: Pool, make: Callable[[], bytes], rate: float, until: float, into: Minute, kind: str
) -> None:
    """Arrivals at ``rate`` per second (Poisson) until the monotonic time ``until``; each answer's latency from
    its arrival goes into ``into``."""
    rng = random.Random(hash(kind) ^ int(until))
    tasks = []
    due = time.perf_counter()
    lat = into.latencies.setdefault(kind, [])
    codes = into.statuses.setdefault(kind, Counter())

    async def one(data: bytes, arrived: float) -> None:
        status = await pool.send(data)
        lat.append((time.perf_counter() - arrived) * 1000)
        codes[status] += 1

    while True:
        due += rng.expovariate(rate)
        if due >= until:
            break
        pause = due - time.perf_counter()
        if pause > 0:
            await asyncio.sleep(pause)
        tasks.append(asyncio.ensure_future(one(make(), due)))
    await asyncio.gather(*tasks)


def rss_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


class World:
    """What the requests are built from: tokens, windows, items, offices."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.rng = random.Random(30)
        self.citizens: list[str] = []
        self.windows: list[dict[str, Any]] = []
        self.items: list[str] = []
        self.couriers: list[str] = []
        self.desks: list[str] = []
        self.dispatchers: list[tuple[str, str]] = []  # (token, office)
        self.events = 0
        self.sent_events: list[dict[str, Any]] = []

    async def load(self, client: httpx.AsyncClient, url: str) -> None:
        self.citizens = await common.citizen_tokens(client, common.PHONES)
        places = await common.homes(url)
        b = await common.burst(client, places, self.citizens, 400)
        self.windows = [body for _, _, body in b.requests]
        rows = await common.fetch(url, "SELECT item_id FROM dossier ORDER BY item_id LIMIT 2000")
        self.items = [str(r["item_id"]) for r in rows]
        self.couriers = [await common.staff_token(client, f"courier{n:02d}") for n in range(1, 25)]
        self.desks = [await common.staff_token(client, f"desk{n:02d}") for n in range(1, 14)]
        for n in range(1, 13):
            self.dispatchers.append(
                (await common.staff_token(client, f"dispatcher{n:02d}"), f"82-BD-{n:02d}")
            )

    def _json(self, method: str, target: str, token: str, body: Any, **extra: str) -> bytes:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **extra}
        return request_bytes(method, target, self.host, headers, json.dumps(body).encode())

    def booking(self) -> bytes:
        token = self.rng.choice(self.citizens)
        body = self.rng.choice(self.windows)
        return self._json(
            "POST", "/api/v1/appointments", token, body, **{"Idempotency-Key": uuid.uuid4().hex}
        )

    def track(self) -> bytes:
        return request_bytes("GET", f"/api/v1/track/{self.rng.choice(self.items)}", self.host)

    def sync(self) -> bytes:
        events = []
        for _ in range(5):
            if self.sent_events and self.rng.random() < 1 / 3:
                events.append(self.rng.choice(self.sent_events))  # a replay: answered duplicate
                continue
            self.events += 1
            event = {
                "client_event_id": f"soak-{self.events}",
                "item_id": self.rng.choice(self.items),
                "code": self.rng.choice(("EMB", "EMC", "EMG")),
                "client_at": datetime.now(UTC).isoformat(),
            }
            events.append(event)
            self.sent_events = (self.sent_events + [event])[-500:]
        return self._json("POST", "/api/v1/events/batch", self.rng.choice(self.couriers), {"events": events})

    def desk(self) -> bytes:
        token = self.rng.choice(self.desks)
        headers = {"Authorization": f"Bearer {token}", "X-Purpose": "soak"}
        return request_bytes("GET", "/api/v1/dossiers?limit=50", self.host, headers)

    def plan(self) -> bytes:
        token, office = self.rng.choice(self.dispatchers)
        tomorrow = (datetime.now(VN_TZ) + timedelta(days=1)).date().isoformat()
        body = {"date": tomorrow, "time_limit_s": 5, "seed": self.rng.randrange(2**31)}
        return self._json("POST", f"/api/v1/post-offices/{office}/plans", token, body)


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (minute, MiB)."""
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def processes(
    service: common.Service, solver: subprocess.Popen[bytes], dispatch: subprocess.Popen[bytes]
) -> dict[str, int]:
    assert service.proc is not None
    out = {"serve": service.proc.pid}
    for i, pid in enumerate(service.workers()):
        out[f"worker{i + 1}"] = pid
    out["solver"] = solver.pid
    out["dispatch"] = dispatch.pid
    return out


def _start_side(env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    """One solver worker and one dispatcher, as production runs them beside the web processes."""
    return [
        subprocess.Popen(
            [sys.executable, "-m", "backend", cmd],
            cwd=common.ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for cmd in ("solver-worker", "dispatch")
    ]


async def soak(minutes: float, workers: int, scale: float, max_slope: float) -> int:
    rates = {k: v * scale for k, v in RATES.items()}
    began = time.monotonic()
    async with common.database("hoso_soak", full=True) as (url, name):
        print(f"soak database {name} ready in {time.monotonic() - began:.0f} s", flush=True)
        settings = {
            "PLAN_QUEUE": "saq",
            "PUBLIC_RATE_PER_S": "100000",
            "PUBLIC_RATE_BURST": "100000",
            "TOKEN_TTL_S": str(int(minutes * 60 + 3600)),
        }
        with common.serving(url, workers, None, **settings) as service:
            side = await asyncio.to_thread(_start_side, service.env)
            try:
                return await _run(service, side[0], side[1], url, minutes, rates, max_slope)
            finally:
                for p in side:
                    p.terminate()
                for p in side:
                    try:
                        p.wait(15)
                    except subprocess.TimeoutExpired:
                        p.kill()


async def _run(
    service: common.Service,
    solver: subprocess.Popen[bytes],
    dispatch: subprocess.Popen[bytes],
    url: str,
    minutes: float,
    rates: dict[str, float],
    max_slope: float,
) -> int:
    world = World(f"127.0.0.1:{service.port}")
    async with httpx.AsyncClient(base_url=service.base, timeout=30) as client:
        await world.load(client, url)
    makers: dict[str, Callable[[], bytes]] = {k: getattr(world, k) for k in rates}
    pools = {k: Pool(service.port, CLIENTS[k]) for k in rates}
    totals: dict[str, Counter[int]] = {k: Counter() for k in rates}
    rss: dict[str, list[tuple[float, float]]] = {}
    pids_seen: dict[str, set[int]] = {}
    kinds = list(rates)
    head = "min | " + " | ".join(f"{k:>20}" for k in kinds) + " | RSS MiB"
    print(f"rates per s: {json.dumps({k: round(v, 3) for k, v in rates.items()})}")
    print("each kind: p50/p99 ms (answers, errors)")
    print(head, flush=True)
    t0 = time.perf_counter()
    try:
        for m in range(1, int(minutes) + 1):
            minute = Minute()
            until = t0 + m * 60
            await asyncio.gather(*(open_loop(pools[k], makers[k], rates[k], until, minute, k) for k in kinds))
            cells = []
            for k in kinds:
                lat, codes = minute.latencies.get(k, []), minute.statuses.get(k, Counter())
                totals[k] += codes
                bad = sum(n for s, n in codes.items() if s not in EXPECTED[k])
                cells.append(f"{_pct(lat, 50):6.0f}/{_pct(lat, 99):6.0f} ({len(lat)},{bad})".rjust(20))
            procs = processes(service, solver, dispatch)
            mem = []
            for role, pid in procs.items():
                value = rss_mib(pid)
                rss.setdefault(role, []).append((float(m), value))
                pids_seen.setdefault(role, set()).add(pid)
                mem.append(f"{role} {value:.0f}")
            print(f"{m:3d} | " + " | ".join(cells) + " | " + ", ".join(mem), flush=True)
    finally:
        for p in pools.values():
            p.close()
    return _summary(totals, rss, pids_seen, minutes, max_slope, service)


def _summary(
    totals: dict[str, Counter[int]],
    rss: dict[str, list[tuple[float, float]]],
    pids_seen: dict[str, set[int]],
    minutes: float,
    max_slope: float,
    service: common.Service,
) -> int:
    print()
    errors = 0
    for k, codes in totals.items():
        bad = {s: n for s, n in codes.items() if s not in EXPECTED[k]}
        errors += sum(bad.values())
        print(f"{k:8} answers {dict(sorted(codes.items()))}; errors {sum(bad.values())} {bad or ''}")
    growth = False
    half = minutes / 2
    for role, points in rss.items():
        late = [p for p in points if p[0] > half] or points
        s = slope(late)
        first, last = points[0][1], points[-1][1]
        over = s > max_slope
        growth |= over
        restarts = len(pids_seen[role]) - 1
        print(
            f"RSS {role:9} {first:7.1f} -> {last:7.1f} MiB; slope over the second half {s:+.2f} MiB/min"
            + (f" ABOVE {max_slope}" if over else "")
            + (f"; pid changed {restarts} times" if restarts else "")
        )
    log_500 = service.log_text().count("unhandled error")
    print(f"unhandled errors in the service log: {log_500}")
    ok = errors == 0 and not growth and log_500 == 0
    print("soak: PASS" if ok else "soak: FAIL", flush=True)
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2, help="Granian workers (WEB_CONCURRENCY)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every kind's rate")
    parser.add_argument("--max-slope", type=float, default=1.0, help="MiB per minute a process may grow")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(asyncio.run(soak(args.minutes, args.workers, args.scale, args.max_slope)))
    sys.exit(130)


if __name__ == "__main__":
    main()
