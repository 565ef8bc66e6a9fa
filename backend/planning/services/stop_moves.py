"""A dispatcher's hand on a solved or published plan (issue 20): move a stop to another courier or to another
place in the order, pin or unpin it.

A move is checked at once with the routing package's evaluation (``routing.feasibility.check_routes``: time
windows, the courier's shift, load, the break, skills, a desk pickup before its delivery) on the routes it
changes, from where each route stands now (a route under way: from now and the last finished stop). A move that
would break a rule the routes did not already break is refused with the violations (409
``stop_move_infeasible``) and nothing changes; there is no ``force``: a dispatcher who wants it anyway re-plans.
Otherwise, in one transaction: the new order and ETAs, each changed route's ``version`` + 1, a ``plan_event`` row
(who, when, from where, before and after), on a published plan an ``assigned`` appointment event for a visit
that changed courier and ``courier.route_updated`` through the outbox to each courier whose route changed.

The items of one household visit (``visit_key``) move together. Pinned stops stay with their courier and in
their order through a later re-plan (``replanning``).
"""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal, check_office
from backend.lib.problems import Problem as HttpProblem
from backend.lib.problems import not_found
from backend.planning import capacity, clock
from backend.planning.problem_builder import couriers_on_shift
from backend.planning.services.access import visible_plan
from backend.planning.services.appointments import bump_appointment
from backend.planning.services.stop_checks import RouteState, check
from backend.planning.services.storing import route_row
from notifications.outbox import enqueue
from schemas.base import utcnow
from schemas.booking import Appointment, AppointmentStatus
from schemas.dossiers import CustodianKind, Dossier
from schemas.orgs import Organisation
from schemas.planning import Plan, PlanEvent, PlanRoute, PlanStatus, PlanStop, StopMove, StopStatus
from schemas.vntime import vn_date

OPEN = (StopStatus.planned, StopStatus.started)


@dataclass
class _Ctx:
    plan: Plan
    stop: PlanStop
    group: list[PlanStop]  # the stop and the other items of its visit, in route order
    routes: dict[uuid.UUID, PlanRoute]  # by id
    stops: dict[uuid.UUID, list[PlanStop]]  # route id -> all its stops by seq


async def _load(session: AsyncSession, principal: Principal, stop_id: uuid.UUID, now: datetime) -> _Ctx:
    stop = await session.get(PlanStop, stop_id)
    if stop is None:
        raise not_found("điểm dừng / stop", stop_id)
    plan = await visible_plan(session, principal, stop.plan_id)
    check_office(principal, plan.post_office_id)
    # One change at a time per plan: the plan row is locked (PostgreSQL; SQLite's write transaction is one).
    await session.exec(select(Plan.id).where(Plan.id == plan.id).with_for_update())
    if plan.status not in (PlanStatus.done, PlanStatus.published) or plan.service_date < vn_date(now):
        raise HttpProblem(
            409,
            f"Không sửa được kế hoạch {plan.status} ngày {plan.service_date} / "
            f"A {plan.status} plan of {plan.service_date} cannot be changed",
            code="plan_not_editable",
        )
    routes = {
        r.id: r for r in (await session.exec(select(PlanRoute).where(PlanRoute.plan_id == plan.id))).all()
    }
    rows = (
        await session.exec(select(PlanStop).where(PlanStop.plan_id == plan.id).order_by(col(PlanStop.seq)))
    ).all()
    stops: dict[uuid.UUID, list[PlanStop]] = {rid: [] for rid in routes}
    for s in rows:
        stops.setdefault(s.route_id, []).append(s)
    group = [
        s
        for s in stops[stop.route_id]
        if s.id == stop.id or (stop.visit_key and s.visit_key == stop.visit_key)
    ]
    return _Ctx(plan, stop, group, routes, stops)


def _units(rows: list[PlanStop]) -> list[list[PlanStop]]:
    """A route's open stops as visits: the rows of one household visit together, in order."""
    out: list[list[PlanStop]] = []
    for s in rows:
        if s.status not in OPEN:
            continue
        if out and s.visit_key and out[-1][0].visit_key == s.visit_key:
            out[-1].append(s)
        else:
            out.append([s])
    return out


def _where(ctx: _Ctx) -> dict[str, Any]:
    route = ctx.routes[ctx.stop.route_id]
    units = _units(ctx.stops[route.id])
    pos = next((i + 1 for i, u in enumerate(units) if ctx.stop in u), None)
    return {"courier_id": str(route.courier_id), "position": pos, "pinned": ctx.stop.pinned,
            "route_version": route.version}  # fmt: skip


