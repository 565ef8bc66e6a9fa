"""Drill 8: a real PostgreSQL restart under load, the service not restarted.

The shared server may not be restarted, so the drill makes its own: ``initdb -A trust`` in a temporary
directory, ``pg_ctl start`` on a free port (its Unix socket in that directory too), the drill's database copied
into it (``pg_dump -Fc`` / ``pg_restore``: the demo as loaded). ``initdb`` and the server refuse to run as root,
so when the drill runs as root they run as the ``postgres`` account through ``runuser`` (the directory is given
to it). The service (``python -m backend serve``, two Granian workers) runs on that cluster while a client books
pickups and reads a home's windows without pause; then ``pg_ctl restart -m fast``, and later ``pg_ctl stop -m
fast``, a gap of ``gap_s`` seconds, ``pg_ctl start``.

Expected: while the server is down or restarting, 503 ``database_unavailable`` problems, never a 500 or a
dropped connection; the service answers again by itself (same processes); each worker's change listener
(``backend/lib/pgnotify.py``) reconnects, so a change made in the database behind the service's back is seen at
once through fresh connections (whichever worker answers); no half-written booking (``invariants.BOOKING``),
and after the client retries the failed bookings with their ``Idempotency-Key`` the appointments stored are
exactly those answered 2xx.
"""

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from backend.lib.pgadmin import admin_exec
from bench.drills import common, invariants
from bench.drills.backup_restore import _libpq
from bench.drills.pg_restart import _fill, _remaining

DB = "drill"


class Cluster:
    """A private PostgreSQL cluster: initdb, pg_ctl start/stop/restart, removed at the end."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="drill-pg-"))
        self.data = self.dir / "data"
        self.port = common.free_port()
        self.as_root = os.geteuid() == 0
        # initdb: "cannot be run as root"; so the postgres account runs the cluster, which must own the directory.
        self.prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{DB}"
        self.admin = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> float:
        began = time.monotonic()
        done = subprocess.run(
            [*self.prefix, *args], cwd=self.dir, capture_output=True, text=True, check=False, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed ({done.returncode}): {done.stderr[-1500:]}")
        return time.monotonic() - began

    def init(self) -> float:
        return self._run(
            "initdb", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "-D", str(self.data)
        )

    def _ctl(self, action: str, *extra: str) -> float:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.dir / "server.log")
        return self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", *extra, action)

    def start(self) -> float:
        return self._ctl("start")

    def stop(self) -> float:
        return self._ctl("stop", "-m", "fast")

    def restart(self) -> float:
        return self._ctl("restart", "-m", "fast")

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


async def _copy_demo(source: str, cluster: Cluster) -> float:
    """The drill database, dumped and restored into the cluster's database ``drill``."""
    began = time.monotonic()
    args, env = _libpq(source)
    dump = str(cluster.dir / "demo.dump")
    name = source.rsplit("/", 1)[1]
    await asyncio.to_thread(
        subprocess.run, ["pg_dump", *args, "--format=custom", "--file", dump, name], env=env, check=True
    )
    await admin_exec(cluster.admin, f'CREATE DATABASE "{DB}"')
    target, env2 = _libpq(cluster.url)
    await asyncio.to_thread(
        subprocess.run,
        ["pg_restore", *target, "--no-owner", "--exit-on-error", "--dbname", DB, dump],
        env=env2,
        check=True,
    )
    return time.monotonic() - began


@dataclass
class Load:
    """Bookings and reads one after another until stopped: (monotonic time, kind, status, problem code)."""

    base: str
    requests: list[tuple[str, dict[str, Any]]]  # (citizen's token, booking body), taken in turn
    where: dict[str, Any]
    seen: list[tuple[float, str, int | str, str | None]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    final: dict[str, int | str] = field(default_factory=dict)
    sent: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=15) as c:
            n = 0
            while not self.stop.is_set():
                n += 1
                key = f"drill8-{os.getpid()}-{n}"
                self.keys.append(key)
                token, body = self.requests[n % len(self.requests)]
                await self._one(c, "book", key, token, body)
                await self._one(c, "read", None)
                await asyncio.sleep(0.05)

    async def _one(
        self,
        c: httpx.AsyncClient,
        kind: str,
        key: str | None,
        token: str = "",
        body: dict[str, Any] | None = None,
    ) -> None:
        code = None
        try:
            if key is not None:
                self.sent[key] = (token, body or {})
                r = await c.post(
                    "/api/v1/appointments",
                    json=body,
                    headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
                )
            else:
                r = await c.get("/api/v1/slots", params=self.where)
            status: int | str = r.status_code
            if r.headers.get("content-type", "").startswith("application/problem+json"):
                code = r.json().get("code")
        except httpx.TransportError as exc:
            status = type(exc).__name__
        self.seen.append((time.monotonic(), kind, status, code))
        if key is not None:
            self.final[key] = status


