"""The feasibility check behind a dispatcher's move (``stop_moves``): the changed routes, as stored, turned into a
``routing.Problem`` and checked by ``routing.feasibility.check_routes`` before and after the change; only the
rules the change newly breaks count. Each route is checked from where it stands: a route of today already under
way starts now from its last finished stop, its breaks already past left out."""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.planning import clock
from backend.planning.problem_builder import matrix_provider
from routing import Break, Depot, Location, PickupDelivery, Problem, Stop, TimeWindow, Vehicle
from routing.feasibility import RouteCheck, Violation, check_routes
from schemas.orgs import Organisation
from schemas.planning import PlanRoute, PlanStop, StopStatus
from schemas.vntime import vn_date

PICKUP_KINDS = ("pickup", "assisted", "desk_pickup")


@dataclass
class RouteState:
    route: PlanRoute
    units: list[list[PlanStop]]  # open stops in order, a household visit's items together
    finished: list[PlanStop]

    @property
    def open_rows(self) -> list[PlanStop]:
        return [s for u in self.units for s in u]


@dataclass
class CheckResult:
    day: date
    checks: dict[str, RouteCheck]
    violations: list[dict[str, Any]] = field(default_factory=list)

    def eta_of(self, stop_id: uuid.UUID) -> datetime | None:
        for rc in self.checks.values():
            for v in rc.visits:
                if v.stop_id == str(stop_id):
                    return clock.at(self.day, v.arrival)
        return None

    def apply(self, states: list[RouteState], session: AsyncSession) -> None:
        """The new order, times and loads of the checked routes onto their rows (finished stops first)."""
        for st in states:
            rc = self.checks[str(st.route.courier_id)]
            seq = 0
            for s in st.finished:
                seq += 1
                s.seq = seq
                session.add(s)
            for s, v, leg in zip(st.open_rows, rc.visits, rc.legs, strict=True):
                seq += 1
                s.seq, s.route_id = seq, st.route.id
                s.eta = clock.at(self.day, v.arrival)
                s.service_start = clock.at(self.day, v.start)
                s.departure = clock.at(self.day, v.end)
                s.travel_from_prev_s, s.distance_from_prev_m = leg
                s.load_items, s.load_weight_g = v.load_items, v.load_weight
                session.add(s)
            r = st.route
            r.start_at = clock.at(self.day, rc.start_time)
            r.end_at = clock.at(self.day, rc.end_time)
            r.distance_m, r.travel_s, r.stops_count = rc.distance, rc.travel_time, seq
            for b, taken in zip(r.breaks, rc.breaks, strict=False):
                b["start"] = clock.rfc3339(clock.at(self.day, taken.start))
            r.breaks = [dict(b) for b in r.breaks]  # a new list: the JSON column sees the change
            session.add(r)


def check(
    day: date, po: Organisation, states: list[RouteState], before: list[RouteState], now: datetime
) -> CheckResult:
    """Check ``states`` (after the change); violations already present in ``before`` are not counted. Blocking
    (the matrix may be OSRM over HTTP): run in a thread."""
    after = _run(day, po, states, now)
    old = _run(day, po, before, now)
    known = {(v.vehicle_id, v.rule, v.stop_id): v.amount for rc in old.values() for v in rc.violations}
    result = CheckResult(day, after)
    for rc in after.values():
        for v in rc.violations:
            seen = known.get((v.vehicle_id, v.rule, v.stop_id))
            if seen is None or v.amount > seen:
                result.violations.append(_out(v))
    return result


def _out(v: Violation) -> dict[str, Any]:
    return {"courier_id": v.vehicle_id, "rule": v.rule, "stop_id": v.stop_id, "amount": v.amount}


def _run(day: date, po: Organisation, states: list[RouteState], now: datetime) -> dict[str, RouteCheck]:
    vehicles: list[Vehicle] = []
    starts: dict[str, int] = {}
    stops: list[Stop] = []
    pairs: list[PickupDelivery] = []
    routes: dict[str, list[str]] = {}
    rows = {s.key: s for st in states for s in st.open_rows}
    for st in states:
        vehicle, start = _vehicle(day, po, st, now)
        vehicles.append(vehicle)
        if start is not None:
            starts[vehicle.id] = start
        routes[vehicle.id] = [str(s.id) for s in st.open_rows]
        stops.extend(_stop(day, s) for s in st.open_rows)
        pairs.extend(
            PickupDelivery(str(s.id), str(rows[s.pair_key].id))
            for s in st.open_rows
            if s.kind == "desk_pickup" and s.pair_key and s.pair_key in rows
        )
    problem = Problem(
        depots=[Depot(id=str(po.id), location=Location(lat=po.lat, lon=po.lon))],
        vehicles=vehicles,
        stops=stops,
        pairs=pairs,
        matrix_provider=matrix_provider(),
    )
    return check_routes(problem, routes, starts)


def _vehicle(day: date, po: Organisation, st: RouteState, now: datetime) -> tuple[Vehicle, int | None]:
    r = st.route
    shift_start = clock.secs(day, r.shift_start)
    start: int | None = None
    place = (r.start_lat, r.start_lon)
    if st.finished:
        place = (st.finished[-1].lat, st.finished[-1].lon)
    if day == vn_date(now) and clock.secs(day, now) > shift_start:
        start = clock.secs(day, now)
    breaks = tuple(Break(int(b["duration_s"]), int(b["earliest"]), int(b["latest"])) for b in r.breaks)
    if start is not None:
        breaks = tuple(b for b in breaks if b.latest_start >= start)
    vehicle = Vehicle(
        id=str(r.courier_id),
        depot_id=str(po.id),
        start_location=Location(lat=place[0], lon=place[1]),
        end_location=Location(lat=r.end_lat, lon=r.end_lon),
        shift_start=shift_start,
        shift_end=clock.secs(day, r.shift_end),
        breaks=breaks,
        capacity_items=r.capacity_items,
        capacity_weight=r.capacity_weight_g,
        skills=frozenset(r.skills),
        profile=r.profile,
        committed=tuple(str(s.id) for s in st.open_rows if s.status == StopStatus.started),
    )
    return vehicle, start


def _stop(day: date, s: PlanStop) -> Stop:
    window = None
    # A started visit is under way: its window no longer constrains what follows (as in capacity.plan_problem).
    if s.window_start and s.window_end and s.status != StopStatus.started:
        window = TimeWindow(clock.secs(day, s.window_start), clock.secs(day, s.window_end))
    return Stop(
        id=str(s.id),
        location=Location(lat=s.lat, lon=s.lon),
        window=window,
        service_time=s.service_s,
        kind="pickup" if s.kind in PICKUP_KINDS else "delivery",
        items=s.items,
        weight=s.weight_g,
        skills=frozenset(s.skills),
    )
