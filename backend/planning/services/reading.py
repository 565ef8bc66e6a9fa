"""Reading plans: an office's list, one plan in full (routes, stops, what was left out and why)."""

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal, check_office
from backend.planning import clock
from backend.planning.services.access import post_office, visible_plan
from schemas.accounts import StaffUser
from schemas.dossiers import Dossier, ResultItem
from schemas.orgs import Organisation
from schemas.planning import Plan, PlanRoute, PlanStop, PlanUnassigned

ROUTE_COLOURS = (
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324",
    "#469990", "#800000", "#808000", "#000075", "#bfef45", "#fabed4",
)  # fmt: skip


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
    names = _Names(dossiers, results, await _org_codes(session, org_ids))
    by_route: dict[uuid.UUID, list[PlanStop]] = {}
    for s in stops:
        by_route.setdefault(s.route_id, []).append(s)
    out["routes"] = [_route_out(r, couriers.get(r.courier_id), by_route.get(r.id, []), names) for r in routes]
    out["unassigned"] = [_unassigned_out(u, names) for u in unassigned]
    return out


@dataclass
class _Names:
    """What a plan's stops show instead of ids: item numbers of dossiers and results, codes of places."""

    dossiers: dict[uuid.UUID, str]
    results: dict[uuid.UUID, str]
    orgs: dict[uuid.UUID, Organisation]


def _route_out(
    r: PlanRoute, courier: StaffUser | None, stops: list[PlanStop], names: _Names
) -> dict[str, Any]:
    return {
        "id": r.id,
        "courier": {
            "id": r.courier_id,
            "username": courier.username if courier else None,
            "name": courier.full_name if courier else None,
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
        "stops": [stop_out(s, names.dossiers, names.results, names.orgs) for s in stops],
        "version": r.version,
    }


def _unassigned_out(u: PlanUnassigned, names: _Names) -> dict[str, Any]:
    return {
        "key": u.key,
        "kind": u.kind,
        "appointment_id": u.appointment_id,
        "dossier": names.dossiers.get(u.dossier_id) if u.dossier_id else None,
        "result_item": names.results.get(u.result_item_id) if u.result_item_id else None,
        "handover_id": u.handover_id,
        "place": names.orgs[u.org_id].code if u.org_id and u.org_id in names.orgs else None,
        "lat": u.lat,
        "lon": u.lon,
        "window": window_of(u.window_start, u.window_end),
        "reason": u.reason,
        "detail": u.detail,
    }


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
        "pinned": s.pinned,
        "visit": s.visit_key,
    }


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
