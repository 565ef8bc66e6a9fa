"""Public and app-facing reads against a bare Litestar endpoint (issue 24): ``python -m bench.reads``.

``python -m bench.reads [--db postgresql,sqlite] [--requests N] [--clients 50] [--only NAME,...]``

For each database: a throwaway database with the whole demo (``bench/drills/common.py``: migrated, ``make run``'s
demo loaded), the service started as production runs it (``python -m backend serve``, one worker process,
Granian), and in another process a bare Litestar app on Granian (one worker, no middleware, no database)
answering ``GET /track/{id}`` with a tracking-shaped JSON. Each endpoint is loaded by ``bench/loadgen.py``:

* closed loop, ``--clients`` connections (default 50): requests per second, p50 and p99 latency, the ratio to
  the bare endpoint (issue 24's goal: at least 0.25 per process), and the server's CPU per request (the worker
  process's user + system time over the run, from ``/proc``);
* open loop at a quarter of the bare endpoint's rate (Poisson arrivals, latency from arrival): whether the
  endpoint keeps up with the goal's rate, with p50 and p99.

Endpoints are registered with ``register(name, targets)``: ``targets(ctx)`` returns the request targets (path
and query) and headers to rotate through, from a ``Context`` holding the service's address and database URL
(so an endpoint can log in or look ids up first). This module registers the public ones (tracking, procedures,
communes, organisations, calendar); other domains' modules call ``register`` at import and are named in
``EXTRA_MODULES`` (imported by ``main``).

Per-client limits are lifted for the run (``PUBLIC_RATE_PER_S``): every connection comes from 127.0.0.1.
The service runs without its access log (``ACCESS_LOG=false``), as the bare endpoint runs (``granian --no-log``);
``--access-log`` keeps it (one log line per request: a fixed cost that weighs most on the cheapest reads).
The machine is shared (2 cores, several engineers' tests and benchmarks): figures vary with what else runs;
compare the rows of one run.
"""

import argparse
import asyncio
import contextlib
import importlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import loadgen
from bench.drills import common

Target = tuple[str, dict[str, str]]  # a request target (path?query) and its headers


@dataclass
class Context:
    base: str  # the service, e.g. http://127.0.0.1:PORT
    db_url: str
    cache: dict[str, Any] = field(default_factory=dict)  # for endpoints sharing what they looked up


@dataclass
class Endpoint:
    name: str
    targets: Callable[[Context], Awaitable[list[Target]]]


ENDPOINTS: list[Endpoint] = []
# Modules of other domains that register their endpoints at import (e.g. slots, the courier's route, the inbox).
EXTRA_MODULES: list[str] = ["bench.reads_private", "bench.reads_slots"]


def register(name: str, targets: Callable[[Context], Awaitable[list[Target]]]) -> None:
    if all(e.name != name for e in ENDPOINTS):
        ENDPOINTS.append(Endpoint(name, targets))


async def _track(ctx: Context) -> list[Target]:
    rows = await common.fetch(ctx.db_url, "SELECT item_id FROM dossier ORDER BY item_id LIMIT 200")
    return [(f"/api/v1/track/{r['item_id']}", {}) for r in rows]


async def _procedures(_ctx: Context) -> list[Target]:
    return [("/api/v1/procedures", {})]


async def _communes(_ctx: Context) -> list[Target]:
    return [("/api/v1/units/communes?province=82", {})]


async def _organisations(_ctx: Context) -> list[Target]:
    return [("/api/v1/organisations?kind=post_office", {}), ("/api/v1/organisations/82-BD-01", {})]


async def _calendar(_ctx: Context) -> list[Target]:
    return [("/api/v1/calendar?year=2026", {}), ("/api/v1/calendar?year=2027", {})]


register("GET /track/{id}", _track)
register("GET /procedures", _procedures)
register("GET /units/communes", _communes)
register("GET /organisations", _organisations)
register("GET /calendar", _calendar)


# --- the bare endpoint ----------------------------------------------------------------------------------------

