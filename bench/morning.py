"""Benchmark: a nation's morning (issue 24). Every post office's next day planned as SAQ jobs, solved by 1 then 2
``python -m backend solver-worker`` processes on this machine; prints plans per minute against workers, CPU
seconds per plan, and the arithmetic for the national count.

    python -m bench.morning [--provinces 2] [--time-limit 10] [--workers 1,2] [--sqlite]

Needs Redis (``REDIS_URL``, default redis://127.0.0.1:6379/0; a queue of its own, removed afterwards) and
PostgreSQL (``BENCH_DATABASE_URL``'s server, a fresh database dropped afterwards; ``--sqlite``: a temporary file).

Sizes, derived from the demo province (``backend/demo``): 12 post offices, 2 couriers each (shifts 07:30-17:00)
and 340 appointments on its busiest day (``backend/demo/booking.py`` TARGETS), so 28 per office and day, 7 in
10 pickups, 2 deliveries, 1 assisted filing, in two-hour windows from 08:00 to 17:00. Each "province" here is
the demo province's 12 offices on another working day (province k = the k-th working day from tomorrow+7): the
solves are the demo's offices' real days through the whole path (the plan row, Redis, a worker, the day built
from the database, the solver's child process, the solution stored). Each plan asks the API's default solver
budget (``DEFAULT_TIME_LIMIT_S``, 10 s) unless ``--time-limit``.

CPU is measured as the user + system time of the workers and their solver children (``RUSAGE_CHILDREN`` once
the workers have exited), over the plans solved. Plans per minute is plans over the wall time from the workers'
start to the last plan done (the workers' start-up, about 2-4 s, included). The machine is shared: figures vary.

National arithmetic, with its sources and assumptions:
- VNPost: "13,000 serving points at communes and wards" (vnpost.vn, "People come to Post Office to submit
  administrative dossiers for settlement"), all of which accept TTHC dossiers (Decision 45/2016/QĐ-TTg). Taken
  as the upper bound of offices planning a day. Assumption: couriers are dispatched from fewer offices; after
  the 2025 reorganisation Vietnam has 3,321 commune-level units (34 provinces): one dispatching office per
  commune-level unit is the lower figure printed.
- The same page: 40 million dossiers in nearly 4 years, about 10 million a year, about 33,000 per working day
  nationally: 28 home visits a day at every one of 13,000 points (364,000) is far above today's demand, so the
  sizes here are a generous peak per office.
"""

import argparse
import asyncio
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from backend.lib.pgadmin import PG_DEFAULT, admin_exec

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
PER_OFFICE = 28  # 340 appointments on the demo's busiest day / 12 offices
COURIERS_PER_OFFICE = 2  # the demo's
NATIONAL_OFFICES = (
    3_321,
    13_000,
)  # commune-level units (assumption: one dispatching office each); VNPost points
KINDS = ["pickup"] * 7 + ["delivery"] * 2 + ["assisted"]
PICKUP_CODE = "1.004859"


def working_days(n: int) -> list[date]:
    from backend.planning import clock
    from schemas.base import utcnow

    d, days = clock.vn_date(utcnow()) + timedelta(days=7), list[date]()
    while len(days) < n:
        if d.weekday() < 5:
            days.append(d)
        d += timedelta(days=1)
    return days


async def prepare(url: str, days: list[date], seed: int) -> Any:
    """Migrate, seed the demo province, and write every office's appointments of each day."""
    from sqlmodel import select

    from backend.db import make_engine, session_factory
    from backend.demo.province import seed_province
    from backend.demo.reference import load_reference
    from backend.migrations import upgrade_async
    from backend.planning import clock
    from schemas.booking import Appointment, AppointmentKind
    from schemas.catalogue import Procedure

    await upgrade_async(url)
    engine = make_engine(url)
    factory = session_factory(engine)
    async with factory() as session:
        await load_reference(session)
    async with factory() as session:
        ctx = await seed_province(session, password="demo1234", citizens=120)
        await session.commit()
    rng = random.Random(seed)
    async with factory() as session:
        proc = (await session.exec(select(Procedure).where(Procedure.code == PICKUP_CODE))).one()
        for day in days:
            for po in ctx.post_offices:
                points = [c for c in ctx.communes if c.code in ctx.served[po.id]]
                for i in range(PER_OFFICE):
                    c = rng.choice(points)
                    start = rng.randrange(8, 16) * 3600
                    kind = AppointmentKind(rng.choice(KINDS))
                    citizen = rng.choice(ctx.citizens)
                    session.add(
                        Appointment(
                            citizen_id=citizen.id, post_office_id=po.id, province_code=po.province_code,
                            commune_code=c.code, kind=kind, start=clock.at(day, start),
                            end=clock.at(day, min(start + 2 * 3600, 17 * 3600)), cost_minutes=22,
                            lat=c.lat + rng.uniform(-0.01, 0.01), lon=c.lon + rng.uniform(-0.01, 0.01),
                            address=f"Số {i + 1}, thôn thử nghiệm",
                            fees={"postal": 20000, "fee": 0, "charge": 15000, "total": 35000, "currency": "VND"},
                            booked_by_role="citizen", booked_by_id=citizen.id,
                            procedure_id=proc.id if kind != AppointmentKind.delivery else None,
                        )
                    )  # fmt: skip
        await session.commit()
    return engine, ctx


