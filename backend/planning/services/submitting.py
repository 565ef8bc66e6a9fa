"""Asking for a plan: a new one for a day, or a re-plan of a solved one. Either is a queued plan row that the
worker then solves; how many an office may have in progress is limited here."""

import uuid
from datetime import date, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal, check_office
from backend.lib.problems import Problem as HttpProblem
from backend.planning.limits import DEFAULT_TIME_LIMIT_S, MAX_IN_PROGRESS_PER_OFFICE
from backend.planning.services.access import post_office, visible_plan
from schemas.base import utcnow
from schemas.planning import Plan, PlanCreate, PlanStatus, ReplanCreate
from schemas.vntime import vn_date


async def create_plan(
    session: AsyncSession,
    principal: Principal,
    office_key: str,
    data: PlanCreate,
    *,
    now: datetime | None = None,
) -> Plan:
    po = await post_office(session, office_key)
    check_office(principal, po.id)
    now = now or utcnow()
    if data.date < vn_date(now):
        raise HttpProblem(422, "Ngày đã qua / The day has passed", code="date_in_past")
    if data.date > vn_date(now) + timedelta(days=60):
        raise HttpProblem(422, "Ngày quá xa / The day is too far ahead", code="date_too_far")
    await no_plan_in_progress(session, po.id, data.date)
    plan = Plan(
        post_office_id=po.id,
        service_date=data.date,
        created_by=principal.id,
        created_at=now,
        options={
            "time_limit_s": data.time_limit_s or DEFAULT_TIME_LIMIT_S,
            "minimize_couriers": data.minimize_couriers,
            "seed": data.seed,
        },
    )
    await add_plan(session, plan)
    return plan


async def replan(
    session: AsyncSession,
    principal: Principal,
    plan_id: uuid.UUID,
    data: ReplanCreate,
    *,
    now: datetime | None = None,
) -> Plan:
    """A new plan of the same day from couriers' current positions, keeping started stops on their courier and
    finished ones out (``replanning``); bookings made since are included. Publish it to make it the couriers'
    route."""
    old = await visible_plan(session, principal, plan_id)
    check_office(principal, old.post_office_id)
    if old.status not in (PlanStatus.done, PlanStatus.published):
        raise HttpProblem(409, "Kế hoạch chưa có lời giải / The plan has no solution", code="plan_not_solved")
    now = now or utcnow()
    if old.service_date < vn_date(now):
        raise HttpProblem(422, "Ngày đã qua / The day has passed", code="date_in_past")
    await no_plan_in_progress(session, old.post_office_id, old.service_date)
    options = dict(old.options)
    if data.time_limit_s:
        options["time_limit_s"] = data.time_limit_s
    plan = Plan(
        post_office_id=old.post_office_id,
        service_date=old.service_date,
        created_by=principal.id,
        created_at=now,
        replan_of=old.id,
        options=options,
    )
    await add_plan(session, plan)
    return plan


async def add_plan(session: AsyncSession, plan: Plan) -> None:
    """Commit a new queued plan. One solve in progress per office and day is a unique index (migration 0009):
    two requests at once both passed ``no_plan_in_progress`` and queued two solves (issue 17)."""
    session.add(plan)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        await no_plan_in_progress(session, plan.post_office_id, plan.service_date)
        raise HttpProblem(
            409,
            "Đang tính một kế hoạch cho ngày này / A plan for this day is already being computed",
            code="plan_in_progress",
        ) from None


async def no_plan_in_progress(session: AsyncSession, po_id: uuid.UUID, day: date) -> None:
    """One solve at a time per office and day (a 409 naming it), and at most ``MAX_IN_PROGRESS_PER_OFFICE``
    per office (a 429): solves take turns between offices, and one office cannot queue hours of them."""
    busy = (
        await session.exec(
            select(col(Plan.id), col(Plan.service_date)).where(
                Plan.post_office_id == po_id,
                col(Plan.status).in_([PlanStatus.queued, PlanStatus.running]),
            )
        )
    ).all()
    same_day = next((plan_id for plan_id, d in busy if d == day), None)
    if same_day is not None:
        raise HttpProblem(
            409,
            "Đang tính một kế hoạch cho ngày này / A plan for this day is already being computed",
            code="plan_in_progress",
            extra={"plan_id": str(same_day)},
        )
    if len(busy) >= MAX_IN_PROGRESS_PER_OFFICE:
        raise HttpProblem(
            429,
            f"Bưu cục đang chờ tính {len(busy)} kế hoạch; hãy thử lại sau / "
            f"This post office has {len(busy)} plans being computed; try again later",
            code="too_many_plans_in_progress",
            extra={"limit": MAX_IN_PROGRESS_PER_OFFICE},
            headers={"Retry-After": "60"},
        )
