"""Benchmark: form II.06a over a province-year (~100,000 dossiers) on PostgreSQL.

    python -m bench.reporting [--rows 100000] [--repeat 5] [--url postgresql+asyncpg://...] [--keep]

Creates a fresh database next to ``--url`` (default ``TEST_DATABASE_URL`` or the local ``test`` database),
migrates it, seeds the demo province (Đồng Tháp), bulk-loads synthetic dossiers for 2025 with COPY, then
times the report the way the API runs it (``services.dossier_report``) and prints the figures. The database
is dropped afterwards unless ``--keep``. Timings depend on the machine and on whatever else runs on it.
"""

import argparse
import asyncio
import json
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import select

from backend.catalogue.calendar import VN_TZ, default_calendar
from backend.lib.pgadmin import admin_exec
from backend.reporting import export
from backend.reporting.definitions import Period
from backend.reporting.query import GroupBy, Scope
from backend.reporting.services import Report, dossier_report
from schemas import s10
from schemas.catalogue import Procedure
from schemas.enums import AgencyLevel
from schemas.orgs import Organisation

PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
YEAR = 2025
COPY_COLUMNS = (
    "id",
    "item_id",
    "procedure_id",
    "channel",
    "postal_pickup",
    "postal_return",
    "status",
    "portal_status",
    "custodian_kind",
    "custodian_org_id",
    "desk_id",
    "agency_id",
    "submitted_at",
    "received_at",
    "due_at",
    "paused_at",
    "paused_working_days",
    "resolved_at",
    "returned_at",
    "outcome",
    "supplement_required",
    "fees_collected",
    "data",
    "created_at",
    "updated_at",
    "version",
)


def synthetic_rows(
    n: int, procedures: list[Procedure], orgs: list[Organisation], seed: int = 82
) -> list[tuple[Any, ...]]:
    """``n`` dossiers received over ``YEAR`` (3 % in the December before: carried over), in COPY_COLUMNS order."""
    rng = random.Random(seed)
    cal = default_calendar()
    desks = [o for o in orgs if o.kind == "desk"]
    provincial_desk = next(o for o in desks if o.code.endswith("TTPVHCC"))
    commune_desks = [o for o in desks if o is not provincial_desk]
    provincial_agencies = [o for o in orgs if o.kind == "agency" and "-UB-" not in o.code]
    commune_agency = {o.commune_code: o for o in orgs if o.kind == "agency" and "-UB-" in o.code}
    days = [d for d in (date(YEAR - 1, 12, 1) + timedelta(i) for i in range(396)) if cal.is_working_day(d)]
    days = [d for d in days if d.year == YEAR or rng.random() < 0.03 * 12]  # thin out the December before
    channels = ["online", "direct", "home_pickup", "post_office"]
    rows: list[tuple[Any, ...]] = []
    now = datetime.now(UTC)
    for i in range(n):
        proc = rng.choice(procedures)
        desk = provincial_desk if rng.random() < 0.3 else rng.choice(commune_desks)
        if proc.level == AgencyLevel.commune:
            agency = commune_agency.get(desk.commune_code) or rng.choice(list(commune_agency.values()))
        else:
            agency = rng.choice(provincial_agencies)
        day = rng.choice(days)
        received = datetime(
            day.year, day.month, day.day, rng.randint(7, 16), rng.randint(0, 59), tzinfo=VN_TZ
        )
        due = cal.due_at(received, proc.processing_days)
        channel = rng.choices(channels, weights=[45, 35, 12, 8])[0]
        paused = rng.choice([1, 2, 3, 5]) if rng.random() < 0.06 else 0
        due_day = due.astimezone(VN_TZ).date()
        roll = rng.random()
        resolved: datetime | None
        if roll < 0.05:
            resolved = None
        else:
            shift = rng.randint(-5, -1) if roll < 0.6 else (0 if roll < 0.9 else rng.randint(1, 10))
            day_of = cal.add_days(due_day, paused) + timedelta(days=shift)
            resolved = max(received, datetime(day_of.year, day_of.month, day_of.day, 10, tzinfo=VN_TZ))
            if resolved > now:
                resolved = None
        returned = resolved + timedelta(days=rng.randint(0, 3)) if resolved and rng.random() < 0.9 else None
        if returned is not None and returned > now:
            returned = None
        status = "delivered" if returned else ("result_ready" if resolved else "processing")
        rows.append(
            (
                uuid.uuid4(),
                s10.make("HS", 10_000_000 + i),
                proc.id,
                channel,
                channel in ("home_pickup", "post_office"),
                rng.random() < 0.25,
                status,
                1,
                "citizen" if returned else "agency",
                None if returned else agency.id,
                desk.id,
                agency.id,
                received,
                received,
                due,
                received + timedelta(days=2) if resolved is None and rng.random() < 0.2 else None,
                paused,
                resolved,
                returned,
                "approved" if resolved else None,
                paused > 0,
                0,
                json.dumps({"bench": True}),
                received,
                returned or resolved or received,
                1,
            )
        )
    return rows


