"""Does one more home visit still fit the day's plan? For the booking screen (``routing.can_insert``: cheapest
feasible insertion without moving other stops between couriers; milliseconds for a few hundred stops)."""

import asyncio
import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.booking.capacity import CourierShiftPolicy, VisitRequest, get_policy, set_policy
from backend.db import db_key, detached
from backend.lib import pgnotify
from backend.lib.ttlcache import TtlCache
from backend.planning import answer_tags, clock
from backend.planning.problem_builder import ITEM_WEIGHT_G, matrix_provider
from routing import (
    Break,
    Depot,
    InsertionResult,
    Location,
    PickupDelivery,
    Problem,
    Stop,
    TimeWindow,
    Vehicle,
    can_insert,
)
from routing.prepared import PreparedPlan, prepare
from schemas.orgs import Organisation
from schemas.planning import Plan, PlanRoute, PlanStatus, PlanStop, StopStatus
from schemas.vntime import vn_date

NEW_STOP = "new"


async def latest_plan(session: AsyncSession, post_office_id: uuid.UUID, day: date) -> Plan | None:
    """The day's published plan, else its latest solved one."""
    return (await latest_plans(session, post_office_id, {day})).get(day)


async def latest_plans(session: AsyncSession, post_office_id: uuid.UUID, days: set[date]) -> dict[date, Plan]:
    """``latest_plan`` for many days in one query (the booking screen lists two weeks at once)."""
    if not days:
        return {}
    rows = (
        await session.exec(
            select(Plan)
            .where(
                Plan.post_office_id == post_office_id,
                col(Plan.service_date).in_(days),
                col(Plan.status).in_([PlanStatus.published, PlanStatus.done]),
            )
            .order_by(col(Plan.finished_at).desc())
        )
    ).all()
    best: dict[date, Plan] = {}
    for plan in rows:  # newest first: a published plan wins over any solved one, else the newest solved
        seen = best.get(plan.service_date)
        if seen is None or (seen.status != PlanStatus.published and plan.status == PlanStatus.published):
            best[plan.service_date] = plan
    return best


# Listings ask for the planned days of two weeks on every request; plans change a few times a day. A short
# per-process cache (dropped in this process whenever a plan is solved or published) saves that query; the
# booking itself (``admits``) always reads the plan fresh.
PLAN_CACHE_TTL_S = 10.0
_listing_plans: TtlCache[tuple[str, uuid.UUID, frozenset[date]], dict[date, Plan]] = TtlCache(
    PLAN_CACHE_TTL_S
)


# The plans as the solver saw them, for listings only (a few ms and three queries each): dropped with the
# plans, and whenever a stop or route of any plan changes (``backend.planning.answer_tags``: this process's
# commits at once, another process's through NOTIFY), else after ``PLAN_CACHE_TTL_S``.
_listing_problems: TtlCache[tuple[str, uuid.UUID], tuple[Problem, dict[str, list[str]]]] = TtlCache(
    PLAN_CACHE_TTL_S
)
# ... and compiled, with breaks placed and routes simulated (``routing.prepared``), kept and dropped with them:
# a listing for a new place then costs its own travel row and the insertion scan (issue 24).
_listing_prepared: TtlCache[tuple[str, uuid.UUID], PreparedPlan] = TtlCache(PLAN_CACHE_TTL_S)


def forget_plans() -> None:
    _listing_plans.clear()
    _listing_problems.clear()
    _listing_prepared.clear()


def forget_problems() -> None:
    """A stop or route of some plan changed: listings rebuild the plans they check visits against."""
    _listing_problems.clear()
    _listing_prepared.clear()


def _reference_changed(table: str) -> None:
    if table == "plan":
        forget_plans()


def _listener_reset(_db: str) -> None:
    forget_plans()


def install() -> None:
    """Forget cached plans when another process solves or publishes one (PostgreSQL NOTIFY) or the listener
    reconnects, and cached plan problems when any stop or route changes. Called once by
    ``backend.app.create_app``; calling it again changes nothing."""
    pgnotify.subscribe(pgnotify.REFERENCE, _reference_changed)
    pgnotify.on_reset(_listener_reset)
    answer_tags.install()  # stops and routes: their changes drop cached answers in every process
    answer_tags.on_change(forget_problems)


