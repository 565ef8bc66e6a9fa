"""The dispatcher's "during the day" view: each courier's last position and today's stop progress."""

import uuid
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal, check_office
from backend.lib.problems import Problem
from backend.planning import clock
from backend.planning.services import latest_position, post_office
from schemas.accounts import StaffUser
from schemas.base import utcnow
from schemas.enums import Role
from schemas.planning import Plan, PlanRoute, PlanStatus, PlanStop, StopStatus
from schemas.vntime import vn_date, vn_day_start

OPEN_STOPS = {StopStatus.planned, StopStatus.started}


async def couriers_today(session: AsyncSession, principal: Principal, office: str | None) -> dict[str, Any]:
    key = office or (str(principal.org_id) if principal.org_id else None)
    if key is None:
        raise Problem(422, "Cần chọn bưu cục / choose a post office", code="office_required")
    po = await post_office(session, key)
    check_office(principal, po.id)
    now = utcnow()
    today = vn_date(now)
    plan = (
        await session.exec(
            select(Plan)
            .where(
                Plan.post_office_id == po.id, Plan.service_date == today, Plan.status == PlanStatus.published
            )
            .order_by(col(Plan.published_at).desc())
            .limit(1)
        )
    ).first()
    stops_by_courier: dict[uuid.UUID, list[PlanStop]] = {}
    if plan is not None:
        routes = (await session.exec(select(PlanRoute).where(PlanRoute.plan_id == plan.id))).all()
        route_courier = {r.id: r.courier_id for r in routes}
        for s in (
            await session.exec(
                select(PlanStop).where(PlanStop.plan_id == plan.id).order_by(col(PlanStop.seq))
            )
        ).all():
            stops_by_courier.setdefault(route_courier[s.route_id], []).append(s)
    couriers = (
        await session.exec(
            select(StaffUser)
            .where(StaffUser.organisation_id == po.id, StaffUser.role == Role.courier)
            .order_by(col(StaffUser.username))
        )
    ).all()
    out = []
    for c in couriers:
        pos = await latest_position(session, c.id, vn_day_start(today), now)
        stops = stops_by_courier.get(c.id, [])
        late = [s for s in stops if is_late(s, now)]
        out.append(
            {
                "id": str(c.id),
                "username": c.username,
                "name": c.full_name,
                "position": None
                if pos is None
                else {
                    "lat": pos.lat,
                    "lon": pos.lon,
                    "at": clock.rfc3339(pos.at),
                    "accuracy_m": pos.accuracy_m,
                },
                "stops_total": len(stops),
                "stops_done": sum(1 for s in stops if s.status == StopStatus.done),
                "stops_failed": sum(1 for s in stops if s.status == StopStatus.failed),
                "late": [
                    {
                        "id": str(s.id),
                        "seq": s.seq,
                        "kind": s.kind,
                        "eta": clock.rfc3339(s.eta),
                        "window_end": clock.rfc3339(s.window_end),
                    }
                    for s in late
                ],
            }
        )
    return {
        "post_office": po.code,
        "date": today.isoformat(),
        "plan_id": str(plan.id) if plan else None,
        "as_of": clock.rfc3339(now),
        "couriers": out,
    }


def is_late(stop: PlanStop, now: Any) -> bool:
    """Late: still open and either expected after its window closes, or the window has already closed."""
    if stop.status not in OPEN_STOPS or stop.window_end is None:
        return False
    return stop.eta > stop.window_end or now > stop.window_end