TRACKING_SHAPED: dict[str, Any] = {
    "item_id": "HS000000000VN",
    "kind": "dossier",
    "status": "at_desk",
    "status_label": {"vi": "Đã đến bộ phận một cửa", "en": "At the one-stop desk"},
    "portal_status": 3,
    "due_at": "2026-12-10T17:00:00+07:00",
    "timeline": [
        {
            "code": code,
            "label": {"vi": "Bước " + code, "en": "Step " + code},
            "status": "in_transit",
            "at": "2026-12-06T08:00:00+07:00",
            "place": "Bưu điện Xã Thanh Hưng",
        }
        for code in ("EMA", "EMB", "EMC", "EMD")
    ],
}


def bare_app() -> Any:
    """The bare Litestar app (Granian factory): one handler, no middleware, no database."""
    from litestar import Litestar, get

    @get("/track/{item_id:str}")
    async def track(item_id: str) -> dict[str, Any]:
        return {**TRACKING_SHAPED, "item_id": item_id}

    return Litestar([track], openapi_config=None)


@contextlib.contextmanager
def bare_server() -> Iterator[int]:
    port = common.free_port()
    cmd = [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "asgi",
        "--factory",
        "--workers",
        "1",
        "--http",
        "1",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-log",
        "bench.reads:bare_app",
    ]
    proc = subprocess.Popen(cmd, cwd=common.ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/track/x", timeout=2).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the bare app did not come up")
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- measuring ------------------------------------------------------------------------------------------------


