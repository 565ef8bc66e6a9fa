"""Publishing a plan: it becomes the couriers' route of the day, superseding the one published before."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal, check_office
from backend.lib.problems import Problem as HttpProblem
from backend.planning import capacity, clock
from backend.planning.services.access import visible_plan
from backend.planning.services.appointments import bump_appointment
from notifications.outbox import enqueue
from schemas.base import utcnow
from schemas.booking import Appointment, AppointmentStatus
from schemas.planning import Plan, PlanRoute, PlanStatus, PlanStop, StopStatus


async def publish(
    session: AsyncSession, principal: Principal, plan_id: uuid.UUID, *, now: datetime | None = None
) -> dict[str, Any]:
    """Make the plan the couriers' route: each appointment on it is assigned to its courier (an ``assigned``
    appointment event), an earlier published plan of the day is superseded, couriers are told."""
    now = now or utcnow()
    plan = await visible_plan(session, principal, plan_id)
    check_office(principal, plan.post_office_id)
    if plan.status != PlanStatus.done:
        raise HttpProblem(
            409,
            f"Không thể công bố kế hoạch ở trạng thái {plan.status} / Cannot publish a {plan.status} plan",
            code="plan_not_publishable",
        )
    previous = await _published_before(session, plan)
    before = await _couriers_of(session, previous)
    await _swap_published(session, plan, previous, principal, now)
    rows = (
        await session.exec(
            select(PlanStop, PlanRoute)
            .join(PlanRoute, col(PlanRoute.id) == col(PlanStop.route_id))
            .where(PlanStop.plan_id == plan.id)
            .order_by(col(PlanRoute.seq), col(PlanStop.seq))
        )
    ).all()
    assigned, skipped = await _assign(session, principal, plan, list(rows), before, now)
    for courier_id in {r.courier_id for _, r in rows}:
        enqueue(
            session,
            recipient_kind="staff",
            recipient_id=courier_id,
            template="courier.route_updated",
            params={"service_date": plan.service_date},
            dedupe_key=f"plan.published:{plan.id}",
        )
    await session.commit()
    capacity.forget_plans()
    return {
        "id": plan.id,
        "status": PlanStatus.published,
        "assigned": assigned,
        "skipped": skipped,
        "superseded": [p.id for p in previous],
    }


async def _published_before(session: AsyncSession, plan: Plan) -> list[Plan]:
    rows = await session.exec(
        select(Plan).where(
            Plan.post_office_id == plan.post_office_id,
            Plan.service_date == plan.service_date,
            Plan.status == PlanStatus.published,
            Plan.id != plan.id,
        )
    )
    return list(rows.all())


async def _couriers_of(session: AsyncSession, plans: list[Plan]) -> dict[uuid.UUID, uuid.UUID]:
    """Appointment -> courier in ``plans``."""
    out: dict[uuid.UUID, uuid.UUID] = {}
    for old in plans:
        rows = (
            await session.exec(
                select(PlanStop.appointment_id, PlanRoute.courier_id)
                .join(PlanRoute, col(PlanRoute.id) == col(PlanStop.route_id))
                .where(PlanStop.plan_id == old.id, col(PlanStop.appointment_id).is_not(None))
            )
        ).all()
        out.update({a: c for a, c in rows if a is not None})
    return out


async def _swap_published(
    session: AsyncSession, plan: Plan, previous: list[Plan], principal: Principal, now: datetime
) -> None:
    """The plan it replaces is superseded first, then this one is published: one published plan per office
    and day is a unique index (migration 0009), so of two publishes racing each other one commits and the
    other gets a 409 (issue 17: both used to commit, and couriers had two routes for the day)."""
    try:
        if previous:
            superseded = await session.execute(
                update(Plan)
                .where(
                    col(Plan.id).in_([old.id for old in previous]), col(Plan.status) == PlanStatus.published
                )
                .values(status=PlanStatus.superseded)
                .execution_options(synchronize_session=False)
            )
            if int(getattr(superseded, "rowcount", 0) or 0) != len(previous):
                raise _published_meanwhile()
            for old in previous:
                set_committed_value(old, "status", PlanStatus.superseded)
        moved = await session.execute(
            update(Plan)
            .where(col(Plan.id) == plan.id, col(Plan.status) == PlanStatus.done)
            .values(status=PlanStatus.published, published_at=now, published_by=principal.id)
            .execution_options(synchronize_session=False)
        )
    except IntegrityError:
        await session.rollback()
        raise _published_meanwhile() from None
    except HttpProblem:
        await session.rollback()
        raise
    if int(getattr(moved, "rowcount", 0) or 0) != 1:
        await session.rollback()
        raise HttpProblem(409, "Kế hoạch vừa thay đổi / The plan just changed", code="plan_changed")
    # The guarded UPDATE bypassed the session: bring the loaded plan in step, or a later read in this
    # session (the demo starts a route right after publishing) would see it still 'done'.
    for name, value in (
        ("status", PlanStatus.published),
        ("published_at", now),
        ("published_by", principal.id),
    ):
        set_committed_value(plan, name, value)


async def _assign(
    session: AsyncSession,
    principal: Principal,
    plan: Plan,
    rows: list[tuple[PlanStop, PlanRoute]],
    before: dict[uuid.UUID, uuid.UUID],
    now: datetime,
) -> tuple[int, int]:
    """Each open stop's appointment is assigned to its courier; returns (assigned, skipped)."""
    assigned = skipped = 0
    for stop, route in rows:
        if stop.appointment_id is None or stop.status in (StopStatus.done, StopStatus.failed):
            continue
        appt = await session.get(Appointment, stop.appointment_id)
        if appt is None or appt.status != AppointmentStatus.booked:
            # Cancelled (or finished) after the solve: the courier skips it.
            stop.status = StopStatus.failed
            stop.outcome_code = f"appointment_{appt.status if appt else 'missing'}"
            session.add(stop)
            skipped += 1
            continue
        if before.get(appt.id) == route.courier_id:
            continue  # same courier as in the plan it replaces: nothing changes for the appointment
        await bump_appointment(
            session,
            appt,
            "assigned",
            principal,
            data={
                "courier_id": str(route.courier_id),
                "plan_id": str(plan.id),
                "stop_id": str(stop.id),
                "eta": clock.rfc3339(stop.eta),
            },
            at=now,
        )
        assigned += 1
    return assigned, skipped


def _published_meanwhile() -> HttpProblem:
    return HttpProblem(
        409,
        "Một kế hoạch khác của ngày này vừa được công bố; hãy xem lại / "
        "Another plan of this day was just published; check it first",
        code="plan_published_meanwhile",
    )
