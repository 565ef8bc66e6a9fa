"""The living demo province (issue 23): ``seed_all`` on a fresh database with a smaller history (the bulk writer of
``backend/demo/history.py``, the same code ``make run`` runs with 100,000 rows), then what the demo promises:
the history's channel mix and on-time rate, every commune with dossiers, form II.06a adding up, dossiers at
several stages at every desk, a plan at every post office, a courier part-way, ratings and complaints."""

from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from backend.catalogue.calendar_service import working_calendar
from backend.db import make_engine, session_factory
from backend.demo import background, seed_all
from backend.demo.background import demo_context
from backend.demo.history import SOURCE, generate
from backend.reporting.definitions import Counts, Period
from backend.reporting.leadership import ProvinceScope, counts_by, counts_by_month, months, unit_report
from schemas.base import utcnow
from schemas.booking import Appointment
from schemas.catalogue import Procedure
from schemas.dossiers import Dossier, DossierEvent
from schemas.enums import OrgKind
from schemas.feedback import Complaint, FeedbackEvent, Rating
from schemas.leadership import UnitGroup
from schemas.orgs import Organisation
from schemas.planning import Plan, PlanRoute, PlanStatus, PlanStop
from schemas.vntime import vn_date
from tests.conftest import DEMO_PASSWORD, create_database

pytestmark = pytest.mark.asyncio(loop_scope="session")
ROWS = 6000


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def demo_db(db_kind: str, tmp_root: Path) -> AsyncIterator[tuple[AsyncEngine, dict[str, Any]]]:
    url, drop = await create_database(db_kind, tmp_root)
    engine = make_engine(url)
    try:
        loaded = await seed_all(engine, password=DEMO_PASSWORD, history_rows=ROWS)
        yield engine, loaded
    finally:
        await engine.dispose()
        await drop()


async def _report(engine: AsyncEngine, group: UnitGroup) -> Any:
    today = vn_date(utcnow())
    period = Period(first=today - timedelta(days=740), last=today)
    async with session_factory(engine)() as s:
        return await unit_report(s, period, ProvinceScope("82", "Tỉnh Đồng Tháp"), group)


async def test_history_written_in_bulk_with_events(demo_db: tuple[AsyncEngine, dict[str, Any]]) -> None:
    engine, loaded = demo_db
    history = loaded["history"]
    assert ROWS <= history["dossiers"] <= ROWS + 103 * 8  # the rows asked for, and today's pile at every desk
    assert history["events"] >= 2 * history["dossiers"]
    async with session_factory(engine)() as s:
        first, last = (
            await s.execute(select(func.min(col(Dossier.received_at)), func.max(col(Dossier.received_at))))
        ).one()
        codes: dict[str, int] = dict(
            (
                await s.execute(select(col(DossierEvent.code), func.count()).group_by(col(DossierEvent.code)))
            ).all()  # type: ignore[arg-type]
        )
    assert last - first > timedelta(days=700)  # two years
    for code in (
        "EMA",
        "EMB",
        "TNH",
        "TCQ",
        "TKQ",
        "KQS",
        "KQN",
        "EMG",
        "EMI",
    ):  # the legs report's milestones
        assert codes.get(code, 0) > 0, code


async def test_channel_mix_on_time_and_ii06a_identities(demo_db: tuple[AsyncEngine, dict[str, Any]]) -> None:
    engine, _ = demo_db
    report = await _report(engine, UnitGroup.commune)
    total = report.total.counts
    assert total.identity_errors() == []
    assert total.received_total == total.received_online + total.received_direct_postal + total.carried_over
    assert total.resolved_total == total.resolved_early + total.resolved_on_time + total.resolved_late
    for row in report.rows:
        assert row.counts.identity_errors() == [], row.group
    online = total.received_online / total.received_new
    postal = total.postal_pickup / total.received_new
    on_time = (total.resolved_early + total.resolved_on_time) / total.resolved_total
    assert 0.15 <= online <= 0.21, online
    assert 0.17 <= postal <= 0.23, postal
    assert on_time >= 0.99, on_time
    assert total.resolved_late > 0 and total.resolved_early > 0 and total.in_progress_overdue > 0
    assert report.without_dossiers == []  # every commune of the province has dossiers
    months = await _report(engine, UnitGroup.month)
    assert len(months.rows) >= 24 and all(r.counts.identity_errors() == [] for r in months.rows)
    assert sum(r.counts.received_new for r in months.rows) == total.received_new