def _cpu_s(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
        except (OSError, IndexError, ValueError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class Row:
    db: str
    name: str
    rate: float
    p50: float
    p99: float
    cpu_ms: float
    statuses: str
    open_rate: float = 0.0
    open_p50: float = 0.0
    open_p99: float = 0.0


def _requests(port: int, targets: list[Target], n: int) -> list[bytes]:
    built = [loadgen.request_bytes("GET", t, f"127.0.0.1:{port}", h) for t, h in targets]
    return [built[i % len(built)] for i in range(n)]


async def measure(
    db: str,
    name: str,
    port: int,
    pids: list[int],
    targets: list[Target],
    n: int,
    clients: int,
    open_rate: float,
) -> Row:
    requests = _requests(port, targets, n)
    # Warm: every target once (the first answer of each is rendered and stored), then the closed loop.
    await loadgen.closed_loop("127.0.0.1", port, requests[: len(targets)], min(clients, len(targets)))
    cpu0 = _cpu_s(pids)
    closed = await loadgen.closed_loop("127.0.0.1", port, requests, clients, warmup=min(n // 10, 500))
    cpu = _cpu_s(pids) - cpu0
    row = Row(
        db,
        name,
        closed.rate,
        closed.pct(50),
        closed.pct(99),
        cpu * 1000 / max(1, n),
        " ".join(f"{s}:{c}" for s, c in sorted(closed.statuses.items())),
    )
    if open_rate > 0:
        count = max(200, int(open_rate * 5))  # about five seconds of arrivals
        opened = await loadgen.open_loop("127.0.0.1", port, requests[:count], clients, open_rate)
        row.open_rate, row.open_p50, row.open_p99 = opened.rate, opened.pct(50), opened.pct(99)
    return row


HEAD = (
    f"{'db':<10} {'endpoint':<24} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'x bare':>7} {'CPU ms':>7} {'x CPU':>6}"
    f" {'open req/s':>10} {'open p50':>9} {'open p99':>9}  statuses"
)


def _print(rows: list[Row], bare: Row) -> None:
    """``x bare``: req/s over the bare endpoint's; ``x CPU``: the bare endpoint's CPU per request over this one's
    (what one process could serve with a core to itself, less sensitive to the machine's other load)."""
    for r in rows:
        print(
            f"{r.db:<10} {r.name:<24} {r.rate:>8.0f} {r.p50:>8.1f} {r.p99:>8.1f} {r.rate / bare.rate:>7.2f}"
            f" {r.cpu_ms:>7.3f} {bare.cpu_ms / r.cpu_ms if r.cpu_ms else 0:>6.2f} {r.open_rate:>10.0f} {r.open_p50:>9.1f} {r.open_p99:>9.1f}  {r.statuses}",
            flush=True,
        )


async def _bare(n: int, clients: int) -> Row:
    with bare_server() as port:
        loop = asyncio.get_running_loop()
        pids = await loop.run_in_executor(None, _granian_workers, port)
        targets: list[Target] = [(f"/track/HS{i:09d}VN", {}) for i in range(200)]
        return await measure("-", "bare Litestar /track", port, pids, targets, n, clients, 0)


def _granian_workers(port: int) -> list[int]:
    """The pids holding the port's listening socket (the bare server's worker and its parent)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
                if b"bench.reads:bare_app" in cmdline and str(port).encode() in cmdline:
                    out.append(int(entry))
    return out


async def _service_rows(
    db: str, url: str, args: argparse.Namespace, open_rate: float, bare: Row
) -> list[Row]:
    rows = []
    lifted = {"PUBLIC_RATE_PER_S": "1000000000", "PUBLIC_RATE_BURST": "1000000000"}
    if (
        not args.access_log
    ):  # like the bare endpoint (granian --no-log): the same work per request around the app
        lifted["ACCESS_LOG"] = "false"
    loop = asyncio.get_running_loop()
    service = common.Service(url, 1, None, **lifted)
    await loop.run_in_executor(None, service.start)
    try:
        pids = [service.proc.pid, *service.workers()] if service.proc else []
        ctx = Context(service.base, url)
        for endpoint in ENDPOINTS:
            if args.only and endpoint.name not in args.only:
                continue
            targets = await endpoint.targets(ctx)
            if not targets:
                print(f"{db:<10} {endpoint.name:<24} (nothing to read: skipped)", flush=True)
                continue
            row = await measure(
                db, endpoint.name, service.port, pids, targets, args.requests, args.clients, open_rate
            )
            rows.append(row)
            _print([row], bare)
    finally:
        await loop.run_in_executor(None, service.stop)
    return rows


@contextlib.asynccontextmanager
async def _sqlite_database() -> Any:
    with tempfile.TemporaryDirectory(prefix="bench-reads-") as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/reads.db"
        await common.prepare(url, full=True)
        yield url, "sqlite"


async def main(args: argparse.Namespace) -> None:
    for module in EXTRA_MODULES:
        importlib.import_module(module)
    # Run as ``python -m bench.reads`` this module is ``__main__``: the modules above registered with the
    # ``bench.reads`` they imported, a second copy of it.
    imported = sys.modules.get("bench.reads")
    if imported is not None and imported is not sys.modules[__name__]:
        for endpoint in imported.ENDPOINTS:
            register(endpoint.name, endpoint.targets)
    print(
        f"bench.reads: {args.clients} connections, {args.requests} requests per endpoint, one service process; "
        f"shared machine ({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}): figures under contention",
        flush=True,
    )
    print(HEAD, flush=True)
    for db in args.db:
        opener = common.database("hoso_reads", full=True) if db == "postgresql" else _sqlite_database()
        async with opener as (url, _name):
            # The bare endpoint just before this database's rows (the machine's load moves): ratios use it.
            bare = await _bare(args.requests, args.clients)
            _print([bare], bare)
            open_rate = bare.rate / 4
            await _service_rows(db, url, args, open_rate, bare)
            print(
                f"open loop: Poisson arrivals at a quarter of the bare rate ({open_rate:.0f}/s), about 5 s each"
            )
        after = await _bare(args.requests, args.clients)
        _print([after], bare)  # the bare endpoint again, after: how much the machine's load moved meanwhile
    if common.SLICES_FAILED:
        print("demo slices not loaded:", "; ".join(common.SLICES_FAILED))


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--db", default="postgresql,sqlite", type=lambda s: [d for d in s.split(",") if d])
    p.add_argument("--requests", type=int, default=10_000)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--only", default="", type=lambda s: [n for n in s.split(",") if n])
    p.add_argument(
        "--access-log",
        action="store_true",
        help="keep the service's access log (off by default: the bare endpoint runs without one)",
    )
    return p.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
