"""Benchmark: the province leadership's reports over a province-year on PostgreSQL (issue 23).

    python -m bench.leadership [--rows 100000] [--repeat 3] [--url postgresql+asyncpg://...] [--keep]

Like ``bench.reporting`` (whose synthetic dossiers it reuses: a fresh database, migrated, the demo province,
dossiers of 2025 loaded with COPY), plus custody events for each dossier (EMA/EMB before the desk's TNH for the
postal ones, KQS after the decision, EMG/EMI for results returned by post), then times the reports the way the
API runs them: form II.06a by commune and by month (``leadership.unit_report``), the legs and the postal share
of the legal clock (``legs_store.legs_report``, SQL aggregates; once also ``legs_report_python``, the definition
it replaced, loading every dossier's milestones: the before and after), the couriers' scorecards. Prints the figures; timings depend on
the machine and on whatever else runs on it, so the legs' lines also give the CPU seconds the report took in the
database backend (read from /proc when PostgreSQL runs on this machine) and in Python. The database is dropped afterwards unless ``--keep``.
"""

import argparse
import asyncio
import json
import os
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import func, select

from backend.lib.pgadmin import admin_exec
from backend.reporting import leadership, legs_store, scorecards
from backend.reporting.definitions import Period
from bench.reporting import COPY_COLUMNS, PG_DEFAULT, YEAR, synthetic_rows
from schemas.catalogue import Procedure
from schemas.leadership import ScorecardKind, UnitGroup
from schemas.orgs import Organisation

EVENT_COLUMNS = ("id", "dossier_id", "seq", "code", "status", "portal_status", "actor_kind", "at", "data")
COL = {name: i for i, name in enumerate(COPY_COLUMNS)}


def synthetic_events(rows: list[tuple[Any, ...]], seed: int = 23) -> list[tuple[Any, ...]]:
    """Custody events of the synthetic dossiers, in EVENT_COLUMNS order."""
    rng = random.Random(seed)
    out: list[tuple[Any, ...]] = []
    for r in rows:
        received: datetime = r[COL["received_at"]]
        resolved: datetime | None = r[COL["resolved_at"]]
        returned: datetime | None = r[COL["returned_at"]]
        channel = r[COL["channel"]]
        steps: list[tuple[str, datetime]] = []
        if channel == "home_pickup":
            posted = received - timedelta(hours=rng.uniform(3, 60))
            steps += [("EMA", posted), ("EMB", posted + (received - posted) * rng.uniform(0.1, 0.6))]
        elif channel == "post_office":
            steps.append(("EMA", received - timedelta(hours=rng.uniform(2, 48))))
        steps.append(("TNH", received))
        if resolved is not None:
            at_desk = resolved + timedelta(hours=rng.uniform(0.5, 30))
            steps.append(("KQS", at_desk))
            if returned is not None and returned > at_desk and r[COL["postal_return"]]:
                steps += [("EMG", at_desk + (returned - at_desk) * rng.uniform(0.2, 0.8)), ("EMI", returned)]
        for seq, (code, at) in enumerate(steps, start=1):
            out.append((uuid.uuid4(), r[0], seq, code, "bench", 1, "staff", at, json.dumps({})))
    return out


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a local PostgreSQL backend so far, from /proc (NaN when not local): what
    a report costs whatever else shares the machine; parallel workers' CPU is not in it."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _time(label: str, repeat: int, run: Callable[[], Awaitable[str]]) -> None:
    took: list[float] = []
    summary = ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        summary = await run()
        took.append((time.perf_counter() - t0) * 1000)
    print(
        f"  {label:<40} min {min(took):8.1f} ms  median {statistics.median(took):8.1f} ms"
        f"  max {max(took):8.1f} ms  | {summary}"
    )


async def _load(engine: Any, factory: Any, rows: int) -> None:
    async with factory() as session:
        procedures = list((await session.exec(select(Procedure))).all())
        orgs = list(
            (await session.exec(select(Organisation).where(Organisation.province_code == "82"))).all()
        )
    t0 = time.perf_counter()
    records = synthetic_rows(rows, procedures, orgs)
    events = synthetic_events(records)
    t1 = time.perf_counter()
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        await raw.copy_records_to_table("dossier", records=records, columns=list(COPY_COLUMNS))
        await raw.copy_records_to_table("dossier_event", records=events, columns=list(EVENT_COLUMNS))
        await conn.commit()
    async with engine.connect() as conn:
        await conn.execute(text("ANALYZE dossier"))
        await conn.execute(text("ANALYZE dossier_event"))
        await conn.commit()
    print(
        f"generated {rows} dossiers and {len(events)} events in {t1 - t0:.1f} s, "
        f"COPY + ANALYZE in {time.perf_counter() - t1:.1f} s"
    )