async def test_ii06a_by_month_in_one_query_equals_each_month_alone(
    demo_db: tuple[AsyncEngine, dict[str, Any]],
) -> None:
    """Form II.06a by month (``counts_by_month``, one grouped query) gives, month by month, the numbers of the
    form run on that month alone (``counts_by`` summed over its rows, one query a month): over two years of the
    demo history, a span cut mid-month at both ends, and the running month (judged now, not at its end)."""
    engine, _ = demo_db
    now = utcnow()
    today = vn_date(now)
    scope = ProvinceScope("82", "Tỉnh Đồng Tháp").scope
    periods = [
        Period(first=today - timedelta(days=740), last=today),
        Period(first=today - timedelta(days=400), last=today - timedelta(days=200)),
        Period(first=today.replace(day=1), last=today),
    ]
    async with session_factory(engine)() as s:
        for period in periods:
            grouped = await counts_by_month(s, period, scope, now)
            assert [piece for piece, _ in grouped] == months(period)
            for piece, counts in grouped:
                alone = await counts_by(s, piece, scope, UnitGroup.field, piece.as_of(now))
                assert counts == sum(alone.values(), Counts()), (period, piece)
        whole = await counts_by_month(s, periods[0], scope, now)
    # the comparison is of real numbers: months with new, carried-over, late and overdue dossiers
    assert sum(c.received_total > 0 for _, c in whole) >= len(whole) - 1  # the history starts ~2 years back
    assert sum(c.carried_over for _, c in whole) > 0 and sum(c.resolved_late for _, c in whole) > 0
    assert whole[-1][1].in_progress_total > 0 and sum(c.in_progress_overdue for _, c in whole) > 0


async def test_every_desk_has_dossiers_at_several_stages(demo_db: tuple[AsyncEngine, dict[str, Any]]) -> None:
    engine, _ = demo_db
    async with session_factory(engine)() as s:
        desks = (
            (await s.execute(select(col(Organisation.id)).where(col(Organisation.kind) == OrgKind.desk)))
            .scalars()
            .all()
        )
        rows = (await s.execute(select(col(Dossier.desk_id), col(Dossier.status), func.count()).group_by(col(Dossier.desk_id), col(Dossier.status)))).all()  # fmt: skip
        agencies = (await s.execute(select(func.count(func.distinct(col(Dossier.agency_id)))).where(col(Dossier.status) == "processing"))).scalar_one()  # fmt: skip
    by_desk: dict[Any, set[str]] = {}
    for desk, status, _ in rows:
        by_desk.setdefault(desk, set()).add(status)
    demo_desks = [d for d in desks if d in by_desk]
    assert len(demo_desks) >= 103  # the provincial centre and the 102 communes' centres
    for desk in demo_desks:
        assert len(by_desk[desk]) >= 2 and by_desk[desk] - {"delivered"}, by_desk[desk]
    everywhere = Counter(s for statuses in by_desk.values() for s in statuses)
    for status in (
        "received",
        "processing",
        "awaiting_supplement",
        "result_ready",
        "at_post_office",
        "delivered",
    ):
        assert everywhere[status] > 0, status
    assert agencies >= 50  # agencies with dossiers on their table