async def enqueue_all(
    engine: Any, ctx: Any, days: list[date], settings: Any, limit: float
) -> list[uuid.UUID]:
    from backend.db import session_factory
    from backend.planning import jobs
    from schemas.planning import Plan

    queue = jobs.make_queue(settings)
    plans = [
        Plan(post_office_id=po.id, service_date=day, options={"time_limit_s": limit, "seed": 0})
        for day in days
        for po in ctx.post_offices
    ]
    async with session_factory(engine)() as session:
        session.add_all(plans)
        await session.commit()
        for plan in plans:
            await session.refresh(plan)
    try:
        for plan in plans:
            assert await jobs.enqueue(queue, plan, settings)
    finally:
        await queue.disconnect()
    return [p.id for p in plans]


async def statuses(engine: Any, ids: list[uuid.UUID]) -> dict[str, int]:
    from sqlmodel import col, select

    from backend.db import session_factory
    from schemas.planning import Plan

    async with session_factory(engine)() as session:
        rows = (await session.exec(select(Plan.status).where(col(Plan.id).in_(ids)))).all()
    out: dict[str, int] = {}
    for s in rows:
        out[str(s)] = out.get(str(s), 0) + 1
    return out


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def start_workers(n: int, env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            [sys.executable, "-m", "backend", "solver-worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(n)
    ]


async def run_round(engine: Any, ids: list[uuid.UUID], workers: int, env: dict[str, str]) -> dict[str, Any]:
    cpu0, t0 = _cpu_children(), time.perf_counter()
    procs = start_workers(workers, env)
    try:
        while True:
            counts = await statuses(engine, ids)
            if counts.get("queued", 0) + counts.get("running", 0) == 0:
                break
            await asyncio.sleep(0.5)
        wall = time.perf_counter() - t0
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(60)
    cpu = _cpu_children() - cpu0
    return {
        "workers": workers,
        "plans": len(ids),
        "done": counts.get("done", 0),
        "wall_s": round(wall, 1),
        "plans_per_min": round(len(ids) / wall * 60, 2),
        "cpu_s_per_plan": round(cpu / len(ids), 2),
    }


def national(rows: list[dict[str, Any]], limit: float) -> list[str]:
    """The solver's search is bounded by wall time, not CPU: on a busy machine it gets less CPU in the same
    budget. A worker holds one core for its whole solve, so the national sizing counts core-seconds a plan
    (workers x wall / plans) beside the CPU measured."""
    one = rows[0]
    core_s = one["workers"] * one["wall_s"] / one["plans"]
    per_worker_min = 60 / core_s
    lines = [
        f"Measured with {one['workers']} worker(s): {core_s:.1f} core-seconds a plan ({limit:g} s solver budget; "
        f"{one['cpu_s_per_plan']} CPU s obtained), {per_worker_min:.2f} plans a minute per worker process."
    ]
    for offices in NATIONAL_OFFICES:
        core_h = offices * core_s / 3600
        for window in (30, 60):
            workers = math.ceil(offices / (per_worker_min * window))
            lines.append(
                f"{offices:>6} offices: {core_h:6.1f} core-hours a morning; planned within {window} min by "
                f"{workers:>5} worker processes (= cores; {math.ceil(workers / 16)} machine(s) of 16 cores)"
            )
    return lines


async def main_async(args: argparse.Namespace) -> None:
    days = working_days(args.provinces)
    tmp = tempfile.mkdtemp(prefix="morning-")
    if args.sqlite:
        url, drop = f"sqlite+aiosqlite:///{tmp}/morning.db", None
    else:
        admin = os.environ.get("BENCH_DATABASE_URL", PG_DEFAULT)
        name = f"hoso_morning_{os.getpid()}"
        await admin_exec(admin, f'CREATE DATABASE "{name}"')
        url = make_url(admin).set(database=name).render_as_string(hide_password=False)
        drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    queue_name = f"morning-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ, "APP_ENV": "development", "DATABASE_URL": url, "PLAN_QUEUE": "saq", "REDIS_URL": REDIS_URL,
        "PLAN_QUEUE_NAME": queue_name, "SOLVER_CONCURRENCY": "1",
    }  # fmt: skip
    from backend.settings import Settings

    settings = Settings(database_url=url, plan_queue="saq", redis_url=REDIS_URL, plan_queue_name=queue_name)
    engine, ctx = await prepare(url, days, args.seed)
    rows = []
    try:
        for workers in args.workers:
            ids = await enqueue_all(engine, ctx, days, settings, args.time_limit)
            rows.append(await run_round(engine, ids, workers, env))
            print(rows[-1], flush=True)
    finally:
        await engine.dispose()
        await _drop_queue(queue_name)
        if drop:
            await admin_exec(os.environ.get("BENCH_DATABASE_URL", PG_DEFAULT), drop)
    print(
        f"\n{args.provinces} province(s) x {len(ctx.post_offices)} offices, {PER_OFFICE} appointments and "
        f"{COURIERS_PER_OFFICE} couriers each, solver budget {args.time_limit:g} s, {os.cpu_count()} cores"
    )
    print(f"{'workers':>7} {'plans':>6} {'wall s':>7} {'plans/min':>10} {'CPU s/plan':>11}")
    for r in rows:
        print(
            f"{r['workers']:>7} {r['plans']:>6} {r['wall_s']:>7} {r['plans_per_min']:>10} {r['cpu_s_per_plan']:>11}"
        )
    print()
    for line in national(rows, args.time_limit):
        print(line)


async def _drop_queue(name: str) -> None:
    import redis.asyncio as aioredis

    r = aioredis.from_url(REDIS_URL)
    try:
        keys = [k async for k in r.scan_iter(match=f"*{name}*")]
        if keys:
            await r.delete(*keys)
    finally:
        await r.aclose()


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--provinces", type=int, default=2, help="provinces (12 offices each)")
    ap.add_argument("--time-limit", type=float, default=10.0, help="solver budget of each plan, s")
    ap.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sqlite", action="store_true", help="a temporary SQLite file instead of PostgreSQL")
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()
