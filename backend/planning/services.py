"""Plans: ask for one, solve it (with ``worker``), look at it, publish it, re-plan from where couriers are.

Access: a post office's dispatchers see and plan only their own office's days; admins see all. A plan of
another office answers 404, like an unknown id, so nothing is learned about other offices.
"""

import asyncio
import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue.services import organisation_by_key
from backend.lib.auth import Principal, check_office
from backend.lib.problems import Problem as HttpProblem
from backend.lib.problems import not_found
from backend.planning import capacity, clock
from backend.planning.problem_builder import DayInput, StopInfo, build_day, matrix_provider
from backend.planning.worker import DEFAULT_TIME_LIMIT_S, MAX_IN_PROGRESS_PER_OFFICE
from notifications.outbox import enqueue
from routing import Location, Problem, Solution, SolveOptions
from schemas.accounts import StaffUser
from schemas.base import utcnow
from schemas.booking import Appointment, AppointmentEvent, AppointmentStatus, BookingChannel
from schemas.dossiers import Dossier, ResultItem
from schemas.enums import OrgKind, Role
from schemas.orgs import Organisation
from schemas.planning import (
    CourierPosition,
    Plan,
    PlanCreate,
    PlanRoute,
    PlanStatus,
    PlanStop,
    PlanUnassigned,
    ReplanCreate,
    StopStatus,
)
from schemas.vntime import vn_date, vn_day_start

# Machine code and Vietnamese / English text of why a stop is left out, from the solver's diagnosis.
REASONS: dict[str, tuple[str, str]] = {
    "no vehicle with skill": (
        "skill",
        "Không có bưu tá có kỹ năng cần thiết (thu tiền, hỗ trợ kê khai) / No courier with the required skill",
    ),
    "capacity": ("capacity", "Vượt quá sức chở của mọi bưu tá / Exceeds every courier's capacity"),
    "time window unreachable": (
        "time_window",
        "Không thể đến trong khung giờ hẹn và ca làm việc / The window cannot be reached within any shift",
    ),
    "not enough vehicles/time": (
        "no_capacity",
        "Không đủ bưu tá hoặc thời gian trong ngày / Not enough couriers or time that day",
    ),
    "pinned vehicle unavailable": (
        "courier_unavailable",
        "Bưu tá đang giữ điểm này đã hết ca / The courier holding this stop is off shift",
    ),
    "no_courier": ("no_courier", "Không có bưu tá trong ca ngày này / No courier on shift that day"),
    "desk_closed": ("desk_closed", "Bộ phận Một cửa không làm việc ngày này / The desk is closed that day"),
    "desk_pickup_failed": (
        "desk_pickup_failed",
        "Chưa nhận được kết quả tại Bộ phận Một cửa / The result could not be collected at the desk",
    ),
}
ROUTE_COLOURS = (
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324",
    "#469990", "#800000", "#808000", "#000075", "#bfef45", "#fabed4",
)  # fmt: skip


def reason_of(raw: str) -> tuple[str, str]:
    return REASONS.get(raw, ("other", raw[:300]))


# --- who may do what --------------------------------------------------------------------------------------


async def post_office(session: AsyncSession, key: str) -> Organisation:
    """A post office by UUID or code."""
    org = await organisation_by_key(session, key)
    if org is None or org.kind != OrgKind.post_office:
        raise not_found("bưu cục / post office", key)
    return org


async def visible_plan(session: AsyncSession, principal: Principal, plan_id: uuid.UUID) -> Plan:
    plan = await session.get(Plan, plan_id)
    if plan is None or not (
        principal.role == Role.admin
        or (principal.role == Role.dispatcher and principal.org_id == plan.post_office_id)
    ):
        raise not_found("kế hoạch / plan", plan_id)
    return plan


# --- asking for a plan ------------------------------------------------------------------------------------


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
    await _no_plan_in_progress(session, po.id, data.date)
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
    await _add_plan(session, plan)
    return plan


