"""The courier's side: my route of the day, position reports, starting / finishing / failing a stop.

A stop action records an appointment event (and for a failed visit, the booking domain's own outcome, which
also offers the citizen a rebooking), then moves the ETAs of the stops still ahead along the route from where
the courier is, with the same travel-time matrix the solver used.
"""

import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit import services as audit
from backend.booking.services import record_outcome
from backend.custody.services import event_time, record_event
from backend.lib.auth import Principal
from backend.lib.problems import Problem as HttpProblem
from backend.lib.problems import not_found
from backend.planning import clock, eta, tracking_link
from backend.planning.problem_builder import matrix_provider
from backend.planning.services import households
from backend.planning.services.appointments import bump_appointment
from backend.planning.stop_view import courier_stop, fields_shown, stop_details
from backend.settings import get_settings
from notifications.outbox import enqueue
from schemas.accounts import StaffUser
from schemas.base import utcnow
from schemas.booking import (
    FAILED_REASONS,
    NO_SHOW_REASONS,
    Appointment,
    AppointmentOutcome,
    AppointmentStatus,
)
from schemas.dossiers import Dossier, EventIn, ResultItem
from schemas.orgs import Organisation
from schemas.planning import (
    CourierPosition,
    LocationReport,
    Plan,
    PlanRoute,
    PlanStatus,
    PlanStop,
    StopAction,
    StopFailure,
    StopKind,
    StopStatus,
)
from schemas.vntime import vn_date

# What one stop of a route showed of its citizen: (citizen, fields, appointment), as ``audit.record`` takes it.
AuditRead = tuple[uuid.UUID | None, Iterable[str], str | None]

# A position older than this is not "where the courier is" any more.
FRESH_POSITION = timedelta(minutes=30)
STOP_FAILURE_REASONS = {**NO_SHOW_REASONS, **FAILED_REASONS, "desk_closed": ("Nơi nhận đóng cửa", "Closed")}