async def test_every_office_has_a_plan_and_a_courier_is_part_way(
    demo_db: tuple[AsyncEngine, dict[str, Any]],
) -> None:
    engine, _ = demo_db
    async with session_factory(engine)() as s:
        offices = (await s.execute(select(col(Organisation.id)).where(col(Organisation.kind) == OrgKind.post_office, col(Organisation.code).startswith("82-BD-")))).scalars().all()  # fmt: skip
        planned = set((await s.execute(select(col(Plan.post_office_id)).where(col(Plan.status) == PlanStatus.published))).scalars().all())  # fmt: skip
        booked = (
            await s.execute(select(func.count(func.distinct(col(Appointment.post_office_id)))))
        ).scalar_one()
        appointments = (await s.execute(select(func.count()).select_from(Appointment))).scalar_one()
        stops = (await s.execute(select(col(PlanStop.route_id), col(PlanStop.status)).join(PlanRoute, col(PlanRoute.id) == col(PlanStop.route_id)))).all()  # fmt: skip
    assert len(offices) == 12 and set(offices) <= planned
    assert booked == 12 and appointments >= 300
    routes: dict[Any, Counter[str]] = {}
    for route, status in stops:
        routes.setdefault(route, Counter())[str(status)] += 1
    part_way = [c for c in routes.values() if c["done"] and (c["planned"] or c["started"])]
    assert len(part_way) >= 2, routes
    assert [c for c in part_way if c["failed"]], routes  # a visit failed on the way, others still ahead


async def test_ratings_and_complaints_in_every_state(demo_db: tuple[AsyncEngine, dict[str, Any]]) -> None:
    engine, _ = demo_db
    async with session_factory(engine)() as s:
        ratings = (await s.execute(select(func.count()).select_from(Rating))).scalar_one()
        offices = (
            await s.execute(select(func.count(func.distinct(col(Rating.post_office_id)))))
        ).scalar_one()
        states: dict[str, int] = dict(
            (
                await s.execute(select(col(Complaint.status), func.count()).group_by(col(Complaint.status)))
            ).all()  # type: ignore[arg-type]
        )
        events: dict[str, int] = dict((await s.execute(select(col(FeedbackEvent.type), func.count()).group_by(col(FeedbackEvent.type)))).all())  # type: ignore[arg-type]  # fmt: skip
    assert ratings >= 40 and offices >= 10
    assert set(states) >= {"received", "assigned", "answered", "closed"}, states
    assert events["rated"] >= ratings and events["filed"] == sum(states.values())
    assert events["assigned"] >= 4 and events["answered"] >= 2 and events["closed"] >= 2


async def test_history_is_deterministic(demo_db: tuple[AsyncEngine, dict[str, Any]]) -> None:
    """Same province, seed, rows and instant: the same rows, ids included; more rows asked: other rows."""
    engine, _ = demo_db
    async with session_factory(engine)() as s:
        ctx = await demo_context(s, "82")
        procedures = list((await s.execute(select(Procedure).order_by(Procedure.code))).scalars().all())
        cal = await working_calendar(s)
    now = utcnow()
    a, b = (generate(ctx, procedures, cal, 400, now) for _ in range(2))
    assert a.dossiers == b.dossiers and a.events == b.events
    assert a.event_ends[-1] == len(a.events) and all(d["data"]["source"] == SOURCE for d in a.dossiers)
    c = generate(ctx, procedures, cal, 500, now)
    assert [d["id"] for d in c.dossiers[:10]] != [d["id"] for d in a.dossiers[:10]]


async def test_background_loader_writes_more_history_in_chunks(
    demo_db: tuple[AsyncEngine, dict[str, Any]],
) -> None:
    """``make run``'s loader (a child process there; called here): the rows asked for, beside those there, with
    their events, in chunks of ``CHUNK`` dossiers."""
    engine, _ = demo_db
    count = select(func.count()).select_from(Dossier)
    async with session_factory(engine)() as s:
        before = (await s.execute(count)).scalar_one()
    got = await background.load(engine.url.render_as_string(hide_password=False), "82", 300)
    async with session_factory(engine)() as s:
        after = (await s.execute(count)).scalar_one()
    assert after - before == got["dossiers"] >= 300 and got["events"] >= 2 * got["dossiers"]
