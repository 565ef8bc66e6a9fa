"""Reads at the speed of the framework (issue 24): ``python -m bench.reads_app [--base URL] [--requests N]``.

Measures, against a running service (``make run``'s demo; for the issue's figures on PostgreSQL with one API
process: ``DATABASE_URL=postgresql+asyncpg://... make run``, and ``PUBLIC_RATE_PER_S`` raised so that the
per-client limit does not answer the load generator's one address with 429s), with 50 connections:

* a bare Litestar endpoint returning a slots-shaped JSON, served here by Granian in one process (the ceiling);
* ``GET /slots`` for one address (public), the courier's ``GET /couriers/me/route`` of the demo's published day
  and a citizen's ``GET /notifications``, each as a plain GET (200) and revalidated with ``If-None-Match``
  (304), and ``GET /slots`` for a different address each request (every one a miss: what a new place costs).

Prints requests per second, p50 and p99 and the share of the bare endpoint. Figures depend on what else runs on
the machine (the load generator shares it): compare rows of one run.
"""

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from typing import Any

import httpx

from bench.loadgen import closed_loop, request_bytes

CLIENTS = 50
BARE_BODY = {
    "items": [
        {
            "start": f"2026-12-07T{h:02d}:30:00+07:00",
            "end": f"2026-12-07T{h + 2:02d}:30:00+07:00",
            "kind": "pickup",
        }
        for h in (7, 9, 13, 15)
    ],
    "total": 4,
}


def bare_app() -> Any:
    """The ceiling: a Litestar app with one GET returning a fixed slots-shaped JSON."""
    from litestar import Litestar, get

    @get("/bare", sync_to_thread=False)
    def bare() -> dict[str, Any]:
        return BARE_BODY

    return Litestar([bare])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_bare(port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--workers", "1"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--no-ws", "--log-level", "warning"]
    proc = subprocess.Popen([*cmd, "bench.reads_app:bare_app"], cwd=os.getcwd())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/bare", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the bare endpoint did not start")


def _login(base: str) -> dict[str, dict[str, str]]:
    password = os.environ.get("DEMO_PASSWORD", "demo1234")
    courier = httpx.post(
        f"{base}/api/v1/auth/staff/login", json={"username": "courier01", "password": password}
    )
    citizen = httpx.post(f"{base}/api/v1/auth/citizen/verify", json={"phone": "0900000001", "code": "123456"})
    courier.raise_for_status()
    citizen.raise_for_status()
    return {
        "courier": {"Authorization": f"Bearer {courier.json()['access_token']}"},
        "citizen": {"Authorization": f"Bearer {citizen.json()['access_token']}"},
    }


def _route_day(base: str, courier: dict[str, str]) -> str:
    """The first of the next 10 days on which courier01 has a published route (the demo publishes one)."""
    today = httpx.get(f"{base}/api/v1/couriers/me/route", headers=courier).json()
    if today["published"]:
        return str(today["date"])
    from datetime import date, timedelta

    for ahead in range(1, 11):
        day = (date.fromisoformat(today["date"]) + timedelta(days=ahead)).isoformat()
        if httpx.get(f"{base}/api/v1/couriers/me/route?date={day}", headers=courier).json()["published"]:
            return day
    return str(today["date"])


def _run(host: str, port: int, reqs: list[bytes]) -> tuple[float, float, float, dict[int, int]]:
    result = asyncio.run(closed_loop(host, port, reqs, CLIENTS, warmup=min(500, len(reqs) // 5)))
    return result.rate, result.pct(50), result.pct(99), dict(result.statuses)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--lat", type=float, default=10.32)
    parser.add_argument("--lon", type=float, default=106.70)
    args = parser.parse_args(argv)
    url = httpx.URL(args.base)
    host, port, n = url.host, url.port or 80, args.requests
    tokens = _login(args.base)
    day = _route_day(args.base, tokens["courier"])
    reads = {
        "slots (one address)": (f"/api/v1/slots?kind=pickup&lat={args.lat}&lon={args.lon}", {}),
        "courier route": (f"/api/v1/couriers/me/route?date={day}", tokens["courier"]),
        "inbox": ("/api/v1/notifications", tokens["citizen"]),
    }
    bare_port = _free_port()
    bare = _start_bare(bare_port)
    rows: list[tuple[str, float, float, float, dict[int, int]]] = []
    try:
        rows.append(
            (
                "bare Litestar (ceiling)",
                *_run("127.0.0.1", bare_port, [request_bytes("GET", "/bare", "x")] * n),
            )
        )
    finally:
        bare.terminate()
        bare.wait(10)
    for name, (target, headers) in reads.items():
        first = httpx.get(f"{args.base}{target}", headers=headers)
        first.raise_for_status()
        rows.append((name, *_run(host, port, [request_bytes("GET", target, host, headers)] * n)))
        tagged = {**headers, "If-None-Match": first.headers.get("etag", "")}
        rows.append((f"{name}, 304", *_run(host, port, [request_bytes("GET", target, host, tagged)] * n)))
    misses = [
        request_bytes("GET", f"/api/v1/slots?kind=pickup&lat={args.lat + i * 1e-5:.5f}&lon={args.lon}", host)
        for i in range(max(n // 10, 300))
    ]
    rows.append(("slots (a new address each)", *_run(host, port, misses)))
    ceiling = rows[0][1]
    print(f"{'read':34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'of bare':>8}  statuses")
    for name, rate, p50, p99, statuses in rows:
        print(f"{name:34} {rate:8.0f} {p50:8.1f} {p99:8.1f} {rate / ceiling:8.0%}  {json.dumps(statuses)}")


if __name__ == "__main__":
    main()