async def _reports(factory: Any, repeat: int, python_too: bool) -> None:
    year = Period(date(YEAR, 1, 1), date(YEAR, 12, 31))
    month = Period(date(YEAR, 6, 1), date(YEAR, 6, 30))
    province = leadership.ProvinceScope(code="82", name="Tỉnh Đồng Tháp")

    def units(period: Period, group: UnitGroup) -> Callable[[], Awaitable[str]]:
        async def go() -> str:
            async with factory() as session:
                r = await leadership.unit_report(session, period, province, group)
            return (
                f"rows {len(r.rows)} received {r.total.counts.received_total} "
                f"without dossiers {len(r.without_dossiers)}/{len(r.units)}"
            )

        return go

    def legs(period: Period, python: bool = False) -> Callable[[], Awaitable[str]]:
        report = legs_store.legs_report_python if python else legs_store.legs_report

        async def go() -> str:
            async with factory() as session:
                pid = (await session.exec(select(func.pg_backend_pid()))).one()
                cpu0, own0 = _cpu_s(pid), time.process_time()
                r = await report(session, period, province, 10)
                cpu = f"CPU: database {_cpu_s(pid) - cpu0:.2f} s, Python {time.process_time() - own0:.2f} s"
            counts = " ".join(f"{s['leg']}={s['count']}" for s in r.stats)
            return f"{cpu} | {counts} clock {r.clock['dossiers']} dossiers, postal {r.clock['postal_share']}%"

        return go

    async def couriers() -> str:
        async with factory() as session:
            r = await scorecards.scorecards(session, year, province, ScorecardKind.courier)
        return f"{len(r.cards)} couriers"

    print(f"report timings over {repeat} runs each (one session per run):")
    await _time(f"II.06a by commune, year {YEAR}", repeat, units(year, UnitGroup.commune))
    await _time(f"II.06a by post office, year {YEAR}", repeat, units(year, UnitGroup.post_office))
    await _time(f"II.06a by month, year {YEAR}", repeat, units(year, UnitGroup.month))
    await _time(f"legs and clock share, year {YEAR} (SQL)", repeat, legs(year))
    await _time(f"legs and clock share, June {YEAR} (SQL)", repeat, legs(month))
    if python_too:
        await _time(f"legs, year {YEAR}, before (Python)", 1, legs(year, python=True))
        await _time(f"legs, June {YEAR}, before (Python)", 1, legs(month, python=True))
    await _time(f"couriers' scorecards, year {YEAR}", repeat, couriers)


async def run(rows: int, repeat: int, admin_url: str, keep: bool, python_too: bool = True) -> None:
    from backend.db import make_engine, session_factory
    from backend.demo.province import seed_province
    from backend.demo.reference import load_reference
    from backend.migrations import upgrade_async

    name = f"hoso_bench_{uuid.uuid4().hex[:8]}"
    await admin_exec(admin_url, f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        t0 = time.perf_counter()
        await upgrade_async(url)
        factory = session_factory(engine)
        async with factory() as session:
            await load_reference(session)
        async with factory() as session:
            await seed_province(session, password="bench-only", citizens=10)
            await session.commit()
        print(f"database {name}: migrated and seeded in {time.perf_counter() - t0:.1f} s")
        await _load(engine, factory, rows)
        await _reports(factory, repeat, python_too)
    finally:
        await engine.dispose()
        if keep:
            print(f"kept database {name} ({url})")
        else:
            await admin_exec(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.leadership", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", default=os.environ.get("TEST_DATABASE_URL", PG_DEFAULT))
    parser.add_argument("--keep", action="store_true")
    parser.add_argument(
        "--no-python", action="store_true", help="skip the legs computed in Python (the slow definition)"
    )
    args = parser.parse_args(argv)
    asyncio.run(run(args.rows, args.repeat, args.url, args.keep, not args.no_python))


if __name__ == "__main__":
    main()
