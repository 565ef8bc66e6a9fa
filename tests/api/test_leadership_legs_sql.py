"""The legs report in SQL (``legs_sql``) gives the figures of its Python definition (``legs_store.
legs_report_python`` over ``legs.py``) on random dossiers and custody events, on SQLite and PostgreSQL: device and
server times, counter and home pickups, legs that started long before the period (the day table widens), results
with and without postal return, deadlines in and after the period. February-May 2016 belong to this module."""

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import session_factory
from backend.reporting import legs_store
from backend.reporting.definitions import Period
from backend.reporting.leadership import ProvinceScope
from schemas.dossiers import CustodianKind, DossierEvent
from tests.api.test_reporting_support import dossier, store, two_procedures, vn

pytestmark = pytest.mark.asyncio(loop_scope="session")

PERIOD = Period(date(2016, 3, 1), date(2016, 4, 30))
NOW = vn(2016, 6, 1)


def _events(
    rng: random.Random, channel: str, received: datetime, postal_return: bool
) -> list[tuple[str, datetime]]:
    steps: list[tuple[str, datetime]] = []
    if channel == "home_pickup":
        posted = received - timedelta(minutes=rng.randrange(30, 60 * 24 * 9))
        if rng.random() < 0.1:
            posted -= timedelta(days=rng.randrange(60, 300))  # started long before: the day table widens
        steps += [("EMA", posted), ("EMB", posted + (received - posted) * rng.uniform(0.05, 0.9))]
    elif channel == "post_office":
        steps.append(("EMA", received - timedelta(minutes=rng.randrange(10, 60 * 24 * 5))))
    steps.append(("TNH", received))
    if rng.random() < 0.85:
        at_desk = received + timedelta(minutes=rng.randrange(60, 60 * 24 * 20))
        steps.append(("KQS", at_desk))
        if postal_return and rng.random() < 0.9:
            at_post = at_desk + timedelta(minutes=rng.randrange(5, 60 * 24 * 4))
            steps.append(("EMG", at_post))
            if rng.random() < 0.8:
                steps.append(("EMI", at_post + timedelta(minutes=rng.randrange(5, 60 * 24 * 3))))
    return steps


async def _random_province(engine: AsyncEngine, demo: Any, seed: int) -> None:
    rng = random.Random(seed)
    p1, p2 = await two_procedures(engine)
    dossiers, events = [], []
    for _ in range(80):
        office = rng.choice(demo.post_offices)
        desk = demo.commune_desks[office.commune_code]
        agency = demo.agencies[office.commune_code]
        channel = rng.choice(["home_pickup", "post_office", "direct", "online"])
        received = vn(2016, 2, 15) + timedelta(minutes=rng.randrange(0, 60 * 24 * 90))
        postal_return = rng.random() < 0.6
        due = received + timedelta(days=rng.randrange(1, 25), minutes=rng.randrange(0, 600))
        d = dossier(
            rng.choice([p1, p2]), desk, channel=channel, postal_pickup=channel in ("home_pickup", "post_office"),
            postal_return=postal_return, post_office_id=office.id if rng.random() < 0.8 else None,
            agency_id=agency.id, custodian_kind=CustodianKind.desk, received_at=received, due_at=due,
            resolved_at=received + timedelta(days=rng.randrange(1, 30)),  # none carried over into others' months
        )  # fmt: skip
        dossiers.append(d)
        for seq, (code, at) in enumerate(_events(rng, channel, received, postal_return), start=1):
            device = rng.random() < 0.3  # synced from a phone: the device's time counts
            events.append(
                DossierEvent(
                    dossier_id=d.id, seq=seq, code=code, status="x", actor_kind="staff",
                    at=at + timedelta(minutes=rng.randrange(1, 600)) if device else at,
                    client_at=at if device else None,
                )
            )  # fmt: skip
    await store(engine, dossiers)
    async with session_factory(engine)() as session:
        session.add_all(events)
        await session.commit()


def _slowest(result: legs_store.LegsResult) -> list[tuple[Any, ...]]:
    return [
        (x.item_id, x.leg, x.start.astimezone(UTC), x.end.astimezone(UTC), round(x.working_hours, 2),
         round(x.hours, 2), x.from_unit, x.to_unit)
        for x in result.slowest
    ]  # fmt: skip


async def test_sql_legs_equal_the_python_definition(engine: AsyncEngine, demo: Any) -> None:
    await _random_province(engine, demo, seed=2016)
    province = ProvinceScope(code="82", name="Đồng Tháp")
    for period in (PERIOD, Period(date(2016, 3, 7), date(2016, 3, 13))):
        async with session_factory(engine)() as session:
            fast = await legs_store.legs_report(session, period, province, 25, now=NOW)
            slow = await legs_store.legs_report_python(session, period, province, 25, now=NOW)
        assert fast.stats == slow.stats
        assert fast.clock == slow.clock
        assert _slowest(fast) == _slowest(slow)
    # something was counted, in every leg, and the clock
    assert all(s["count"] for s in fast.stats) or period != PERIOD
    async with session_factory(engine)() as session:
        year = await legs_store.legs_report(session, PERIOD, province, 5, now=NOW)
    assert all(int(str(s["count"])) > 0 for s in year.stats), year.stats
    assert int(str(year.clock["dossiers"])) > 0 and year.slowest
