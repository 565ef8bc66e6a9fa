"""A re-plan starts from where the day stands: finished stops leave the problem, started and pinned ones stay
on their courier (committed, in order), couriers start from their last known position."""

import uuid
from dataclasses import replace
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.planning import clock
from backend.planning.problem_builder import CourierInfo, DayInput, Excluded
from schemas.planning import CourierPosition, PlanRoute, PlanStop, StopStatus
from schemas.vntime import vn_day_start

# Per courier, the finished stops of the plan being re-planned (kept at the head of the new route).
History = dict[uuid.UUID, list[PlanStop]]


async def keep_progress(
    session: AsyncSession, day: DayInput, old_id: uuid.UUID, now: datetime
) -> tuple[History, dict[str, PlanStop]]:
    """Bring ``day`` to where plan ``old_id`` stands at ``now``; returns the finished stops per courier and
    the started ones by key."""
    rows = (
        await session.exec(
            select(PlanStop, PlanRoute)
            .join(PlanRoute, col(PlanRoute.id) == col(PlanStop.route_id))
            .where(PlanStop.plan_id == old_id)
            .order_by(col(PlanRoute.seq), col(PlanStop.seq))
        )
    ).all()
    history, started, last_place = _carry_stops(day, list(rows))
    day.couriers = await _couriers_from(session, day, now, last_place)
    return history, started


def _carry_stops(
    day: DayInput, rows: list[tuple[PlanStop, PlanRoute]]
) -> tuple[History, dict[str, PlanStop], dict[uuid.UUID, tuple[float, float]]]:
    history: History = {}
    started: dict[str, PlanStop] = {}
    last_place: dict[uuid.UUID, tuple[float, float]] = {}
    for stop, route in rows:
        cid = route.courier_id
        if stop.status in (StopStatus.done, StopStatus.failed):
            history.setdefault(cid, []).append(stop)
            last_place[cid] = (stop.lat, stop.lon)
            day.stops.pop(stop.key, None)
            partner = stop.pair_key
            if partner and partner in day.stops:
                day.pairs = [p for p in day.pairs if stop.key not in p]
                if stop.status == StopStatus.done:
                    # The courier carries the result now: only they can deliver it.
                    day.stops[partner] = replace(day.stops[partner], pinned_courier=cid, pair_key=None)
                else:
                    day.excluded.append(Excluded(day.stops.pop(partner), "desk_pickup_failed"))
            continue
        if stop.key not in day.stops:
            continue
        day.initial_routes.setdefault(cid, []).append(stop.key)
        # Started stops, and those a dispatcher pinned (issue 20), stay with their courier in their order: the
        # solver gets them as committed (served first, in that order) and the new plan keeps the pin.
        if stop.status == StopStatus.started or stop.pinned:
            day.committed.setdefault(cid, []).append(stop.key)
            day.stops[stop.key] = replace(day.stops[stop.key], pinned_courier=cid)
            started[stop.key] = stop
    return history, started, last_place


async def _couriers_from(
    session: AsyncSession, day: DayInput, now: datetime, last_place: dict[uuid.UUID, tuple[float, float]]
) -> list[CourierInfo]:
    """The couriers still on shift at ``now``, starting then from where they are."""
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
    return couriers


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
