"""What the per-client limit shared through Redis costs a public read (issue 24): ``python -m bench.shared_limit``.

``python -m bench.shared_limit [--db postgresql|sqlite] [--requests N] [--clients 50]``

One database with the whole demo (as ``bench.reads``), the bare Litestar endpoint for the ratios, then the
service (one process) three times, ``GET /track/{id}`` loaded by ``bench.reads.measure`` each time (closed loop
and open loop at a quarter of the bare rate), the limit active but too high to refuse anyone (every connection
is 127.0.0.1, one client):

* ``per process``: no ``REDIS_URL``: the in-memory bucket (``backend.lib.client_limit.ClientLimiter``);
* ``Redis, chunk 100``: ``REDIS_URL`` set, ``PUBLIC_RATE_PER_S`` high: the process takes 100 tokens per call
  (``MAX_CHUNK``), the shape of a real high limit;
* ``Redis, chunk 1``: ``PUBLIC_RATE_PER_S`` 1 with a burst no run exhausts: one token per call plus one per
  request of the client waiting for it (the smallest chunk; with 50 connections from one address, one call
  serves the requests that queued behind it).

``redis calls`` is the count of script calls Redis saw during the row (its ``INFO commandstats``: every client of
that Redis, so another run using it at the same time adds its own), per 1,000 requests. The machine is shared:
compare the rows of one run.
"""

import argparse
import asyncio
import os
from typing import Any

import redis.asyncio as aioredis

from backend.lib import client_limit
from bench import reads
from bench.drills import common

HIGH = "1000000000"
VARIANTS: list[tuple[str, dict[str, str]]] = [
    ("per process", {"REDIS_URL": "", "PUBLIC_RATE_PER_S": HIGH, "PUBLIC_RATE_BURST": HIGH}),
    ("Redis, chunk 100", {"PUBLIC_RATE_PER_S": HIGH, "PUBLIC_RATE_BURST": HIGH}),
    ("Redis, chunk 1", {"PUBLIC_RATE_PER_S": "1", "PUBLIC_RATE_BURST": HIGH}),
]


async def _script_calls(r: Any) -> int:
    stats = await r.info("commandstats")
    return sum(int(v.get("calls", 0)) for k, v in stats.items() if k in ("cmdstat_evalsha", "cmdstat_eval"))


async def _variant(
    label: str, env: dict[str, str], url: str, args: argparse.Namespace, open_rate: float, bare: reads.Row
) -> None:
    loop = asyncio.get_running_loop()
    service = common.Service(url, 1, None, **env)
    await loop.run_in_executor(None, service.start)
    r = aioredis.from_url(common.redis_url())
    try:
        pids = [service.proc.pid, *service.workers()] if service.proc else []
        targets = await reads._track(reads.Context(service.base, url))
        before = await _script_calls(r)
        row = await reads.measure(
            args.db, "GET /track/{id}", service.port, pids, targets, args.requests, args.clients, open_rate
        )
        calls = await _script_calls(r) - before
        row.name = label
        reads._print([row], bare)
        total = args.requests + len(targets) + max(200, int(open_rate * 5))
        print(f"{'':<10} {label:<24} redis calls {calls} ({calls * 1000 / total:.1f} per 1,000 requests)")
    finally:
        await r.delete(client_limit.PREFIX + "127.0.0.1")  # the bucket of this run's one client
        await r.aclose()
        await loop.run_in_executor(None, service.stop)


async def main(args: argparse.Namespace) -> None:
    print(
        f"bench.shared_limit: {args.clients} connections, {args.requests} requests per row, one service process; "
        f"shared machine ({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    print(reads.HEAD, flush=True)
    opener = common.database("hoso_limit", full=True) if args.db == "postgresql" else reads._sqlite_database()
    async with opener as (url, _name):
        bare = await reads._bare(args.requests, args.clients)
        reads._print([bare], bare)
        open_rate = bare.rate / 4
        for label, env in VARIANTS:
            await _variant(label, env, url, args, open_rate, bare)
    print(f"open loop: Poisson arrivals at a quarter of the bare rate ({open_rate:.0f}/s), about 5 s each")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--db", default="postgresql", choices=("postgresql", "sqlite"))
    p.add_argument("--requests", type=int, default=10_000)
    p.add_argument("--clients", type=int, default=50)
    return p.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