async def listing_plans(
    session: AsyncSession, post_office_id: uuid.UUID, days: set[date]
) -> dict[date, Plan]:
    async def load() -> dict[date, Plan]:
        plans = await latest_plans(session, post_office_id, days)
        return {day: detached(plan) for day, plan in plans.items()}

    return await _listing_plans.get_or_load((db_key(session), post_office_id, frozenset(days)), load)


async def listing_problem(session: AsyncSession, plan: Plan) -> tuple[Problem, dict[str, list[str]]]:
    """``plan_problem`` through the listing cache (read-only use; a booking's own check reads it fresh)."""
    return await _listing_problems.get_or_load(
        (db_key(session), plan.id), lambda: plan_problem(session, plan)
    )


async def listing_prepared(session: AsyncSession, plan: Plan) -> PreparedPlan:
    """The listing's plan ready for many insertion checks (made off the event loop: a few ms of CPU)."""

    async def load() -> PreparedPlan:
        problem, routes = await listing_problem(session, plan)
        return await asyncio.to_thread(prepare, routes, problem)

    return await _listing_prepared.get_or_load((db_key(session), plan.id), load)


async def plan_problem(session: AsyncSession, plan: Plan) -> tuple[Problem, dict[str, list[str]]]:
    """The plan as the solver saw it (from its stored routes and stops) and its routes as stop-id lists."""
    po = await session.get(Organisation, plan.post_office_id)
    assert po is not None
    day = plan.service_date
    routes = (
        await session.exec(select(PlanRoute).where(PlanRoute.plan_id == plan.id).order_by(col(PlanRoute.seq)))
    ).all()
    stops = (
        await session.exec(
            select(PlanStop)
            # Finished visits are behind the courier: only what is ahead must still fit.
            .where(
                PlanStop.plan_id == plan.id,
                col(PlanStop.status).in_([StopStatus.planned, StopStatus.started]),
            )
            .order_by(col(PlanStop.seq))
        )
    ).all()
    vehicles = [
        Vehicle(
            id=str(r.courier_id),
            depot_id=str(po.id),
            start_location=Location(lat=r.start_lat, lon=r.start_lon),
            end_location=Location(lat=r.end_lat, lon=r.end_lon),
            shift_start=clock.secs(day, r.shift_start),
            shift_end=clock.secs(day, r.shift_end),
            breaks=tuple(Break(int(b["duration_s"]), int(b["earliest"]), int(b["latest"])) for b in r.breaks),
            capacity_items=r.capacity_items,
            capacity_weight=r.capacity_weight_g,
            skills=frozenset(r.skills),
            profile=r.profile,
        )
        for r in routes
    ]
    keys = {s.key for s in stops}
    routing_stops = [
        Stop(
            id=s.key,
            location=Location(lat=s.lat, lon=s.lon),
            window=(
                TimeWindow(clock.secs(day, s.window_start), clock.secs(day, s.window_end))
                # A started visit is under way: its window no longer constrains what follows.
                if s.window_start and s.window_end and s.status != StopStatus.started
                else None
            ),
            service_time=s.service_s,
            kind="pickup" if s.kind in ("pickup", "assisted", "desk_pickup") else "delivery",
            items=s.items,
            weight=s.weight_g,
            skills=frozenset(s.skills),
        )
        for s in stops
    ]
    pairs = [
        PickupDelivery(s.key, s.pair_key)
        for s in stops
        if s.kind == "desk_pickup" and s.pair_key and s.pair_key in keys
    ]
    by_route: dict[uuid.UUID, list[str]] = {}
    for s in stops:
        by_route.setdefault(s.route_id, []).append(s.key)
    plan_routes = {str(r.courier_id): by_route.get(r.id, []) for r in routes}
    problem = Problem(
        depots=[Depot(id=str(po.id), location=Location(lat=po.lat, lon=po.lon))],
        vehicles=vehicles,
        stops=routing_stops,
        pairs=pairs,
        matrix_provider=matrix_provider(),
    )
    return problem, plan_routes