async def move_stop(
    session: AsyncSession,
    principal: Principal,
    stop_id: uuid.UUID,
    data: StopMove,
    *,
    client_ip: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    now = now or utcnow()
    ctx = await _load(session, principal, stop_id, now)
    if any(s.status != StopStatus.planned for s in ctx.group):
        raise HttpProblem(
            409,
            f"Điểm dừng đang ở trạng thái {ctx.stop.status} / The stop is {ctx.stop.status}",
            code="stop_state",
        )
    source = ctx.routes[ctx.stop.route_id]
    if data.route_version is not None and data.route_version != source.version:
        raise HttpProblem(
            409,
            f"Lộ trình đã ở phiên bản {source.version} / The route is at version {source.version}",
            code="route_changed",
            extra={"version": source.version},
        )
    before = _where(ctx)
    target = await _target_route(session, ctx, data.courier_id or source.courier_id)
    orders = _new_orders(ctx, source, target, data.position)
    changed = {source.id, target.id}
    states = [RouteState(ctx.routes[rid], orders[rid], _finished(ctx.stops.get(rid, []))) for rid in changed]
    old = [RouteState(ctx.routes[rid], _units(ctx.stops.get(rid, [])), _finished(ctx.stops.get(rid, [])))
           for rid in changed]  # fmt: skip
    po = await session.get(Organisation, ctx.plan.post_office_id)
    assert po is not None
    result = await asyncio.to_thread(check, ctx.plan.service_date, po, states, old, now)
    held = await _held_elsewhere(session, ctx.group, target)
    if result.violations or held:
        raise HttpProblem(
            409,
            "Thay đổi làm lộ trình không khả thi; không có gì thay đổi / "
            "The change makes a route infeasible; nothing was changed",
            code="stop_move_infeasible",
            extra={"violations": [*held, *result.violations]},
        )
    for s in ctx.group:
        s.route_id = target.id
        if data.pin is not None:
            s.pinned = data.pin
        if source.id != target.id:
            s.planned_eta = result.eta_of(s.id) or s.planned_eta
    result.apply(states, session)
    for rid in changed:
        ctx.routes[rid].version += 1
        session.add(ctx.routes[rid])
    moved_courier = source.courier_id != target.courier_id
    after = {"courier_id": str(target.courier_id), "position": _position(orders[target.id], ctx.stop),
             "pinned": ctx.stop.pinned, "route_version": target.version}  # fmt: skip
    event = _event(ctx, principal, "stop_moved", before, after, client_ip, now)
    session.add(event)
    if ctx.plan.status == PlanStatus.published:
        if moved_courier:
            await _assigned(session, principal, ctx, target, now)
        _tell_couriers(session, ctx.plan, {ctx.routes[rid].courier_id for rid in changed}, event.id)
    await session.commit()
    capacity.forget_plans()
    return _answer(event, ctx, target, [ctx.routes[rid] for rid in changed], orders)


async def set_pin(
    session: AsyncSession,
    principal: Principal,
    stop_id: uuid.UUID,
    pinned: bool,
    *,
    client_ip: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Pin (or unpin) a stop and the other items of its visit: nothing moves now; a re-plan keeps it."""
    now = now or utcnow()
    ctx = await _load(session, principal, stop_id, now)
    if any(s.status not in OPEN for s in ctx.group):
        raise HttpProblem(
            409,
            f"Điểm dừng đang ở trạng thái {ctx.stop.status} / The stop is {ctx.stop.status}",
            code="stop_state",
        )
    route = ctx.routes[ctx.stop.route_id]
    before = _where(ctx)
    for s in ctx.group:
        s.pinned = pinned
        session.add(s)
    route.version += 1
    session.add(route)
    after = {**before, "pinned": pinned, "route_version": route.version}
    event = _event(
        ctx, principal, "stop_pinned" if pinned else "stop_unpinned", before, after, client_ip, now
    )
    session.add(event)
    await session.commit()
    orders = {route.id: _units(ctx.stops[route.id])}
    return _answer(event, ctx, route, [route], orders)


async def _target_route(session: AsyncSession, ctx: _Ctx, courier_id: uuid.UUID) -> PlanRoute:
    """The courier's route in the plan; a courier of the office on shift that day but without stops gets an
    empty one."""
    for r in ctx.routes.values():
        if r.courier_id == courier_id:
            return r
    po = await session.get(Organisation, ctx.plan.post_office_id)
    assert po is not None
    courier = next((c for c in await couriers_on_shift(session, po, ctx.plan.service_date)
                    if c.courier_id == courier_id), None)  # fmt: skip
    if courier is None:
        raise HttpProblem(
            422,
            f"Bưu tá {courier_id} không có ca ngày này ở bưu cục / "
            f"Courier {courier_id} has no shift at this post office that day",
            code="courier_not_available",
        )
    route = route_row(ctx.plan, len(ctx.routes), courier)
    session.add(route)
    await session.flush()
    ctx.routes[route.id] = route
    ctx.stops[route.id] = []
    return route


def _new_orders(
    ctx: _Ctx, source: PlanRoute, target: PlanRoute, position: int | None
) -> dict[uuid.UUID, list[list[PlanStop]]]:
    ids = {s.id for s in ctx.group}
    orders = {rid: [u for u in _units(ctx.stops[rid]) if not ids & {s.id for s in u}]
              for rid in {source.id, target.id}}  # fmt: skip
    dest = orders[target.id]
    under_way = sum(1 for u in dest if any(s.status == StopStatus.started for s in u))
    pos = len(dest) + 1 if position is None else position
    if pos <= under_way or pos > len(dest) + 1:
        raise HttpProblem(
            422,
            f"Vị trí {pos} không hợp lệ: từ {under_way + 1} đến {len(dest) + 1} / "
            f"Position {pos} is out of range: {under_way + 1} to {len(dest) + 1}",
            code="bad_position",
            extra={"min": under_way + 1, "max": len(dest) + 1},
        )
    dest.insert(pos - 1, ctx.group)
    return orders


def _finished(rows: list[PlanStop]) -> list[PlanStop]:
    return [s for s in rows if s.status not in OPEN]


def _position(units: list[list[PlanStop]], stop: PlanStop) -> int | None:
    return next((i + 1 for i, u in enumerate(units) if stop in u), None)


async def _held_elsewhere(
    session: AsyncSession, group: list[PlanStop], target: PlanRoute
) -> list[dict[str, Any]]:
    """A result already in a courier's bag can only be delivered by that courier."""
    out = []
    for s in group:
        if s.dossier_id is None or s.kind != "delivery":
            continue
        d = await session.get(Dossier, s.dossier_id)
        if (d is not None and d.custodian_kind == CustodianKind.courier and d.custodian_user_id is not None
                and d.custodian_user_id != target.courier_id):  # fmt: skip
            out.append({"courier_id": str(target.courier_id), "rule": "held_by_courier", "stop_id": str(s.id),
                        "amount": 0})  # fmt: skip
    return out


def _event(
    ctx: _Ctx, principal: Principal, kind: str, before: dict[str, Any], after: dict[str, Any],
    client_ip: str | None, now: datetime,
) -> PlanEvent:  # fmt: skip
    return PlanEvent(
        plan_id=ctx.plan.id, stop_id=ctx.stop.id, kind=kind, at=now, actor_id=principal.id,
        actor_role=principal.role.value, client_ip=client_ip,
        before={**before, "items": [str(s.id) for s in ctx.group]}, after=after,
    )  # fmt: skip


async def _assigned(
    session: AsyncSession, principal: Principal, ctx: _Ctx, target: PlanRoute, now: datetime
) -> None:
    """Each booked appointment of the moved visit is assigned to its new courier, as publishing does."""
    for s in ctx.group:
        appt = await session.get(Appointment, s.appointment_id) if s.appointment_id else None
        if appt is None or appt.status != AppointmentStatus.booked:
            continue
        data = {"courier_id": str(target.courier_id), "plan_id": str(ctx.plan.id), "stop_id": str(s.id),
                "eta": clock.rfc3339(s.eta), "by": "dispatcher"}  # fmt: skip
        await bump_appointment(session, appt, "assigned", principal, data=data, at=now)


def _tell_couriers(session: AsyncSession, plan: Plan, couriers: set[uuid.UUID], event_id: uuid.UUID) -> None:
    for courier_id in couriers:
        enqueue(
            session,
            recipient_kind="staff",
            recipient_id=courier_id,
            template="courier.route_updated",
            params={"service_date": plan.service_date},
            dedupe_key=f"plan.stop_control:{event_id}:{courier_id}",
        )


def _answer(
    event: PlanEvent,
    ctx: _Ctx,
    route: PlanRoute,
    changed: list[PlanRoute],
    orders: dict[uuid.UUID, list[list[PlanStop]]],
) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "plan_id": ctx.plan.id,
        "stop_id": ctx.stop.id,
        "courier_id": route.courier_id,
        "pinned": ctx.stop.pinned,
        "routes": [
            {
                "id": r.id, "courier_id": r.courier_id, "version": r.version,
                "start_at": clock.rfc3339(r.start_at), "end_at": clock.rfc3339(r.end_at),
                "distance_m": round(r.distance_m, 1),
                "stops": [{"id": s.id, "seq": s.seq, "eta": clock.rfc3339(s.eta), "pinned": s.pinned,
                           "visit": s.visit_key} for u in orders.get(r.id, []) for s in u],
            }
            for r in changed
        ],
    }  # fmt: skip
