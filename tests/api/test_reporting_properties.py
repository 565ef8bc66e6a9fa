"""Property: on random dossiers the SQL report equals the definitions' naive reference, row by row, and the
form's identities hold on every row."""

from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import session_factory
from backend.reporting.definitions import DossierFacts, Period, aggregate
from backend.reporting.query import GroupBy, Scope
from backend.reporting.services import dossier_report
from schemas.base import VN_TZ
from schemas.enums import OrgKind
from tests.api.test_reporting_support import dossier, new_org, remove, store, two_procedures

# Around April-May 2024: Hùng Kings' day (18/4), 30/4 and 1/5 fall inside, so pauses cross holidays.
BASE = datetime(2024, 4, 1, tzinfo=VN_TZ)
CHANNELS = ["direct", "online", "home_pickup", "post_office"]
_orgs: dict[str, Any] = {}


@st.composite
def dossier_facts(draw: st.DrawFn) -> tuple[int, DossierFacts]:
    minutes = st.integers(0, 24 * 60 - 1)
    received = None
    if draw(st.integers(0, 9)):
        received = BASE + timedelta(days=draw(st.integers(-40, 70)), minutes=draw(minutes))

    def after(start: datetime | None, days: int) -> datetime | None:
        anchor = start or BASE
        return anchor + timedelta(days=draw(st.integers(0, days)), minutes=draw(minutes))

    due = None
    if draw(st.integers(0, 9)):
        day = (received or BASE).date() + timedelta(days=draw(st.integers(0, 20)))
        hour, minute = draw(st.sampled_from([(17, 0), (11, 30)]))  # a half-day procedure is due before noon
        due = datetime(day.year, day.month, day.day, hour, minute, tzinfo=VN_TZ)
    resolved = after(received, 50) if draw(st.booleans()) else None
    if resolved is not None and draw(st.integers(0, 19)) == 0:
        resolved -= timedelta(days=2)  # a clock error in old data: resolved before received
    returned = after(resolved or received, 5) if draw(st.booleans()) else None
    facts = DossierFacts(
        received_at=received,
        due_at=due,
        resolved_at=resolved,
        returned_at=returned,
        paused_at=after(received, 30) if draw(st.integers(0, 4)) == 0 else None,
        paused_working_days=draw(st.sampled_from([0, 0, 0, 1, 2, 4])),  # informational: must not matter
        outcome=draw(st.sampled_from([None, None, "approved", "refused", "withdrawn"])),
        channel=draw(st.sampled_from(CHANNELS)),
        postal_pickup=draw(st.booleans()),
        postal_return=draw(st.booleans()),
    )
    return draw(st.integers(0, 1)), facts


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=st.lists(dossier_facts(), max_size=25),
    start=st.integers(-10, 40),
    length=st.integers(0, 45),
    now_offset=st.integers(0, 80 * 24),
    group_by=st.sampled_from(list(GroupBy)),
)
async def test_sql_equals_reference_and_identities_hold(
    engine: AsyncEngine,
    items: list[tuple[int, DossierFacts]],
    start: int,
    length: int,
    now_offset: int,
    group_by: GroupBy,
) -> None:
    key = str(engine.url)
    if key not in _orgs:
        _orgs[key] = (
            await new_org(engine),
            await new_org(engine, OrgKind.agency),
            await two_procedures(engine),
        )
    desk, agency, procs = _orgs[key]
    first = BASE.date() + timedelta(days=start)
    period = Period(first, first + timedelta(days=length))
    now = datetime(first.year, first.month, first.day, tzinfo=VN_TZ) + timedelta(hours=now_offset)
    rows = [
        dossier(
            procs[which],
            desk,
            agency_id=agency.id if which else None,
            **{k: getattr(f, k) for k in DossierFacts.__dataclass_fields__},
        )
        for which, f in items
    ]
    ids = await store(engine, rows)
    try:
        async with session_factory(engine)() as session:
            report = await dossier_report(
                session, period, Scope(kind="desk", code=desk.code, org_id=desk.id), group_by, now=now
            )
        as_of = min(period.end, now)
        assert report.as_of == as_of

        def group_of(which: int) -> str:
            p = procs[which]
            if group_by is GroupBy.procedure:
                return str(p.code)
            if group_by is GroupBy.field:
                return str(p.field)
            return str(agency.code) if which else ""

        groups: dict[str, list[DossierFacts]] = {}
        for which, f in items:
            groups.setdefault(group_of(which), []).append(f)
        want = {g: aggregate(fs, period, as_of) for g, fs in groups.items()}
        want = {g: c for g, c in want.items() if c.received_total or c.withdrawn}
        got = {row.group: row.counts for row in report.rows}
        assert got == want
        for row in [*report.rows, report.total]:
            assert row.counts.identity_errors() == []
        everything = aggregate([f for _, f in items], period, as_of)
        assert report.total.counts == everything
    finally:
        await remove(engine, ids)
