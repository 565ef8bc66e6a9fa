"""Drill 1: ``kill -9`` of an API worker process in the middle of a booking burst.

Two Granian workers serve; while ``n`` bookings are in flight (``concurrency`` at once) one worker gets SIGKILL.
Requests it held fail on the client's side (connection reset); the client retries each failed one with the
same ``Idempotency-Key``, as the app does. Expected: Granian respawns the worker; every booking is whole
(``invariants.BOOKING``: its event, its notification in the outbox, its idempotency record, its minutes in the
window's ledger) and the appointments stored are exactly the bookings answered 201 (none lost, none extra).
"""

import asyncio
import os
import signal
import time

import httpx

from bench.drills import common, invariants


async def _respawned(service: common.Service, killed: int, workers: int, wait_s: float = 30) -> float:
    began = time.monotonic()
    while time.monotonic() - began < wait_s:
        now = service.workers()
        if killed not in now and len(now) >= workers:
            return time.monotonic() - began
        await asyncio.sleep(0.05)
    return float("nan")


async def run_on(url: str, n: int = 400, concurrency: int = 16, kill_after: int = 60) -> common.Outcome:
    """The drill against a seeded database at ``url`` (the caller made it)."""
    with common.serving(url, workers=2) as service:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=service.base, timeout=30, limits=limits) as client:
            tokens = await common.citizen_tokens(client)
            burst = await common.burst(client, await common.homes(url), tokens, n)
            before = await invariants.counts(url)
            # Rows that broke a rule before the drill (the demo's past appointments were seeded without their
            # confirmations): the drill must add none.
            baseline = await invariants.broken(url, invariants.BOOKING)
            answered = 0
            sem = asyncio.Semaphore(concurrency)
            victim, held = 0, 0
            killed = asyncio.Event()

            async def one(req: tuple[str, str, dict[str, object]]) -> int | str:
                nonlocal answered, victim, held
                async with sem:
                    got = await common.book(client, *req)
                answered += 1
                if answered == kill_after and not killed.is_set():
                    killed.set()
                    victim, held = service.busiest()  # the one serving most of the burst's connections
                    os.kill(victim, signal.SIGKILL)
                return got

            began = time.monotonic()
            tasks = [asyncio.create_task(one(r)) for r in burst.requests]
            await killed.wait()
            respawn_s = await _respawned(service, victim, 2)
            first = await asyncio.gather(*tasks)
            burst_s = time.monotonic() - began
            failed = [i for i, s in enumerate(first) if not isinstance(s, int) or s >= 500]
            final = list(first)
            for i in failed:  # the client's retry: same caller, same key, same body
                final[i] = await common.book(client, *burst.requests[i])
        now = await invariants.broken(url, invariants.BOOKING)
        broken = {k: now[k] - baseline[k] for k in now}
        after = await invariants.counts(url)
    created = sum(1 for s in final if s == 201)
    stored = after["appointments"] - before["appointments"]
    statuses = sorted({str(s) for s in first})
    failures = [s for s in final if not (isinstance(s, int) and (s in (200, 201, 409)))]
    passed = not any(broken.values()) and stored == created and not failures and respawn_s == respawn_s
    return common.Outcome(
        drill="1 kill -9 worker",
        done=f"{n} bookings, {concurrency} at once, 2 workers; SIGKILL one after {kill_after} answers; "
        "failed requests retried with their Idempotency-Key",
        expected="worker respawned; every booking whole (event, outbox row, key, ledger); stored = answered 201",
        observed=f"first answers {statuses}; {len(failed)} failed and retried; {created} booked, {stored} "
        f"stored; rows newly breaking an invariant {sum(broken.values())}"
        + (f" (before the drill: {sum(baseline.values())})" if any(baseline.values()) else ""),
        passed=passed,
        figures={
            "victim_connections": held,
            "respawn_s": round(respawn_s, 2),
            "burst_s": round(burst_s, 2),
            "lost_in_flight": len(failed),
            "booked": created,
            "full_409": sum(1 for s in final if s == 409),
            "after_retry_not_ok": len(failures),
            **{k: v for k, v in broken.items() if v},
        },
    )


async def run(n: int = 400) -> common.Outcome:
    async with common.database() as (url, _):
        return await run_on(url, n)
