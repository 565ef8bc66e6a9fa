"""A small HTTP/1.1 load generator for the benchmarks (never used by the service itself).

Why not httpx: on a 2-core machine the client shares the CPU with the server it measures, and httpx spends
~0.5 ms of CPU per request, as much as a cheap endpoint. Here requests are pre-built bytes on persistent
connections and answers are parsed by ``httptools`` (C), so the client costs a few tens of microseconds.

Two ways to load:
* ``closed_loop``: ``clients`` connections, each sends its next request as soon as the last is answered
  (the saturation view: latency ≈ clients / throughput).
* ``open_loop``: requests arrive at ``rate`` per second (Poisson) whatever the server does, served by at
  most ``clients`` connections; latency is measured from the arrival time, so queueing behind a slow server
  counts (no coordinated omission).

Both run with the client's garbage collector paused (``collector_paused``): a full collection of the client's
own heap (thousands of pending tasks) stalled it for ~300 ms at the same request of every run, and since
latency is measured from the arrival time, that stall showed as the *server's* p99 (the courier route's open
loop: p99 260-320 ms with it, 4-5 ms without, the server unchanged).
"""

import asyncio
import contextlib
import gc
import random
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import httptools


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No garbage collection in the load generator while it measures (what it allocates is freed after)."""
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@dataclass
class Result:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    wall_s: float = 0.0
    warmup_ms: list[float] = field(default_factory=list)  # closed loop: the uncounted first requests

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.wall_s if self.wall_s else 0.0


def request_bytes(
    method: str, target: str, host: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    """One HTTP/1.1 request, ready to write."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class _Conn(asyncio.Protocol):
    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.done: asyncio.Future[int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_result(self.parser.get_status_code())

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(ConnectionError(f"server closed the connection: {exc}"))

    async def send(self, data: bytes) -> int:
        assert self.transport is not None
        self.done = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.done


async def _connect(host: str, port: int, n: int) -> list[_Conn]:
    loop = asyncio.get_running_loop()
    return [(await loop.create_connection(_Conn, host, port))[1] for _ in range(n)]


def _close(conns: Sequence[_Conn]) -> None:
    for c in conns:
        if c.transport is not None:
            c.transport.close()


async def _closed_loop(
    host: str, port: int, requests: Sequence[bytes], clients: int, *, warmup: int = 0
) -> Result:
    """The first ``warmup`` requests are sent but not counted: the clients start together, so the first
    rounds arrive in lockstep (all at once, then all answered at once) until their timing spreads out; the
    count starts in that steady state, on the same connections. Throughput is over the counted requests."""
    conns = await _connect(host, port, clients)
    result = Result()
    cursor = iter(range(len(requests)))
    counted_from: list[float] = []

    async def client(conn: _Conn) -> None:
        for i in cursor:
            t = time.perf_counter()
            if i == warmup:
                counted_from.append(t)
            status = await conn.send(requests[i])
            if i >= warmup:
                result.latencies_ms.append((time.perf_counter() - t) * 1000)
                result.statuses[status] += 1
            else:
                result.warmup_ms.append((time.perf_counter() - t) * 1000)

    t0 = time.perf_counter()
    try:
        await asyncio.gather(*(client(c) for c in conns))
    finally:
        _close(conns)
    result.wall_s = time.perf_counter() - (counted_from[0] if counted_from else t0)
    return result


async def _open_loop(
    host: str, port: int, requests: Sequence[bytes], clients: int, rate: float, seed: int = 1
) -> Result:
    conns = await _connect(host, port, clients)
    free: asyncio.Queue[_Conn] = asyncio.Queue()
    for c in conns:
        free.put_nowait(c)
    result = Result()
    rng = random.Random(seed)

    async def one(data: bytes, arrived: float) -> None:
        conn = await free.get()
        try:
            status = await conn.send(data)
        finally:
            free.put_nowait(conn)
        result.latencies_ms.append((time.perf_counter() - arrived) * 1000)
        result.statuses[status] += 1

    tasks = []
    t0 = time.perf_counter()
    due = t0
    try:
        for data in requests:
            due += rng.expovariate(rate)
            pause = due - time.perf_counter()
            if pause > 0:
                await asyncio.sleep(pause)
            tasks.append(asyncio.ensure_future(one(data, due)))
        await asyncio.gather(*tasks)
    finally:
        _close(conns)
    result.wall_s = time.perf_counter() - t0
    return result


async def closed_loop(
    host: str, port: int, requests: Sequence[bytes], clients: int, *, warmup: int = 0
) -> Result:
    """See ``_closed_loop``; run with the client's collector paused."""
    with collector_paused():
        return await _closed_loop(host, port, requests, clients, warmup=warmup)


async def open_loop(
    host: str, port: int, requests: Sequence[bytes], clients: int, rate: float, seed: int = 1
) -> Result:
    """See ``_open_loop``; run with the client's collector paused."""
    with collector_paused():
        return await _open_loop(host, port, requests, clients, rate, seed)