async def fits_in_plan(
    session: AsyncSession,
    post_office_id: uuid.UUID,
    window_start: datetime,
    window_end: datetime,
    lat: float,
    lon: float,
    service_s: int,
) -> bool:
    """Can a visit at (lat, lon) starting within [window_start, window_end] still be served by the day's
    published (else latest solved) plan without moving other stops? True when the day has no plan yet: the
    booking ledger's courier-minutes are then the only limit."""
    result = await insertion_check(session, post_office_id, window_start, window_end, lat, lon, service_s)
    return result is None or result.feasible


async def insertion_check(
    session: AsyncSession,
    post_office_id: uuid.UUID,
    window_start: datetime,
    window_end: datetime,
    lat: float,
    lon: float,
    service_s: int,
) -> InsertionResult | None:
    """The cheapest insertion (courier, position, added travel) or why none; None when the day has no plan."""
    day = vn_date(window_start)
    if pgnotify.listening(db_key(session)):  # every plan change reaches this process: the cache is current
        plan = (await listing_plans(session, post_office_id, {day})).get(day)
    else:
        plan = await latest_plan(session, post_office_id, day)
    if plan is None:
        return None
    problem, routes = await plan_problem(session, plan)
    if not problem.vehicles:
        return InsertionResult(False, reason="no courier in the plan")
    new = _new_stop(day, window_start, window_end, lat, lon, service_s)
    # The matrix provider may be OSRM (network): keep the event loop free.
    return await asyncio.to_thread(can_insert, routes, problem, new)


def _fits(prepared: PreparedPlan, stops: list[Stop]) -> list[bool]:
    return [r.feasible for r in prepared.can_insert_all(stops)]


def _new_stop(day: date, start: datetime, end: datetime, lat: float, lon: float, service_s: int) -> Stop:
    return Stop(
        id=NEW_STOP,
        location=Location(lat=lat, lon=lon),
        window=TimeWindow(clock.secs(day, start), clock.secs(day, end)),
        service_time=service_s,
        kind="pickup",
        items=1,
        weight=ITEM_WEIGHT_G,
    )


class RouteInsertionPolicy(CourierShiftPolicy):
    """A booking ``CapacityPolicy`` (backend/booking/capacity.py): courier-shift minutes as capacity (inherited,
    so booking's cached shift counts apply), and a visit is admitted only if it still fits the day's plan.
    Install with ``backend.booking.capacity.set_policy(RouteInsertionPolicy())``."""

    async def admitted_windows(
        self,
        session: AsyncSession,
        post_office_id: uuid.UUID,
        windows: Sequence[tuple[datetime, datetime]],
        lat: float,
        lon: float,
        service_s: int,
    ) -> set[datetime]:
        """The window starts (of ``windows``) in which the visit still fits: every window of a day without a
        plan, and on a planned day those where ``can_insert`` finds a place. One plan load per planned day."""
        day_of = {start: vn_date(start) for start, _ in windows}
        planned = await listing_plans(session, post_office_id, set(day_of.values()))
        admitted = {start for start, day in day_of.items() if day not in planned}
        for day, plan in planned.items():
            todays = [(s, e) for s, e in windows if day_of[s] == day]
            if not todays:
                continue
            prepared = await listing_prepared(session, plan)
            if not prepared.problem.vehicles:
                continue
            new = [_new_stop(day, start, end, lat, lon, service_s) for start, end in todays]
            if prepared.local:  # the place's travel row and the scan: ~0.1 ms, less than a thread hop costs
                fits = _fits(prepared, new)
            else:  # OSRM: off the loop, one thread hop per planned day, not per window
                fits = await asyncio.to_thread(_fits, prepared, new)
            admitted.update(start for (start, _), ok in zip(todays, fits, strict=True) if ok)
        return admitted

    async def admits(self, session: AsyncSession, visit: VisitRequest) -> bool:
        service_s = max(visit.cost_minutes, 1) * 60
        return await fits_in_plan(
            session,
            visit.post_office_id,
            visit.window.start,
            visit.window.end,
            visit.lat,
            visit.lon,
            service_s,
        )


def install_policy(booking_capacity: str) -> None:
    """Issue 3's seam, closed by issue 5: with ``BOOKING_CAPACITY=routes`` (the default), once a day has a plan,
    booking offers only windows the routes can absorb. Called by ``backend.app.create_app``; idempotent."""
    if booking_capacity == "routes" and not isinstance(get_policy(), RouteInsertionPolicy):
        set_policy(RouteInsertionPolicy())