async def _add_plan(session: AsyncSession, plan: Plan) -> None:
    """Commit a new queued plan. One solve in progress per office and day is a unique index (migration 0009):
    two requests at once both passed ``_no_plan_in_progress`` and queued two solves (issue 17)."""
    session.add(plan)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        await _no_plan_in_progress(session, plan.post_office_id, plan.service_date)
        raise HttpProblem(
            409,
            "Đang tính một kế hoạch cho ngày này / A plan for this day is already being computed",
            code="plan_in_progress",
        ) from None


async def _no_plan_in_progress(session: AsyncSession, po_id: uuid.UUID, day: date) -> None:
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


async def replan(
    session: AsyncSession,
    principal: Principal,
    plan_id: uuid.UUID,
    data: ReplanCreate,
    *,
    now: datetime | None = None,
) -> Plan:
    """A new plan of the same day from couriers' current positions, keeping started stops on their courier and
    finished ones out; bookings made since are included. Publish it to make it the couriers' route."""
    old = await visible_plan(session, principal, plan_id)
    check_office(principal, old.post_office_id)
    if old.status not in (PlanStatus.done, PlanStatus.published):
        raise HttpProblem(409, "Kế hoạch chưa có lời giải / The plan has no solution", code="plan_not_solved")
    now = now or utcnow()
    if old.service_date < vn_date(now):
        raise HttpProblem(422, "Ngày đã qua / The day has passed", code="date_in_past")
    await _no_plan_in_progress(session, old.post_office_id, old.service_date)
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
    await _add_plan(session, plan)
    return plan


# --- solving (called by the worker) -----------------------------------------------------------------------


@dataclass
class SolveJob:
    plan: Plan
    day: DayInput
    problem: Problem
    options: SolveOptions
    # Per courier, the finished stops of the plan this one re-plans (kept at the head of the new route).
    history: dict[uuid.UUID, list[PlanStop]] = field(default_factory=dict)
    started: dict[str, PlanStop] = field(default_factory=dict)


async def prepare_solve(session: AsyncSession, plan_id: uuid.UUID) -> SolveJob:
    plan = await session.get(Plan, plan_id)
    assert plan is not None
    po = await session.get(Organisation, plan.post_office_id)
    assert po is not None
    day = await build_day(session, po, plan.service_date)
    job = SolveJob(plan=plan, day=day, problem=Problem([], [], []), options=SolveOptions())
    if plan.replan_of is not None:
        await _keep_progress(session, job, plan.replan_of, plan.created_at)
    job.problem = day.to_problem(matrix_provider())
    opts = plan.options or {}
    job.options = SolveOptions(
        time_limit_s=float(opts.get("time_limit_s", DEFAULT_TIME_LIMIT_S)),
        minimize_vehicles=bool(opts.get("minimize_couriers", False)),
        seed=int(opts.get("seed", 0)),
    )
    return job


async def _keep_progress(session: AsyncSession, job: SolveJob, old_id: uuid.UUID, now: datetime) -> None:
    """Re-plan from where the day stands at ``now``: finished stops leave the problem, started ones stay on
    their courier (committed, in order), couriers start from their last known position."""
    day = job.day
    rows = (
        await session.exec(
            select(PlanStop, PlanRoute)
            .join(PlanRoute, col(PlanRoute.id) == col(PlanStop.route_id))
            .where(PlanStop.plan_id == old_id)
            .order_by(col(PlanRoute.seq), col(PlanStop.seq))
        )
    ).all()
    last_place: dict[uuid.UUID, tuple[float, float]] = {}
    for stop, route in rows:
        cid = route.courier_id
        if stop.status in (StopStatus.done, StopStatus.failed):
            job.history.setdefault(cid, []).append(stop)
            last_place[cid] = (stop.lat, stop.lon)
            day.stops.pop(stop.key, None)
            partner = stop.pair_key
            if partner and partner in day.stops:
                day.pairs = [p for p in day.pairs if stop.key not in p]
                if stop.status == StopStatus.done:
                    # The courier carries the result now: only they can deliver it.
                    day.stops[partner] = replace(day.stops[partner], pinned_courier=cid, pair_key=None)
                else:
                    from backend.planning.problem_builder import Excluded

                    day.excluded.append(Excluded(day.stops.pop(partner), "desk_pickup_failed"))
            continue
        if stop.key not in day.stops:
            continue
        day.initial_routes.setdefault(cid, []).append(stop.key)
        if stop.status == StopStatus.started:
            day.committed.setdefault(cid, []).append(stop.key)
            day.stops[stop.key] = replace(day.stops[stop.key], pinned_courier=cid)
            job.started[stop.key] = stop
    now_s = clock.secs(day.day, now)
    couriers = []
    for c in day.couriers:
        start_s, end_s = clock.secs(day.day, c.shift_start), clock.secs(day.day, c.shift_end)
        if now_s >= end_s:
            continue  # off shift already: their started stops become unassigned, with the reason
        if now_s > start_s:
            pos = await latest_position(session, c.courier_id, vn_day_start(day.day), now)
            place = (pos.lat, pos.lon) if pos is not None else last_place.get(c.courier_id)
            breaks = tuple(b for b in c.breaks if b.latest_start > now_s)
            c = replace(c, shift_start=now, breaks=breaks)
            if place is not None:
                c = replace(c, start_lat=place[0], start_lon=place[1])
        couriers.append(c)
    day.couriers = couriers