async def my_route(
    session: AsyncSession,
    principal: Principal,
    day: date | None,
    *,
    now: datetime | None = None,
    access: audit.Access | None = None,
    shown: list[AuditRead] | None = None,
) -> dict[str, Any]:
    """The courier's route of the day; what it shows of each stop's citizen (``privacy``) is written to the
    personal-data audit (and appended to ``shown``, which ``backend.planning.route_answer`` records: a 200
    unless the same account, address and purpose already got that very answer while it is stored; a 304 not)."""
    now = now or utcnow()
    day = day or vn_date(now)
    row = (
        await session.exec(
            select(PlanRoute, Plan)
            .join(Plan, col(Plan.id) == col(PlanRoute.plan_id))
            .where(
                PlanRoute.courier_id == principal.id,
                Plan.service_date == day,
                Plan.status == PlanStatus.published,
            )
            .order_by(col(Plan.published_at).desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return {"date": day.isoformat(), "published": False, "plan_id": None, "stops": []}
    route, plan = row
    stops = (
        await session.exec(select(PlanStop).where(PlanStop.route_id == route.id).order_by(col(PlanStop.seq)))
    ).all()
    po = await session.get(Organisation, plan.post_office_id)
    details = await stop_details(session, list(stops))
    citizens = {sid: d.pop("_citizen_id") for sid, d in details.items() if "_citizen_id" in d}
    today = vn_date(now)
    stops_shown = [courier_stop(s, details.get(s.id, {}), day, today) for s in stops]
    reads: list[AuditRead] = [
        (citizens[out["id"]], fields_shown(out), str(out["appointment"]["id"]))
        for out in stops_shown
        if out["id"] in citizens
    ]
    audit.record(session, principal, access, reads)
    if shown is not None:
        shown.extend(reads)
    return {
        "date": day.isoformat(),
        "published": True,
        "plan_id": plan.id,
        "post_office": {"code": po.code, "name": po.name, "lat": po.lat, "lon": po.lon} if po else None,
        "route": {
            "id": route.id,
            "shift": {"start": clock.rfc3339(route.shift_start), "end": clock.rfc3339(route.shift_end)},
            "start_at": clock.rfc3339(route.start_at),
            "end_at": clock.rfc3339(route.end_at),
            "distance_m": round(route.distance_m, 1),
            "breaks": route.breaks,
            "version": route.version,
        },
        # One visit per household (issue 20): the items of a visit shown as one stop listing them.
        "stops": households.one_stop_per_visit(stops_shown, list(stops)),
    }


async def report_location(
    session: AsyncSession, principal: Principal, data: LocationReport, *, now: datetime | None = None
) -> dict[str, Any]:
    now = now or utcnow()
    at = data.at or now
    if at.tzinfo is None:
        raise HttpProblem(422, "Thời điểm cần múi giờ / 'at' needs a UTC offset", code="naive_time")
    if at > now + timedelta(minutes=5) or at < now - timedelta(days=1):
        raise HttpProblem(422, "Thời điểm không hợp lệ / 'at' is out of range", code="bad_time")
    row = CourierPosition(
        courier_id=principal.id,
        lat=data.lat,
        lon=data.lon,
        accuracy_m=data.accuracy,
        speed_ms=data.speed,
        heading=data.heading,
        at=at,
        received_at=now,
    )
    session.add(row)
    await session.commit()
    return {"id": row.id, "at": clock.rfc3339(at), "received_at": clock.rfc3339(now)}


async def _my_stop(
    session: AsyncSession, principal: Principal, stop_id: uuid.UUID
) -> tuple[PlanStop, PlanRoute, Plan]:
    row = (
        await session.exec(
            select(PlanStop, PlanRoute, Plan)
            .join(PlanRoute, col(PlanRoute.id) == col(PlanStop.route_id))
            .join(Plan, col(Plan.id) == col(PlanStop.plan_id))
            .where(PlanStop.id == stop_id)
        )
    ).first()
    if row is None or row[1].courier_id != principal.id or row[2].status != PlanStatus.published:
        raise not_found("điểm dừng / stop", stop_id)
    return row


async def stop_action(
    session: AsyncSession,
    principal: Principal,
    stop_id: uuid.UUID,
    action: str,
    data: StopAction,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """``action`` is start, complete or fail (``data`` is then a ``StopFailure``)."""
    now = now or utcnow()
    stop, route, plan = await _my_stop(session, principal, stop_id)
    # The same bounds as a custody event's device time (a UTC offset, not older than CLIENT_MAX_AGE, not later
    # than CLIENT_SKEW ahead), else 422: an `at` years back would otherwise carry a delivery attempt or a
    # failed visit past custody's own limit, since custody is then asked with that `at` as its "now".
    at = min(event_time(data.at, now), now)
    allowed = {"start": (StopStatus.planned,), "complete": (StopStatus.planned, StopStatus.started),
               "fail": (StopStatus.planned, StopStatus.started)}[action]  # fmt: skip
    if stop.status not in allowed:
        raise HttpProblem(
            409,
            f"Điểm dừng đang ở trạng thái {stop.status} / The stop is {stop.status}",
            code="stop_state",
        )
    appt = await session.get(Appointment, stop.appointment_id) if stop.appointment_id else None
    if data.lat is not None and data.lon is not None:
        session.add(
            CourierPosition(courier_id=principal.id, lat=data.lat, lon=data.lon, at=at, received_at=now)
        )
    _move(stop, action, at, data.note)
    session.add(stop)
    # One visit per household (issue 20): setting off to one item of a visit sets off to the whole visit.
    together = await _visit_items(session, stop) if action == "start" else []
    for item in together:
        _move(item, action, at, None)
        session.add(item)
    # ETAs of what is still ahead, from where the courier is now.
    origin = (data.lat, data.lon) if data.lat is not None and data.lon is not None else None
    if origin is None and action != "start":
        origin = (stop.lat, stop.lon)
    await refresh_etas(session, route, plan, at, origin)
    if action == "fail":
        assert isinstance(data, StopFailure)
        custody_status = await _failed_visit(session, principal, stop, appt, data, at)
        return await _action_out(session, stop, route, custody_status)
    booked = appt if appt is not None and appt.status == AppointmentStatus.booked else None
    if action == "start":
        visits = _booked([(stop, appt), *await _appts(session, together)])
        await _on_the_way(session, principal, plan, visits, at)
    elif booked is not None:
        # A home pickup's record (document ticks, seal, fees) is custody's own request (POST /dossiers); a
        # result delivery completed with its recipient check is recorded below. Here the visit is marked done
        # so the booking shows it and a re-plan leaves it out.
        await bump_appointment(
            session, booked, "completed", principal, at=at, status=AppointmentStatus.completed,
            data={"stop_id": str(stop.id), "plan_id": str(plan.id)},
        )  # fmt: skip
    custody_status = None
    if action == "complete":
        custody_status = await custody_event(session, principal, stop, action, data, at)
    await session.commit()
    return await _action_out(session, stop, route, custody_status)


def _move(stop: PlanStop, action: str, at: datetime, note: str | None) -> None:
    if action == "start":
        stop.status, stop.started_at = StopStatus.started, at
    else:
        stop.status = StopStatus.done if action == "complete" else StopStatus.failed
        stop.finished_at = at
        stop.started_at = stop.started_at or at
    if note:
        stop.note = note


async def _failed_visit(
    session: AsyncSession,
    principal: Principal,
    stop: PlanStop,
    appt: Appointment | None,
    data: StopFailure,
    at: datetime,
) -> str | None:
    """A failed visit: custody's attempt for a delivery, booking's outcome for the appointment; commits.
    Returns the new custody status, if custody recorded one."""
    if data.reason_code not in STOP_FAILURE_REASONS:
        raise HttpProblem(
            422,
            f"Mã lý do không hợp lệ / Unknown reason code '{data.reason_code}'",
            code="unknown_reason_code",
            extra={"allowed": sorted(STOP_FAILURE_REASONS)},
        )
    stop.outcome_code = data.reason_code
    custody_status = await custody_event(session, principal, stop, "fail", data, at)
    if appt is None or appt.status != AppointmentStatus.booked:
        await session.commit()
        return custody_status
    outcome = AppointmentStatus.no_show if data.reason_code in NO_SHOW_REASONS else AppointmentStatus.failed
    # Booking's own outcome: validates the code, writes the event, withdraws reminders, offers a rebooking to
    # the citizen; it commits this session (our stop update with it).
    await record_outcome(
        session, principal, appt.id, outcome,
        # When custody recorded the failed attempt it already told the citizen and offered a rebooking.
        AppointmentOutcome(reason_code=data.reason_code, note=data.note, offer_rebook=custody_status is None),
        now=at,
    )  # fmt: skip
    return custody_status


async def _visit_items(session: AsyncSession, stop: PlanStop) -> list[PlanStop]:
    """The other items of the stop's household visit still planned (none for a stop of one item)."""
    if stop.visit_key is None:
        return []
    rows = await session.exec(
        select(PlanStop)
        .where(
            PlanStop.route_id == stop.route_id,
            PlanStop.visit_key == stop.visit_key,
            PlanStop.id != stop.id,
            PlanStop.status == StopStatus.planned,
        )
        .order_by(col(PlanStop.seq))
    )
    return list(rows.all())


async def _appts(session: AsyncSession, stops: list[PlanStop]) -> list[tuple[PlanStop, Appointment | None]]:
    return [
        (s, await session.get(Appointment, s.appointment_id) if s.appointment_id else None) for s in stops
    ]


def _booked(pairs: list[tuple[PlanStop, Appointment | None]]) -> list[tuple[PlanStop, Appointment]]:
    return [(s, a) for s, a in pairs if a is not None and a.status == AppointmentStatus.booked]


async def _on_the_way(
    session: AsyncSession,
    principal: Principal,
    plan: Plan,
    visits: list[tuple[PlanStop, Appointment]],
    at: datetime,
) -> None:
    """The courier set off to a booked visit: each appointment's event, and the citizen is told once, with the
    visit's live tracking link (issued here for the first item, its row recording who and when; each event names
    the link's id). A household visit's items (``visits`` beyond the first) share the one message and link."""
    if not visits:
        return
    stop, appt = visits[0]
    link, url = await tracking_link.issue(session, get_settings(), principal, appt, stop, at)
    for item, booked in visits:
        await bump_appointment(
            session, booked, "en_route", principal, at=at,
            data={"stop_id": str(item.id), "eta": clock.rfc3339(item.eta), "plan_id": str(plan.id),
                  "tracking_link": link.id},
        )  # fmt: skip
    courier = await session.get(StaffUser, principal.id)
    enqueue(
        session,
        recipient_kind="citizen",
        recipient_id=appt.citizen_id,
        template="courier.on_the_way",
        params={
            "courier_name": courier.full_name if courier else "",
            "eta": stop.eta,
            "appointment_id": appt.id,
            "track_url": url,
        },
        dedupe_key=f"appt:{appt.id}:on_the_way:{stop.id}",
    )


# Why a delivery visit failed, in custody's words for an unsuccessful delivery attempt (EMH).
CUSTODY_REASONS = {
    "citizen_absent": "not_home",
    "unreachable": "not_home",
    "wrong_address": "wrong_address",
    "citizen_refused": "refused",
    "identity_mismatch": "no_identity",
    "address_inaccessible": "unsafe",
    "courier_unable": "unsafe",
}


async def custody_event(
    session: AsyncSession, principal: Principal, stop: PlanStop, action: str, data: StopAction, at: datetime
) -> str | None:
    """A result delivery stop is also the result's custody step, in the same transaction: a failed visit is an
    unsuccessful delivery attempt (EMH, with the reason), a completed one with a recipient check is the final
    delivery (EMI). Only when this courier holds the result and it is out for delivery; returns the new
    custody status, or None when nothing was recorded (e.g. the app records the delivery itself)."""
    if stop.kind != StopKind.delivery or stop.result_item_id is None or stop.dossier_id is None:
        return None
    dossier = await session.get(Dossier, stop.dossier_id)
    result = await session.get(ResultItem, stop.result_item_id)
    if dossier is None or result is None or dossier.status != "out_for_delivery":
        return None
    if dossier.custodian_user_id != principal.id:
        return None
    where = {"lat": data.lat, "lon": data.lon, "client_at": data.at}
    if action == "fail":
        assert isinstance(data, StopFailure)
        ev = EventIn(
            code="EMH", reason_code=CUSTODY_REASONS.get(data.reason_code, "other"), reason=data.note, **where
        )
    elif action == "complete" and data.recipient is not None:
        ev = EventIn(code="EMI", recipient=data.recipient, proof_id=data.proof_id, **where)
    else:
        return None
    updated, _, _ = await record_event(session, principal, result.item_id, ev, now=at, commit=False)
    return str(updated.status)


async def _action_out(
    session: AsyncSession, stop: PlanStop, route: PlanRoute, custody_status: str | None = None
) -> dict[str, Any]:
    rest = (
        await session.exec(
            select(PlanStop)
            .where(
                PlanStop.route_id == route.id,
                col(PlanStop.status).in_([StopStatus.planned, StopStatus.started]),
            )
            .order_by(col(PlanStop.seq))
        )
    ).all()
    return {
        "stop": {"id": stop.id, "status": stop.status, "outcome_code": stop.outcome_code,
                 "started_at": clock.rfc3339(stop.started_at), "finished_at": clock.rfc3339(stop.finished_at)},
        "remaining": [{"id": s.id, "seq": s.seq, "eta": clock.rfc3339(s.eta)} for s in rest],
        "custody_status": custody_status,
    }  # fmt: skip


async def refresh_etas(
    session: AsyncSession, route: PlanRoute, plan: Plan, at: datetime, origin: tuple[float, float] | None
) -> None:
    """Move ETAs of the route's open stops: leave ``origin`` (else the courier's fresh position, else the last
    finished stop, else the route's start) at ``at``."""
    stops = (
        await session.exec(select(PlanStop).where(PlanStop.route_id == route.id).order_by(col(PlanStop.seq)))
    ).all()
    ahead = [s for s in stops if s.status in (StopStatus.planned, StopStatus.started)]
    if not ahead:
        return
    if origin is None:
        pos = (
            await session.exec(
                select(CourierPosition)
                .where(
                    CourierPosition.courier_id == route.courier_id,
                    col(CourierPosition.at) >= at - FRESH_POSITION,
                )
                .order_by(col(CourierPosition.at).desc())
                .limit(1)
            )
        ).first()
        done = [s for s in stops if s.status in (StopStatus.done, StopStatus.failed)]
        if pos is not None:
            origin = (pos.lat, pos.lon)
        elif done:
            origin = (done[-1].lat, done[-1].lon)
        else:
            origin = (route.start_lat, route.start_lon)
    depart = max(at, route.shift_start)
    legs = [eta.Leg(s.lat, s.lon, s.window_start, s.service_s) for s in ahead]
    timings = eta.recompute(matrix_provider(), route.profile, origin, depart, legs)
    for s, t in zip(ahead, timings, strict=True):
        s.eta, s.service_start, s.departure = t.arrival, t.service_start, t.departure
        session.add(s)
