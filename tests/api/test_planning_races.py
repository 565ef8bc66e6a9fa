"""Races of planning (issue 17): one published plan per post office and day, one solve in progress per post
office and day, and fair solve queueing between offices."""

import asyncio
import uuid
from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import session_factory
from backend.lib.auth import Principal
from backend.lib.problems import Problem
from backend.planning import services
from backend.planning.limits import MAX_IN_PROGRESS_PER_OFFICE
from schemas.base import utcnow
from schemas.enums import Role
from schemas.planning import Plan, PlanCreate, PlanStatus
from tests.api.planning_support import next_weekday
from tests.conftest import staff_headers

PO = 3  # 82-BD-04: no other test plans here
BOUND_PO = 9  # 82-BD-10: dispatcher10; no other test plans here


async def _done_plans(engine: AsyncEngine, po_id: uuid.UUID, day: date, n: int) -> list[uuid.UUID]:
    """``n`` solved plans (no stops) of one office and day, ready to publish."""
    async with session_factory(engine)() as session:
        plans = [
            Plan(post_office_id=po_id, service_date=day, status=PlanStatus.done, finished_at=utcnow())
            for _ in range(n)
        ]
        session.add_all(plans)
        await session.commit()
        return [p.id for p in plans]


async def _published(engine: AsyncEngine, po_id: uuid.UUID, day: date) -> int:
    async with engine.connect() as conn:
        t = Plan.__table__  # type: ignore[attr-defined]
        q = select(func.count()).where(
            t.c.post_office_id == po_id, t.c.service_date == day, t.c.status == PlanStatus.published.value
        )
        return int((await conn.execute(q)).scalar_one())


async def _publish(engine: AsyncEngine, admin: Principal, plan_id: uuid.UUID) -> int:
    async with session_factory(engine)() as session:
        try:
            await services.publish(session, admin, plan_id)
        except Problem as problem:
            assert problem.status_code == 409, problem.detail
            return 409
        return 200


async def test_concurrent_publishes_leave_one_published_plan(engine: AsyncEngine, demo: Any) -> None:
    """A race on PostgreSQL (six plans were published at once without the index); SQLite runs one writer at a
    time, where the same answers must come out of the queue."""
    po = demo.post_offices[PO]
    admin = Principal(id=demo.staff["admin"].id, role=Role.admin)
    for round_ in range(5):
        day = next_weekday(30) + timedelta(days=7 * round_)
        plans = await _done_plans(engine, po.id, day, 6)
        answers = await asyncio.gather(*(_publish(engine, admin, p) for p in plans))
        assert 200 in answers and set(answers) <= {200, 409}
        assert await _published(engine, po.id, day) == 1, answers


async def test_publishing_a_newer_plan_supersedes_the_old_one(engine: AsyncEngine, demo: Any) -> None:
    po = demo.post_offices[PO]
    admin = Principal(id=demo.staff["admin"].id, role=Role.admin)
    day = next_weekday(25)
    first, second = await _done_plans(engine, po.id, day, 2)
    assert await _publish(engine, admin, first) == 200
    assert await _publish(engine, admin, second) == 200
    assert await _published(engine, po.id, day) == 1
    async with session_factory(engine)() as session:
        old = await session.get(Plan, first)
        assert old is not None and old.status == PlanStatus.superseded


async def test_concurrent_plan_requests_queue_one_solve(engine: AsyncEngine, demo: Any, db_kind: str) -> None:
    """Two requests for one office and day at once used to both pass the 'already computing' check."""
    po = demo.post_offices[PO]
    principal = Principal(id=demo.staff["admin"].id, role=Role.admin)
    day = next_weekday(45)

    async def ask() -> int:
        async with session_factory(engine)() as session:
            try:
                await services.create_plan(session, principal, po.code, PlanCreate(date=day, time_limit_s=1))
            except Problem as problem:
                assert (problem.status_code, problem.code) == (409, "plan_in_progress"), problem.detail
                return 409
            return 201

    answers = await asyncio.gather(*(ask() for _ in range(6)))
    assert sorted(answers) == [201] + [409] * 5
    async with engine.connect() as conn:
        t = Plan.__table__  # type: ignore[attr-defined]
        q = select(func.count()).where(
            t.c.post_office_id == po.id, t.c.service_date == day, t.c.status.in_(["queued", "running"])
        )
        assert (await conn.execute(q)).scalar_one() == 1


async def test_one_office_cannot_queue_more_than_a_few_solves(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    """A dispatcher asking for a plan of every day ahead queued hours of solves before any other office's:
    past MAX_IN_PROGRESS_PER_OFFICE queued or running solves a request is a 429 problem."""
    po = demo.post_offices[BOUND_PO]
    h = await staff_headers(client, f"dispatcher{BOUND_PO + 1:02d}")
    first = next_weekday(20)
    days = [first + timedelta(days=i) for i in range(MAX_IN_PROGRESS_PER_OFFICE + 1)]
    async with session_factory(engine)() as session:
        session.add_all(
            Plan(post_office_id=po.id, service_date=d, status=PlanStatus.queued, options={"time_limit_s": 1})
            for d in days[:-1]
        )
        await session.commit()
    try:
        r = await client.post(
            f"/api/v1/post-offices/{po.code}/plans", json={"date": days[-1].isoformat()}, headers=h
        )
        assert r.status_code == 429, r.text
        assert r.json()["type"].endswith("/too_many_plans_in_progress") and r.headers["retry-after"] == "60"
        r = await client.post(
            f"/api/v1/post-offices/{po.code}/plans", json={"date": days[0].isoformat()}, headers=h
        )
        assert r.status_code == 409 and r.json()["type"].endswith("/plan_in_progress"), r.text
    finally:
        async with engine.begin() as conn:
            t = Plan.__table__  # type: ignore[attr-defined]
            await conn.execute(
                update(t)
                .where(t.c.post_office_id == po.id, t.c.status.in_(["queued", "running"]))
                .values(status="failed", error="test")
            )