async def latest_position(
    session: AsyncSession, courier_id: uuid.UUID, since: datetime, until: datetime
) -> CourierPosition | None:
    return (
        await session.exec(
            select(CourierPosition)
            .where(
                CourierPosition.courier_id == courier_id,
                col(CourierPosition.at) >= since,
                col(CourierPosition.at) <= until,
            )
            .order_by(col(CourierPosition.at).desc())
            .limit(1)
        )
    ).first()


def _legs(problem: Problem, profile: str, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """(travel seconds, metres) of each consecutive pair of points."""
    provider = problem.matrix_provider or matrix_provider()
    m = provider.matrix([Location(lat=a, lon=b) for a, b in points], profile)
    out = []
    for i in range(len(points) - 1):
        dist = float(m.distances[i, i + 1]) if m.distances is not None else 0.0
        out.append((float(m.durations[i, i + 1]), dist))
    return out


async def store_solution(
    session: AsyncSession, plan_id: uuid.UUID, job: SolveJob, solution: Solution | None
) -> None:
    plan = await session.get(Plan, plan_id)
    assert plan is not None
    if plan.status != PlanStatus.running:
        return  # cancelled or failed meanwhile
    day = job.day
    routes = {r.vehicle_id: r for r in (solution.routes if solution else [])}
    served = {v.stop_id for r in routes.values() for v in r.visits}
    assigned = 0
    for seq, courier in enumerate(day.couriers):
        r = routes.get(str(courier.courier_id))
        history = job.history.get(courier.courier_id, [])
        if r is None and not history:
            continue
        route = PlanRoute(
            plan_id=plan.id,
            courier_id=courier.courier_id,
            seq=seq,
            profile=courier.profile,
            shift_start=courier.shift_start,
            shift_end=courier.shift_end,
            start_lat=courier.start_lat,
            start_lon=courier.start_lon,
            end_lat=courier.end_lat,
            end_lon=courier.end_lon,
            capacity_items=courier.capacity_items,
            capacity_weight_g=courier.capacity_weight_g,
            skills=sorted(courier.skills),
            breaks=[
                {"duration_s": b.duration, "earliest": b.earliest_start, "latest": b.latest_start}
                for b in courier.breaks
            ],
        )
        session.add(route)
        n = 0
        for old in history:
            n += 1
            data = {
                f: getattr(old, f)
                for f in PlanStop.model_fields
                if f not in {"id", "plan_id", "route_id", "seq"}
            }
            session.add(PlanStop(**data, plan_id=plan.id, route_id=route.id, seq=n))
        if r is not None:
            infos = [day.stops[v.stop_id] for v in r.visits]
            points = [(courier.start_lat, courier.start_lon), *((s.lat, s.lon) for s in infos)]
            points.append((courier.end_lat, courier.end_lon))
            legs = await asyncio.to_thread(_legs, job.problem, courier.profile, points)
            for i, (v, info) in enumerate(zip(r.visits, infos, strict=True)):
                n += 1
                assigned += 1
                kept = job.started.get(info.key)
                session.add(
                    _stop_row(
                        plan,
                        route,
                        n,
                        info,
                        day.day,
                        v.arrival,
                        v.start,
                        v.end,
                        legs[i],
                        v.load_items,
                        v.load_weight,
                        kept,
                    )
                )
            for b, taken in zip(route.breaks, r.breaks, strict=False):
                b["start"] = clock.rfc3339(clock.at(day.day, taken.start))
            route.start_at = clock.at(day.day, r.start_time)
            route.end_at = clock.at(day.day, r.end_time)
            route.distance_m = r.distance
            route.travel_s = r.travel_time
        route.stops_count = n
    unassigned: list[tuple[StopInfo, str]] = [(x.stop, x.reason) for x in day.excluded]
    raw_reasons = {u.stop_id: u.reason for u in (solution.unassigned if solution else [])}
    for key, info in day.stops.items():
        if key not in served:
            unassigned.append((info, raw_reasons.get(key, "no_courier")))
    for info, raw in unassigned:
        code, detail = reason_of(raw)
        session.add(
            PlanUnassigned(
                plan_id=plan.id,
                key=info.key,
                kind=info.kind,
                appointment_id=info.appointment_id,
                dossier_id=info.dossier_id,
                result_item_id=info.result_item_id,
                handover_id=info.handover_id,
                org_id=info.org_id,
                lat=info.lat,
                lon=info.lon,
                window_start=info.window_start,
                window_end=info.window_end,
                reason=code,
                detail=detail,
            )
        )
    plan.status = PlanStatus.done
    capacity.forget_plans()
    plan.progress = 100
    plan.finished_at = utcnow()
    plan.stops_total = len(day.stops) + len(day.excluded)
    plan.stops_assigned = assigned
    plan.stops_unassigned = len(unassigned)
    plan.couriers_available = len(day.couriers)
    plan.couriers_used = len(routes)
    plan.total_distance_m = solution.total_distance if solution else 0.0
    plan.total_travel_s = solution.total_travel_time if solution else 0.0
    plan.objective = solution.objective if solution else None
    plan.solver_status = solution.status if solution else ("no_couriers" if day.stops else "no_stops")
    plan.solve_wall_s = solution.wall_time_s if solution else 0.0
    plan.error = None
    session.add(plan)


def _stop_row(
    plan: Plan,
    route: PlanRoute,
    seq: int,
    info: StopInfo,
    day: date,
    arrival: int,
    start: int,
    end: int,
    leg: tuple[float, float],
    load_items: int,
    load_weight: int,
    kept: PlanStop | None,
) -> PlanStop:
    eta = clock.at(day, arrival)
    return PlanStop(
        plan_id=plan.id,
        route_id=route.id,
        seq=seq,
        key=info.key,
        kind=info.kind,
        status=kept.status if kept else StopStatus.planned,
        started_at=kept.started_at if kept else None,
        appointment_id=info.appointment_id,
        dossier_id=info.dossier_id,
        result_item_id=info.result_item_id,
        handover_id=info.handover_id,
        org_id=info.org_id,
        pair_key=info.pair_key,
        lat=info.lat,
        lon=info.lon,
        window_start=info.window_start,
        window_end=info.window_end,
        service_s=info.service_s,
        items=info.items,
        weight_g=info.weight_g,
        skills=sorted(info.skills),
        planned_eta=eta,
        eta=eta,
        service_start=clock.at(day, start),
        departure=clock.at(day, end),
        travel_from_prev_s=leg[0],
        distance_from_prev_m=leg[1],
        load_items=load_items,
        load_weight_g=load_weight,
    )


# --- reading a plan ---------------------------------------------------------------------------------------


def plan_summary(plan: Plan, po: Organisation | None = None) -> dict[str, Any]:
    return {
        "id": plan.id,
        "post_office": po.code if po else None,
        "post_office_id": plan.post_office_id,
        "date": plan.service_date.isoformat(),
        "status": plan.status,
        "progress": plan.progress,
        "options": plan.options,
        "replan_of": plan.replan_of,
        "created_at": clock.rfc3339(plan.created_at),
        "started_at": clock.rfc3339(plan.started_at),
        "finished_at": clock.rfc3339(plan.finished_at),
        "published_at": clock.rfc3339(plan.published_at),
        "error": plan.error,
        "summary": {
            "stops_total": plan.stops_total,
            "stops_assigned": plan.stops_assigned,
            "stops_unassigned": plan.stops_unassigned,
            "couriers_available": plan.couriers_available,
            "couriers_used": plan.couriers_used,
            "distance_km": round(plan.total_distance_m / 1000, 2),
            "travel_min": round(plan.total_travel_s / 60, 1),
            "solver_status": plan.solver_status,
            "solve_wall_s": plan.solve_wall_s,
        },
        "map": f"/api/v1/plans/{plan.id}/map.svg",
    }


def window_of(start: datetime | None, end: datetime | None) -> dict[str, str | None] | None:
    if start is None and end is None:
        return None
    return {"start": clock.rfc3339(start), "end": clock.rfc3339(end)}


async def _item_ids(
    session: AsyncSession, stops: list[Any]
) -> tuple[dict[uuid.UUID, str], dict[uuid.UUID, str]]:
    dossier_ids = {s.dossier_id for s in stops if s.dossier_id}
    result_ids = {s.result_item_id for s in stops if s.result_item_id}
    dossiers: dict[uuid.UUID, str] = {}
    results: dict[uuid.UUID, str] = {}
    if dossier_ids:
        rows = (
            await session.exec(select(Dossier.id, Dossier.item_id).where(col(Dossier.id).in_(dossier_ids)))
        ).all()
        dossiers = {i: s for i, s in rows}
    if result_ids:
        rows = (
            await session.exec(
                select(ResultItem.id, ResultItem.item_id).where(col(ResultItem.id).in_(result_ids))
            )
        ).all()
        results = {i: s for i, s in rows}
    return dossiers, results


async def _org_codes(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, Organisation]:
    if not ids:
        return {}
    rows = (await session.exec(select(Organisation).where(col(Organisation.id).in_(ids)))).all()
    return {o.id: o for o in rows}


def stop_out(
    s: PlanStop,
    dossiers: dict[uuid.UUID, str],
    results: dict[uuid.UUID, str],
    orgs: dict[uuid.UUID, Organisation],
) -> dict[str, Any]:
    org = orgs.get(s.org_id) if s.org_id else None
    return {
        "id": s.id,
        "seq": s.seq,
        "key": s.key,
        "kind": s.kind,
        "status": s.status,
        "appointment_id": s.appointment_id,
        "dossier": dossiers.get(s.dossier_id) if s.dossier_id else None,
        "result_item": results.get(s.result_item_id) if s.result_item_id else None,
        "handover_id": s.handover_id,
        "place": org.code if org else None,
        "lat": s.lat,
        "lon": s.lon,
        "window": window_of(s.window_start, s.window_end),
        "eta": clock.rfc3339(s.eta),
        "planned_eta": clock.rfc3339(s.planned_eta),
        "service_start": clock.rfc3339(s.service_start),
        "departure": clock.rfc3339(s.departure),
        "service_s": s.service_s,
        "distance_from_prev_m": round(s.distance_from_prev_m, 1),
        "travel_from_prev_s": round(s.travel_from_prev_s, 1),
        "load": {"items": s.load_items, "weight_g": s.load_weight_g},
        "demand": {"items": s.items, "weight_g": s.weight_g},
        "skills": s.skills,
        "started_at": clock.rfc3339(s.started_at),
        "finished_at": clock.rfc3339(s.finished_at),
        "outcome_code": s.outcome_code,
    }


async def plan_detail(session: AsyncSession, principal: Principal, plan_id: uuid.UUID) -> dict[str, Any]:
    plan = await visible_plan(session, principal, plan_id)
    po = await session.get(Organisation, plan.post_office_id)
    out = plan_summary(plan, po)
    routes = (
        await session.exec(select(PlanRoute).where(PlanRoute.plan_id == plan.id).order_by(col(PlanRoute.seq)))
    ).all()
    stops = (
        await session.exec(select(PlanStop).where(PlanStop.plan_id == plan.id).order_by(col(PlanStop.seq)))
    ).all()
    unassigned = (await session.exec(select(PlanUnassigned).where(PlanUnassigned.plan_id == plan.id))).all()
    couriers = {
        u.id: u
        for u in (
            await session.exec(select(StaffUser).where(col(StaffUser.id).in_([r.courier_id for r in routes])))
        ).all()
    }
    dossiers, results = await _item_ids(session, [*stops, *unassigned])
    org_ids = {s.org_id for s in stops if s.org_id} | {u.org_id for u in unassigned if u.org_id}
    orgs = await _org_codes(session, org_ids)
    by_route: dict[uuid.UUID, list[PlanStop]] = {}
    for s in stops:
        by_route.setdefault(s.route_id, []).append(s)
    out["routes"] = [
        {
            "id": r.id,
            "courier": {
                "id": r.courier_id,
                "username": couriers[r.courier_id].username if r.courier_id in couriers else None,
                "name": couriers[r.courier_id].full_name if r.courier_id in couriers else None,
            },
            "colour": ROUTE_COLOURS[r.seq % len(ROUTE_COLOURS)],
            "profile": r.profile,
            "shift": {"start": clock.rfc3339(r.shift_start), "end": clock.rfc3339(r.shift_end)},
            "start_at": clock.rfc3339(r.start_at),
            "end_at": clock.rfc3339(r.end_at),
            "distance_m": round(r.distance_m, 1),
            "travel_s": round(r.travel_s, 1),
            "capacity": {"items": r.capacity_items, "weight_g": r.capacity_weight_g},
            "skills": r.skills,
            "breaks": r.breaks,
            "stops": [stop_out(s, dossiers, results, orgs) for s in by_route.get(r.id, [])],
        }
        for r in routes
    ]
    out["unassigned"] = [
        {
            "key": u.key,
            "kind": u.kind,
            "appointment_id": u.appointment_id,
            "dossier": dossiers.get(u.dossier_id) if u.dossier_id else None,
            "result_item": results.get(u.result_item_id) if u.result_item_id else None,
            "handover_id": u.handover_id,
            "place": orgs[u.org_id].code if u.org_id and u.org_id in orgs else None,
            "lat": u.lat,
            "lon": u.lon,
            "window": window_of(u.window_start, u.window_end),
            "reason": u.reason,
            "detail": u.detail,
        }
        for u in unassigned
    ]
    return out


async def list_plans(
    session: AsyncSession, principal: Principal, office_key: str, day: date | None
) -> list[dict[str, Any]]:
    po = await post_office(session, office_key)
    check_office(principal, po.id)
    stmt = select(Plan).where(Plan.post_office_id == po.id)
    if day is not None:
        stmt = stmt.where(Plan.service_date == day)
    rows = (await session.exec(stmt.order_by(col(Plan.created_at).desc()).limit(100))).all()
    return [plan_summary(p, po) for p in rows]


# --- publishing -------------------------------------------------------------------------------------------


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
    # The plan it replaces is superseded first, then this one is published: one published plan per office and
    # day is a unique index (migration 0009), so of two publishes racing each other one commits and the
    # other gets a 409 (issue 17: both used to commit, and couriers had two routes for the day).
    previous = (
        await session.exec(
            select(Plan).where(
                Plan.post_office_id == plan.post_office_id,
                Plan.service_date == plan.service_date,
                Plan.status == PlanStatus.published,
                Plan.id != plan.id,
            )
        )
    ).all()
    before: dict[uuid.UUID, uuid.UUID] = {}  # appointment -> courier in the superseded plan(s)
    for old in previous:
        rows = (
            await session.exec(
                select(PlanStop.appointment_id, PlanRoute.courier_id)
                .join(PlanRoute, col(PlanRoute.id) == col(PlanStop.route_id))
                .where(PlanStop.plan_id == old.id, col(PlanStop.appointment_id).is_not(None))
            )
        ).all()
        before.update({a: c for a, c in rows if a is not None})
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
    rows2 = (
        await session.exec(
            select(PlanStop, PlanRoute)
            .join(PlanRoute, col(PlanRoute.id) == col(PlanStop.route_id))
            .where(PlanStop.plan_id == plan.id)
            .order_by(col(PlanRoute.seq), col(PlanStop.seq))
        )
    ).all()
    assigned = skipped = 0
    for stop, route in rows2:
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
    for courier_id in {r.courier_id for _, r in rows2}:
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


def _published_meanwhile() -> HttpProblem:
    return HttpProblem(
        409,
        "Một kế hoạch khác của ngày này vừa được công bố; hãy xem lại / "
        "Another plan of this day was just published; check it first",
        code="plan_published_meanwhile",
    )


async def bump_appointment(
    session: AsyncSession,
    appt: Appointment,
    event_type: str,
    principal: Principal,
    *,
    data: dict[str, Any],
    at: datetime,
    status: AppointmentStatus | None = None,
    reason_code: str | None = None,
    reason: str | None = None,
) -> int:
    """Record an appointment event the way the booking domain does: the appointment moves to its next version
    with one guarded UPDATE and the event takes that version as ``seq`` (booking exposes no public function
    for events other than its own). Retries once on a concurrent change."""
    for _ in range(2):
        values: dict[str, Any] = {"version": appt.version + 1, "updated_at": at}
        if status is not None:
            values["status"] = status
            if reason_code is not None:
                values["outcome_code"] = reason_code
        result = await session.execute(
            update(Appointment)
            .where(
                col(Appointment.id) == appt.id,
                col(Appointment.version) == appt.version,
                col(Appointment.status) == AppointmentStatus.booked,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if int(getattr(result, "rowcount", 0) or 0) == 1:
            session.add(
                AppointmentEvent(
                    appointment_id=appt.id,
                    seq=appt.version + 1,
                    type=event_type,
                    at=at,
                    actor_role=principal.role.value,
                    actor_id=principal.id,
                    channel=BookingChannel.app if principal.role == Role.courier else BookingChannel.system,
                    reason=reason,
                    reason_code=reason_code,
                    data=data,
                )
            )
            return appt.version + 1
        await session.refresh(appt)
        if appt.status != AppointmentStatus.booked:
            break
    raise HttpProblem(
        409,
        f"Lịch hẹn đã thay đổi ({appt.status}) / The appointment changed ({appt.status})",
        code="appointment_changed",
    )


# --- the map ----------------------------------------------------------------------------------------------


async def plan_map(session: AsyncSession, principal: Principal, plan_id: uuid.UUID) -> str:
    from backend.planning import mapsvg
    from schemas.units import Commune

    detail = await plan_detail(session, principal, plan_id)
    po = await session.get(Organisation, detail["post_office_id"])
    assert po is not None
    communes = (
        await session.exec(select(Commune.lat, Commune.lon).where(Commune.province_code == po.province_code))
    ).all()
    routes = []
    for r in detail["routes"]:
        start = await session.get(PlanRoute, r["id"])
        assert start is not None
        points = [(start.start_lat, start.start_lon), *((s["lat"], s["lon"]) for s in r["stops"])]
        points.append((start.end_lat, start.end_lon))
        label = r["courier"]["name"] or r["courier"]["username"] or str(r["courier"]["id"])
        routes.append(
            mapsvg.MapRoute(label=label, colour=r["colour"], points=points, stop_count=len(r["stops"]))
        )
    title = f"{po.code} · {detail['date']} · {detail['status']}"
    return mapsvg.render(
        mapsvg.MapInput(
            title=title,
            depot=(po.lat, po.lon),
            routes=routes,
            unassigned=[(u["lat"], u["lon"]) for u in detail["unassigned"]],
            background=[(a, b) for a, b in communes],
        )
    )