async def _time(label: str, repeat: int, run: Callable[[], Awaitable[Report]]) -> Report:
    took: list[float] = []
    report: Report | None = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        report = await run()
        took.append((time.perf_counter() - t0) * 1000)
    assert report is not None
    t = report.total.counts
    print(
        f"  {label:<44} min {min(took):7.1f} ms  median {statistics.median(took):7.1f} ms  max {max(took):7.1f} ms"
        f"  | rows {len(report.rows):3d} received {t.received_total:6d} resolved {t.resolved_total:6d}"
        f" in progress {t.in_progress_total:5d}"
    )
    return report


async def run(rows: int, repeat: int, admin_url: str, keep: bool) -> None:
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
        async with factory() as session:
            procedures = list((await session.exec(select(Procedure))).all())
            orgs = list(
                (await session.exec(select(Organisation).where(Organisation.province_code == "82"))).all()
            )
        print(f"database {name}: migrated and seeded in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        records = synthetic_rows(rows, procedures, orgs)
        t1 = time.perf_counter()
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
                "dossier", records=records, columns=list(COPY_COLUMNS)
            )
            await conn.commit()
        async with engine.connect() as conn:
            await conn.execute(text("ANALYZE dossier"))
            await conn.commit()
        print(
            f"generated {rows} dossiers in {t1 - t0:.1f} s, COPY + ANALYZE in {time.perf_counter() - t1:.1f} s"
        )

        year = Period(date(YEAR, 1, 1), date(YEAR, 12, 31))
        quarter = Period(date(YEAR, 4, 1), date(YEAR, 6, 30))
        desk = next(o for o in orgs if o.code.endswith("TTPVHCC"))
        commune_desk = next(o for o in orgs if "-MC-" in o.code)
        province = Scope(kind="province", code="82", name="Đồng Tháp")
        print(f"report timings over {repeat} runs each (services.dossier_report, one session per run):")

        def job(period: Period, scope: Scope, group_by: GroupBy) -> Callable[[], Awaitable[Report]]:
            async def go() -> Report:
                async with factory() as session:
                    return await dossier_report(session, period, scope, group_by)

            return go

        for group_by in GroupBy:
            report = await _time(
                f"province 82, year {YEAR}, by {group_by.value}", repeat, job(year, province, group_by)
            )
            if any(r.counts.identity_errors() for r in [*report.rows, report.total]):
                raise SystemExit("identity broken")
        everything = Scope(kind="all")
        await _time(
            f"everything (admin), year {YEAR}, by field", repeat, job(year, everything, GroupBy.field)
        )
        provincial = Scope(kind="desk", code=desk.code, org_id=desk.id)
        await _time(
            f"provincial desk, year {YEAR}, by procedure", repeat, job(year, provincial, GroupBy.procedure)
        )
        commune = Scope(kind="desk", code=commune_desk.code, org_id=commune_desk.id)
        await _time("one commune desk, a quarter, by field", repeat, job(quarter, commune, GroupBy.field))
        t0 = time.perf_counter()
        report = await job(year, province, GroupBy.procedure)()
        data = export.to_csv(report)
        print(f"  CSV export of the province-year by procedure: {len(data)} bytes in "
              f"{(time.perf_counter() - t0) * 1000:.1f} ms (query included)")  # fmt: skip
    finally:
        await engine.dispose()
        if keep:
            print(f"kept database {name} ({url})")
        else:
            await admin_exec(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> None:
    import os

    parser = argparse.ArgumentParser(prog="python -m bench.reporting", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--url", default=os.environ.get("TEST_DATABASE_URL", PG_DEFAULT))
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    asyncio.run(run(args.rows, args.repeat, args.url, args.keep))


if __name__ == "__main__":
    main()
