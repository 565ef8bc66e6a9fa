"""Demo routes: a published plan of the next working day for every post office, and at the first post office
a plan of the first working day (today when it is one) with a courier mid-route: two visits done, the third
under way, position reports along the way.

Solves run in this process with a short time limit (the seed is a command, not the web server)."""

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue.calendar_service import working_calendar
from backend.demo.province import DemoContext
from backend.lib.auth import Principal
from backend.planning import courier, services
from routing import solve
from schemas.base import utcnow
from schemas.booking import Appointment, AppointmentKind
from schemas.enums import Role
from schemas.planning import (
    CourierPosition,
    Plan,
    PlanRoute,
    PlanStatus,
    PlanStop,
    StopAction,
    StopFailure,
    StopStatus,
)
from schemas.vntime import vn_date

log = logging.getLogger("backend.demo")
DEMO_TIME_LIMIT_S = 0.5  # per office: a day's few dozen stops; more is start-up time


async def plan_and_publish(session: AsyncSession, po_id: uuid.UUID, day: Any, admin: Principal) -> Plan:
    plan = Plan(
        post_office_id=po_id,
        service_date=day,
        status=PlanStatus.running,
        started_at=utcnow(),
        created_by=admin.id,
        options={"time_limit_s": DEMO_TIME_LIMIT_S, "minimize_couriers": False, "seed": 0},
    )
    session.add(plan)
    await session.commit()
    job = await services.prepare_solve(session, plan.id)
    solution = solve(job.problem, job.options) if job.day.stops and job.day.couriers else None
    await services.store_solution(session, plan.id, job, solution)
    await session.commit()
    await services.publish(session, admin, plan.id)
    return plan


async def _start(session: AsyncSession, me: Principal, stop: PlanStop, *, now: datetime) -> None:
    """Start ``stop`` unless starting an earlier item of the same household visit already did (issue 20:
    one visit, one "on the way"); the visit's items are consecutive stops of one route."""
    await session.refresh(stop)
    if stop.status == StopStatus.planned:
        await courier.stop_action(session, me, stop.id, "start", StopAction(), now=now)


async def mid_route(session: AsyncSession, plan: Plan) -> dict[str, Any]:
    """The busiest courier of ``plan`` has done two visits and is on the way to the third."""
    route = (
        await session.exec(
            select(PlanRoute).where(PlanRoute.plan_id == plan.id).order_by(col(PlanRoute.stops_count).desc())
        )
    ).first()
    if route is None:
        return {}
    stops = (
        await session.exec(select(PlanStop).where(PlanStop.route_id == route.id).order_by(col(PlanStop.seq)))
    ).all()
    me = Principal(id=route.courier_id, role=Role.courier, org_id=plan.post_office_id)
    trail = [(route.start_lat, route.start_lon, route.start_at or route.shift_start)]
    for s in stops[:2]:
        trail.append((s.lat, s.lon, s.eta))
        await _start(session, me, s, now=s.eta - timedelta(minutes=5))
        await courier.stop_action(
            session, me, s.id, "complete", StopAction(lat=s.lat, lon=s.lon), now=s.departure
        )
    if len(stops) > 2:
        nxt = stops[2]
        last = stops[1] if len(stops) > 1 else None
        at = (last.departure if last else nxt.eta) + timedelta(minutes=2)
        await _start(session, me, nxt, now=at)
        if last is not None:
            # Part of the way from the last visit to the next one.
            trail.append(((last.lat + nxt.lat) / 2, (last.lon + nxt.lon) / 2, at + timedelta(minutes=3)))
    for lat, lon, at in trail:
        session.add(CourierPosition(courier_id=route.courier_id, lat=lat, lon=lon, accuracy_m=15.0, at=at))
    await session.commit()
    return {"courier": str(route.courier_id), "done": min(2, len(stops))}


async def with_a_failed_visit(session: AsyncSession, plan: Plan) -> dict[str, Any]:
    """Another courier part-way: the first home pickup of the route done, the second failed (nobody home),
    the rest still ahead."""
    route = (
        await session.exec(
            select(PlanRoute).where(PlanRoute.plan_id == plan.id).order_by(col(PlanRoute.stops_count).desc())
        )
    ).first()
    if route is None:
        return {}
    stops = (
        await session.exec(
            select(PlanStop)
            .join(Appointment, col(Appointment.id) == col(PlanStop.appointment_id))
            .where(PlanStop.route_id == route.id, Appointment.kind == AppointmentKind.pickup)
            .order_by(col(PlanStop.seq))
        )
    ).all()
    if len(stops) < 3:
        return {}
    me = Principal(id=route.courier_id, role=Role.courier, org_id=plan.post_office_id)
    done, failed = stops[0], stops[1]
    await courier.stop_action(session, me, done.id, "complete", StopAction(lat=done.lat, lon=done.lon), now=done.departure)  # fmt: skip
    failure = StopFailure(lat=failed.lat, lon=failed.lon, reason_code="citizen_absent", note="Gọi hai lần không nghe máy")  # fmt: skip
    await courier.stop_action(session, me, failed.id, "fail", failure, now=failed.eta + timedelta(minutes=10))
    await session.commit()
    return {"courier": str(route.courier_id), "done": 1, "failed": 1, "ahead": len(stops) - 2}


async def seed(session: AsyncSession, ctx: DemoContext) -> dict[str, Any]:
    admin_user = ctx.staff.get("admin")
    admin = Principal(id=admin_user.id if admin_user else uuid.uuid4(), role=Role.admin)
    cal = await working_calendar(session)
    today = vn_date(utcnow())
    first = cal.next_working_day(today, include_today=True)
    following = cal.next_working_day(today)
    plans = 0
    for po in ctx.post_offices:
        await plan_and_publish(session, po.id, following, admin)
        plans += 1
    out: dict[str, Any] = {"plans": plans, "day": following.isoformat()}
    if ctx.post_offices:
        po = ctx.post_offices[0]
        plan = (
            await session.exec(
                select(Plan).where(
                    Plan.post_office_id == po.id,
                    Plan.service_date == first,
                    Plan.status == PlanStatus.published,
                )
            )
        ).first() or await plan_and_publish(session, po.id, first, admin)
        out["mid_route"] = await mid_route(session, plan)
    if len(ctx.post_offices) > 2:  # a third office: a courier with a visit done and one failed
        po = ctx.post_offices[2]
        other = (
            await session.exec(select(Plan).where(Plan.post_office_id == po.id, Plan.service_date == first))
        ).first() or await plan_and_publish(session, po.id, first, admin)
        out["failed_visit"] = await with_a_failed_visit(session, other)
    log.info("planning demo: %s", out)
    return out