async def _all_see(
    base: str, where: dict[str, Any], start: str, was: int | None, limit_s: float
) -> tuple[float, float]:
    """Seconds until a read shows a value other than ``was``, and until six reads in a row, each on a fresh
    connection (any worker), show it (inf: not within ``limit_s``)."""
    began = time.monotonic()
    first = float("inf")
    streak = 0
    while time.monotonic() - began < limit_s:
        async with httpx.AsyncClient(base_url=base, timeout=5) as c:
            now = await _remaining(c, where, start)
        changed = now is not None and now != was
        if changed and first == float("inf"):
            first = time.monotonic() - began
        streak = streak + 1 if changed else 0
        if streak >= 6:
            return first, time.monotonic() - began
        await asyncio.sleep(0.02)
    return first, float("inf")


async def _recovered(load: Load, since: float, limit_s: float) -> float:
    """Seconds after ``since`` until the load's first 2xx answer (inf: none within ``limit_s``)."""
    while time.monotonic() - since < limit_s:
        ok = [t for t, _, s, _ in load.seen if t > since and isinstance(s, int) and s < 300]
        if ok:
            return ok[0] - since
        await asyncio.sleep(0.05)
    return float("inf")


async def _listeners(url: str, want: int, limit_s: float) -> int:
    """The service's LISTEN connections to the cluster (``pg_stat_activity``: a connection whose last statement
    was a LISTEN), waiting up to ``limit_s`` for ``want`` of them."""
    began = time.monotonic()
    while True:
        rows = await common.fetch(
            url,
            f"SELECT count(*) AS n FROM pg_stat_activity WHERE datname = '{DB}' AND query LIKE 'LISTEN%'",  # noqa: S608
        )
        n = int(rows[0]["n"])
        if n >= want or time.monotonic() - began > limit_s:
            return n
        await asyncio.sleep(0.2)


async def _change_seen(
    url: str, base: str, where: dict[str, Any], start: str, cost: int
) -> tuple[float, float]:
    async with httpx.AsyncClient(base_url=base, timeout=5) as c:
        before = await _remaining(c, where, start)
    await _fill(url, start, cost)
    return await _all_see(base, where, start, before, 10)


