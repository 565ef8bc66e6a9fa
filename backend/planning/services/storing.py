"""Storing a solve's answer: a route per courier with its stops (a re-plan's finished stops first), the stops
left out with why, and the plan's totals."""

import asyncio
import uuid
from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.planning import capacity, clock
from backend.planning.problem_builder import CourierInfo, StopInfo, matrix_provider
from backend.planning.reasons import reason_of
from backend.planning.services import households
from backend.planning.services.solving import SolveJob
from routing import Location, Problem, Route, Solution
from schemas.base import utcnow
from schemas.planning import Plan, PlanRoute, PlanStatus, PlanStop, PlanUnassigned, StopStatus


async def store_solution(
    session: AsyncSession, plan_id: uuid.UUID, job: SolveJob, solution: Solution | None
) -> None:
    plan = await session.get(Plan, plan_id)
    assert plan is not None
    if plan.status != PlanStatus.running:
        return  # cancelled or failed meanwhile
    routes = {r.vehicle_id: r for r in (solution.routes if solution else [])}
    assigned = 0
    for seq, courier in enumerate(job.day.couriers):
        r = routes.get(str(courier.courier_id))
        history = job.history.get(courier.courier_id, [])
        if r is None and not history:
            continue
        route = route_row(plan, seq, courier)
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
            visits = await _add_visits(session, job, plan, route, courier, r, first_seq=n + 1)
            n += visits
            assigned += visits
        route.stops_count = n
    unassigned = _add_unassigned(session, job, plan, solution)
    _finish(plan, job, solution, assigned=assigned, unassigned=unassigned, couriers_used=len(routes))
    session.add(plan)


def route_row(plan: Plan, seq: int, courier: CourierInfo) -> PlanRoute:
    return PlanRoute(
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


async def _add_visits(
    session: AsyncSession,
    job: SolveJob,
    plan: Plan,
    route: PlanRoute,
    courier: CourierInfo,
    r: Route,
    *,
    first_seq: int,
) -> int:
    """The solver's visits of one courier as stops numbered from ``first_seq``, with the route's times and
    distance; returns how many."""
    day = job.day
    infos = [day.stops[v.stop_id] for v in r.visits]
    points = [(courier.start_lat, courier.start_lon), *((s.lat, s.lon) for s in infos)]
    points.append((courier.end_lat, courier.end_lon))
    # The matrix may be OSRM over HTTP, which blocks.
    legs = await asyncio.to_thread(_legs, job.problem, courier.profile, points)
    seq = first_seq
    for v, info, leg in zip(r.visits, infos, legs, strict=False):
        # A household visit is stored as its items, one after the other (households.expand).
        for i, (item, times) in enumerate(households.expand(info, v)):
            row = _stop_row(
                plan, route, seq, item, day.day, times, leg if i == 0 else (0.0, 0.0),
                (v.load_items, v.load_weight), job.started.get(item.key),
            )  # fmt: skip
            row.visit_key = info.key if info.members else None
            session.add(row)
            seq += 1
    for b, taken in zip(route.breaks, r.breaks, strict=False):
        b["start"] = clock.rfc3339(clock.at(day.day, taken.start))
    route.start_at = clock.at(day.day, r.start_time)
    route.end_at = clock.at(day.day, r.end_time)
    route.distance_m = r.distance
    route.travel_s = r.travel_time
    return seq - first_seq


def _legs(problem: Problem, profile: str, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """(travel seconds, metres) of each consecutive pair of points."""
    provider = problem.matrix_provider or matrix_provider()
    m = provider.matrix([Location(lat=a, lon=b) for a, b in points], profile)
    out = []
    for i in range(len(points) - 1):
        dist = float(m.distances[i, i + 1]) if m.distances is not None else 0.0
        out.append((float(m.durations[i, i + 1]), dist))
    return out


def _stop_row(
    plan: Plan,
    route: PlanRoute,
    seq: int,
    info: StopInfo,
    day: date,
    times: tuple[int, int, int],
    leg: tuple[float, float],
    load: tuple[int, int],
    kept: PlanStop | None,
) -> PlanStop:
    """``times`` are arrival, service start and departure in seconds of the day; ``load`` is items and grams
    on board after the stop; ``kept`` is the stop a re-plan carried over as started."""
    arrival, start, end = times
    eta = clock.at(day, arrival)
    return PlanStop(
        plan_id=plan.id,
        route_id=route.id,
        seq=seq,
        key=info.key,
        kind=info.kind,
        status=kept.status if kept else StopStatus.planned,
        started_at=kept.started_at if kept else None,
        pinned=kept.pinned if kept else False,
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
        load_items=load[0],
        load_weight_g=load[1],
    )


def _add_unassigned(session: AsyncSession, job: SolveJob, plan: Plan, solution: Solution | None) -> int:
    """The stops no route serves, each with why; returns how many."""
    day = job.day
    served = {v.stop_id for r in (solution.routes if solution else []) for v in r.visits}
    unassigned: list[tuple[StopInfo, str]] = [(x.stop, x.reason) for x in day.excluded]
    raw_reasons = {u.stop_id: u.reason for u in (solution.unassigned if solution else [])}
    for key, info in day.stops.items():
        if key not in served:
            unassigned.extend(
                (item, raw_reasons.get(key, "no_courier")) for item in households.items_of({key: info})
            )
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
    return len(unassigned)


def _finish(
    plan: Plan,
    job: SolveJob,
    solution: Solution | None,
    *,
    assigned: int,
    unassigned: int,
    couriers_used: int,
) -> None:
    day = job.day
    plan.status = PlanStatus.done
    capacity.forget_plans()
    plan.progress = 100
    plan.finished_at = utcnow()
    plan.stops_total = len(households.items_of(day.stops)) + len(day.excluded)
    plan.stops_assigned = assigned
    plan.stops_unassigned = unassigned
    plan.couriers_available = len(day.couriers)
    plan.couriers_used = couriers_used
    plan.total_distance_m = solution.total_distance if solution else 0.0
    plan.total_travel_s = solution.total_travel_time if solution else 0.0
    plan.objective = solution.objective if solution else None
    plan.solver_status = solution.status if solution else ("no_couriers" if day.stops else "no_stops")
    plan.solve_wall_s = solution.wall_time_s if solution else 0.0
    plan.error = None