async def run_on(source: str, gap_s: float = 5.0) -> common.Outcome:
    for tool in ("initdb", "pg_ctl", "pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            return common.Outcome("8 PostgreSQL restart", "-", "-", f"{tool} not installed", False)
    cluster = Cluster()
    try:
        init_s = await asyncio.to_thread(cluster.init)
        await asyncio.to_thread(cluster.start)
        copy_s = await _copy_demo(source, cluster)
        return await _drill(cluster, init_s, copy_s, gap_s)
    finally:
        await asyncio.to_thread(cluster.destroy)


async def _drill(cluster: Cluster, init_s: float, copy_s: float, gap_s: float) -> common.Outcome:
    url = cluster.url
    baseline = await invariants.broken(url, invariants.BOOKING)
    before = await invariants.counts(url)
    with common.serving(url, workers=2) as service:
        pids = [service.proc.pid if service.proc else 0, *service.workers()]
        async with httpx.AsyncClient(base_url=service.base, timeout=15) as c:
            tokens = await common.citizen_tokens(c, common.PHONES[1:11])
            places = await common.homes(url)
            lat, lon = places[1]
            where: dict[str, Any] = {"kind": "pickup", "lat": lat, "lon": lon}
            items = (await c.get("/api/v1/slots", params=where)).json()["items"]
            slot = max(items, key=lambda s: s["remaining"])  # the window watched for changes
            body = {
                "kind": "pickup",
                "start": slot["start"],
                "lat": lat,
                "lon": lon,
                "procedure": common.PROCEDURE,
            }
            first = await common.book(c, tokens[0], f"drill8-first-{os.getpid()}", body)  # its ledger row
            burst = await common.burst(c, places, tokens, 300)
        # The load books other windows: a change the watched window shows comes from behind the service's back.
        requests = [(t, b) for t, _, b in burst.requests if b["start"] != slot["start"]]
        load = Load(service.base, requests, where)
        runner = asyncio.ensure_future(load.run())
        await asyncio.sleep(3)
        rows = await common.fetch(url, "SELECT max(cost_minutes) AS m FROM appointment")
        cost = int(rows[0]["m"] or 30)
        seen_before = await _change_seen(url, service.base, where, slot["start"], cost)
        listening = [await _listeners(url, 2, 10)]  # one per worker

        t_restart = time.monotonic()
        restart_s = await asyncio.to_thread(cluster.restart)
        recovery_restart = await _recovered(load, t_restart + restart_s, 60)
        listening.append(await _listeners(url, listening[0], 10))
        seen_restart = await _change_seen(url, service.base, where, slot["start"], cost)

        t_stop = time.monotonic()
        await asyncio.to_thread(cluster.stop)
        await asyncio.sleep(gap_s)
        down = [x for x in load.seen if x[0] > t_stop]
        t_start = time.monotonic()
        await asyncio.to_thread(cluster.start)
        recovery_start = await _recovered(load, t_start, 60)
        listening.append(await _listeners(url, listening[0], 10))
        seen_start = await _change_seen(url, service.base, where, slot["start"], cost)
        await asyncio.sleep(2)
        load.stop.set()
        await runner
        # The client's retries of the bookings that got no answer or a 503, with the same key.
        retry = [k for k, s in load.final.items() if not (isinstance(s, int) and s in (200, 201, 409))]
        async with httpx.AsyncClient(base_url=service.base, timeout=15) as c:
            for k in retry:
                await load._one(c, "book", k, *load.sent[k])
        pids_after = [service.proc.pid if service.proc else 0, *service.workers()]
        log = service.log_text()
        if "unhandled error" in log:  # kept for the reader: the service's log goes with the service
            kept = Path(tempfile.gettempdir()) / f"drill-pgrestart-{os.getpid()}.log"
            kept.write_text(log)
    await _fill(url, slot["start"], -3 * cost)  # undo the changes made behind the service's back
    now = await invariants.broken(url, invariants.BOOKING)
    broken = {k: now[k] - baseline[k] for k in now}
    after = await invariants.counts(url)
    return _judge(
        first=first,
        load=load,
        down=down,
        retried=len(retry),
        broken=broken,
        stored=after["appointments"] - before["appointments"] - (1 if first == 201 else 0),
        same_processes=pids == pids_after,
        log_500s=log.count("unhandled error"),
        figures={
            "initdb_s": round(init_s, 1),
            "demo_copy_s": round(copy_s, 1),
            "restart_s": round(restart_s, 2),
            "recovery_after_restart_s": round(recovery_restart, 2),
            "stop_gap_s": gap_s,
            "recovery_after_start_s": round(recovery_start, 2),
            "listeners_before_restart_start": listening,
            # (first read showing it, six fresh-connection reads in a row showing it)
            "change_seen_s_before": [round(x, 2) for x in seen_before],
            "change_seen_s_after_restart": [round(x, 2) for x in seen_restart],
            "change_seen_s_after_start": [round(x, 2) for x in seen_start],
        },
    )


def _judge(
    *,
    first: int | str,
    load: Load,
    down: list[tuple[float, str, int | str, str | None]],
    retried: int,
    broken: dict[str, int],
    stored: int,
    same_processes: bool,
    log_500s: int,
    figures: dict[str, Any],
) -> common.Outcome:
    statuses = [s for _, _, s, _ in load.seen]
    bad = [s for s in statuses if not isinstance(s, int) or (s >= 500 and s != 503)]
    codes_503 = {c for _, _, s, c in load.seen if s == 503}
    down_503 = sum(1 for _, _, s, _ in down if s == 503)
    created = sum(1 for s in load.final.values() if s in (200, 201))
    not_ok = [s for s in load.final.values() if not (isinstance(s, int) and s in (200, 201, 409))]
    passed = (
        first == 201
        and not bad
        and down_503 > 0
        and codes_503 == {"database_unavailable"}
        and figures["recovery_after_restart_s"] < 30
        and figures["recovery_after_start_s"] < 30
        and max(figures["change_seen_s_after_restart"][0], figures["change_seen_s_after_start"][0]) < 2.5
        and max(figures["change_seen_s_after_restart"][1], figures["change_seen_s_after_start"][1]) < 10
        and figures["listeners_before_restart_start"] == [2, 2, 2]
        and same_processes
        and not any(broken.values())
        and stored == created
        and not not_ok
        and log_500s == 0
    )
    counts: dict[str, int] = {}
    for s in statuses:
        counts[str(s)] = counts.get(str(s), 0) + 1
    return common.Outcome(
        drill="8 PostgreSQL restart",
        done="private cluster (initdb, pg_ctl) with the demo; service on it under bookings and reads; "
        f"pg_ctl restart -m fast, then stop -m fast, {figures['stop_gap_s']:g} s, start",
        expected="503 database_unavailable while down, never a 500 or a dropped connection; recovery without "
        "restarting the service; a change behind its back seen at once after; no half-written booking",
        observed=f"answers {counts} (503 codes {sorted(c or '-' for c in codes_503)}; {down_503} 503s in the "
        f"stop gap); recovered in {figures['recovery_after_restart_s']} s after the restart and "
        f"{figures['recovery_after_start_s']} s after the start; same processes: {same_processes}; change seen "
        f"in {figures['change_seen_s_after_restart']} / {figures['change_seen_s_after_start']} s; LISTEN "
        f"connections {figures['listeners_before_restart_start']}; {retried} "
        f"retried, {created} booked, {stored} stored; rows newly breaking an invariant {sum(broken.values())}",
        passed=passed,
        figures={
            **figures,
            "requests": len(statuses),
            "http_500": len(bad),
            "log_500s": log_500s,
            **{k: v for k, v in broken.items() if v},
        },
    )


async def run() -> common.Outcome:
    async with common.database() as (url, _):
        return await run_on(url)
