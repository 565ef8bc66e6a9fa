"""Booking rules and transactions: slots, book, reschedule, cancel, no-show / failed visit.

Every change writes the appointment, its ``AppointmentEvent`` and its notifications in ONE transaction.
A refusal raises a ``Problem`` and the request's transaction is rolled back with it (the web layer rolls
back every answer that is not 2xx; direct callers roll back themselves), so a refused request leaves
nothing stored, the booking's idempotency claim included. Concurrency rests on two conditional UPDATEs:
the window ledger (``capacity.reserve``; on PostgreSQL the same upsert inside ``hoso_book``, see
``pgbook.py``) and the appointment's ``version`` (first writer wins, the other gets 409).
"""

import hashlib
import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, delete, text, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.phones import normalise_phone
from backend.audit import services as audit
from backend.booking import capacity, ledger_cache, pgbatch, pgbook, places
from backend.booking.geocoding import Geocoder, GeoPoint, NoGeocoder
from backend.booking.windows import (
    BookingRules,
    Window,
    WindowError,
    bookable_windows,
    check_window,
    cutoff_passed,
    last_bookable_day,
    remaining,
    windows_between,
)
from backend.catalogue import tariffs
from backend.catalogue.calendar import WorkingCalendar
from backend.catalogue.calendar_service import generation as calendar_generation
from backend.catalogue.calendar_service import working_calendar
from backend.catalogue.services import organisation_by_key
from backend.db import db_key, detached
from backend.lib import pgnotify
from backend.lib.auth import Principal, check_office
from backend.lib.paging import Paging, fetch_page
from backend.lib.problems import Problem, forbidden, not_found
from backend.lib.ttlcache import TtlCache
from backend.planning import privacy
from notifications import outbox
from notifications.outbox import enqueue
from schemas import s10
from schemas.accounts import Citizen
from schemas.base import new_id, row_values, utcnow
from schemas.booking import (
    FAILED_REASONS,
    NO_SHOW_REASONS,
    Appointment,
    AppointmentCancel,
    AppointmentCreate,
    AppointmentEvent,
    AppointmentEventPublic,
    AppointmentKind,
    AppointmentOutcome,
    AppointmentPublic,
    AppointmentReschedule,
    AppointmentStatus,
    BookingChannel,
    BookingSettings,
    BookingSettingsIn,
    IdempotencyRecord,
)
from schemas.catalogue import Procedure
from schemas.dossiers import Dossier
from schemas.enums import OrgKind, Role
from schemas.notifications import Notification, NotificationStatus
from schemas.orgs import Organisation
from schemas.planning import Plan, PlanRoute, PlanStatus, PlanStop
from schemas.units import Commune
from schemas.vntime import at_vn, to_vn, vn_date, vn_day_start

log = logging.getLogger("backend.booking")

STAFF_CHANNEL = {
    Role.desk: BookingChannel.desk,
    Role.dispatcher: BookingChannel.phone,
    Role.courier: BookingChannel.app,
    Role.admin: BookingChannel.desk,
    Role.citizen: BookingChannel.app,
}
# Reminders go out the evening before and an hour before (times in Vietnam time).
DAY_BEFORE_AT = time(18, 0)
HOUR_BEFORE = timedelta(hours=1)


# --- shared look-ups -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Office:
    org: Organisation
    rules: BookingRules


def rules_from(row: BookingSettings | None) -> BookingRules:
    if row is None:
        return BookingRules()
    return BookingRules(
        window_minutes=row.window_minutes,
        min_notice_minutes=row.min_notice_minutes,
        horizon_days=row.horizon_days,
        cutoff_minutes=row.cutoff_minutes,
        travel_minutes=row.travel_minutes,
        service_minutes={
            **BookingRules().service_minutes,
            **{k: int(v) for k, v in row.service_minutes.items()},
        },
    )


async def office(session: AsyncSession, post_office_id: uuid.UUID) -> Office:
    org = await session.get(Organisation, post_office_id)
    if org is None:
        raise not_found("bưu cục / post office", post_office_id)
    return Office(org, rules_from(await session.get(BookingSettings, post_office_id)))


# Reference data read through a short cache (CACHE_TTL_S): the office and its booking settings, the working
# calendar, procedures, and for listings the windows the couriers' shifts make. They change a few times a year
# and ``GET /slots`` / ``POST /appointments`` are the hottest paths; an edit shows within the TTL in every
# process (``invalidate_caches`` for at once in this one; on PostgreSQL every process drops them at once, see
# migration 0002). What is booked is cached for listings only, and dropped at every change (``ledger_cache``);
# the shifts a booking writes into the ledger are current (``capacity.roster``).
CACHE_TTL_S = 10.0
_offices: TtlCache[tuple[str, uuid.UUID], Office] = TtlCache(CACHE_TTL_S)
_frames: TtlCache[tuple[str, uuid.UUID, date, date, int], list["FrameWindow"]] = TtlCache(CACHE_TTL_S)
_procedures: TtlCache[tuple[str, str], Procedure] = TtlCache(CACHE_TTL_S)
_calendars: TtlCache[tuple[str, int], WorkingCalendar] = TtlCache(CACHE_TTL_S)


def invalidate_caches() -> None:
    """Forget cached offices, shifts, windows, procedures and the served area (after editing them outside
    the API)."""
    for cache in (_offices, _frames, _procedures, _calendars):
        cache.clear()
    places.invalidate()
    capacity.forget_rosters()
    ledger_cache.CACHE.clear()


def _reference_changed(table: str) -> None:
    if table != "plan":  # plans have caches of their own (backend.planning.capacity)
        invalidate_caches()


def _listener_reset(_db: str) -> None:
    invalidate_caches()


def install() -> None:
    """Another process changed reference data (PostgreSQL triggers, migration 0002): drop it here at once.
    Called once by ``backend.app.create_app``; calling it again changes nothing."""
    pgnotify.subscribe(pgnotify.REFERENCE, _reference_changed)
    pgnotify.on_reset(_listener_reset)


async def cached_office(session: AsyncSession, post_office_id: uuid.UUID) -> Office:
    async def load() -> Office:
        loaded = await office(session, post_office_id)
        return Office(detached(loaded.org), loaded.rules)

    return await _offices.get_or_load((db_key(session), post_office_id), load)


# --- settings --------------------------------------------------------------------------------------------


async def settings_office(session: AsyncSession, principal: Principal, key: str) -> Organisation:
    """The post office by id or code, if the caller may manage its booking rules (admin, its dispatchers)."""
    org = await organisation_by_key(session, key)
    if org is None or org.kind != OrgKind.post_office:
        raise not_found("bưu cục / post office", key)
    check_office(principal, org.id)
    return org


def settings_out(org: Organisation, rules: BookingRules, updated_at: datetime | None) -> dict[str, Any]:
    return {
        "post_office": org.code,
        "window_minutes": rules.window_minutes,
        "min_notice_minutes": rules.min_notice_minutes,
        "horizon_days": rules.horizon_days,
        "cutoff_minutes": rules.cutoff_minutes,
        "travel_minutes": rules.travel_minutes,
        "service_minutes": dict(rules.service_minutes),
        "updated_at": updated_at,
        "defaults": updated_at is None,
    }


async def get_settings_of(session: AsyncSession, principal: Principal, key: str) -> dict[str, Any]:
    org = await settings_office(session, principal, key)
    row = await session.get(BookingSettings, org.id)
    return settings_out(org, rules_from(row), row.updated_at if row else None)


async def put_settings(
    session: AsyncSession, principal: Principal, key: str, data: BookingSettingsIn
) -> dict[str, Any]:
    """Replace the office's booking rules. Existing appointments keep their windows; new listings use the
    new rules at once in this process and within ``CACHE_TTL_S`` in the others."""
    org = await settings_office(session, principal, key)
    row = await session.merge(
        BookingSettings(
            post_office_id=org.id,
            window_minutes=data.window_minutes,
            min_notice_minutes=data.min_notice_minutes,
            horizon_days=data.horizon_days,
            cutoff_minutes=data.cutoff_minutes,
            travel_minutes=data.travel_minutes,
            service_minutes=data.service_minutes.model_dump(),
            updated_at=utcnow(),
        )
    )
    await session.commit()
    invalidate_caches()
    log.info("booking settings of %s set by %s: %s", org.code, principal.id, data.model_dump())
    return settings_out(org, rules_from(row), row.updated_at)


def _problem(err: WindowError) -> Problem:
    return Problem(422, str(err), code=err.code, extra=err.extra or None)


def _kind(raw: str | AppointmentKind) -> AppointmentKind:
    try:
        return AppointmentKind(str(raw))
    except ValueError:
        raise Problem(
            422,
            f"Loại hẹn không hợp lệ: {raw} / Unknown kind (pickup, delivery, assisted)",
            code="invalid_kind",
        ) from None


async def postal_procedure(session: AsyncSession, code: str) -> Procedure:
    """A procedure that may be picked up by the post (Decision 45/2016/QĐ-TTg lists which may)."""
    proc = (await session.exec(select(Procedure).where(Procedure.code == code))).one_or_none()
    if proc is None:
        raise Problem(
            422, f"Không có thủ tục '{code}' / Unknown procedure '{code}'", code="unknown_procedure"
        )
    if not proc.postal_pickup:
        raise Problem(
            422,
            f"Thủ tục '{code}' không nhận hồ sơ qua bưu chính / Procedure '{code}' is not filed by post",
            code="procedure_not_postal",
        )
    return proc


async def cached_calendar(session: AsyncSession) -> WorkingCalendar:
    return await _calendars.get_or_load(
        (db_key(session), calendar_generation()), lambda: working_calendar(session)
    )


async def cached_postal_procedure(session: AsyncSession, code: str) -> Procedure:
    """``postal_procedure`` through the listing cache (read-only use: fees and the documents checklist)."""

    async def load() -> Procedure:
        return detached(await postal_procedure(session, code))

    return await _procedures.get_or_load((db_key(session), code), load)


@dataclass(frozen=True)
class FrameWindow:
    """A listed window, its courier-minutes and its bounds as shown (ISO 8601, Vietnam time)."""

    window: Window
    capacity: int
    start_vn: str
    end_vn: str

    @classmethod
    def of(cls, window: Window, capacity: int) -> "FrameWindow":
        return cls(
            window,
            capacity,
            to_vn(window.start).isoformat(),
            to_vn(window.end).isoformat(),
        )


async def window_frame(session: AsyncSession, off: Office, first: date, last: date) -> list[FrameWindow]:
    """The office's windows on working days in [first, last] with the courier-minutes each offers, through the
    listing cache: they depend only on the calendar, opening hours, rules and shifts. The caller still drops
    the windows whose notice has passed; the booked minutes come from ``ledger_cache``."""

    async def load() -> list[FrameWindow]:
        cal = await cached_calendar(session)
        shifts = await capacity.roster(session, off.org.id, exact=False)
        windows = windows_between(cal, off.org.opening_hours, off.rules, first, last)
        return [FrameWindow.of(w, shifts.minutes(w)) for w in windows]

    return await _frames.get_or_load((db_key(session), off.org.id, first, last, calendar_generation()), load)


class _Geocoded:
    """A geocoder's answer for one address, asked before the request's transaction opened; other addresses go
    to the geocoder itself."""

    def __init__(self, geocoder: Geocoder, address: str, point: GeoPoint | None) -> None:
        self.geocoder, self.address, self.point = geocoder, address, point

    async def geocode(self, address: str) -> GeoPoint | None:
        if address == self.address:
            return self.point
        return await self.geocoder.geocode(address)


async def geocode_first(
    geocoder: Geocoder | None, lat: float | None, lon: float | None, address: str | None
) -> Geocoder:
    """Ask the geocoder for a typed address now, before any database access: on SQLite every transaction
    holds the write lock (``BEGIN IMMEDIATE``), and a network call inside one stopped every other writer for as
    long as the geocoder took (issue 17). ``resolve_point`` then gets the answer from memory."""
    geocoder = geocoder or NoGeocoder()
    if lat is None and lon is None and address and address.strip():
        return _Geocoded(geocoder, address.strip(), await geocoder.geocode(address.strip()))
    return geocoder


async def resolve_point(
    session: AsyncSession,
    area: places.ServedArea,
    geocoder: Geocoder,
    lat: float | None,
    lon: float | None,
    address: str | None,
) -> tuple[float, float, str]:
    """Coordinates from the app, else the typed address through the geocoder, else its commune's centroid."""
    if lat is not None and lon is not None:
        places.check_coordinates(lat, lon)
        return lat, lon, "coordinates"
    if lat is not None or lon is not None:
        raise Problem(
            422, "Cần cả vĩ độ và kinh độ / Both lat and lon are needed", code="invalid_coordinates"
        )
    if not address or not address.strip():
        raise Problem(422, "Cần tọa độ hoặc địa chỉ / Coordinates or an address are needed", code="no_place")
    point = await geocoder.geocode(address.strip())
    if point is not None:
        return point.lat, point.lon, "geocoder"
    i = places.commune_in_text(area, address)
    if i is None:
        raise Problem(
            422,
            "Không xác định được vị trí từ địa chỉ; hãy chọn trên bản đồ / "
            "Could not place the address; pick the place on the map",
            code="address_not_found",
        )
    return float(area.lat[i]), float(area.lon[i]), "commune_centroid"


def fees_for(kind: AppointmentKind, distance: float, proc: Procedure | None) -> dict[str, Any]:
    """Postal charge by kind and distance zone, plus the procedure's fee (phí) and charge (lệ phí), collected
    at pickup. A delivery collects only the postal charge: fees were paid when the dossier was filed."""
    q = tariffs.quote(kind.value, distance)
    fee = proc.fee if proc is not None and kind != AppointmentKind.delivery else 0
    charge = proc.charge if proc is not None and kind != AppointmentKind.delivery else 0
    return {
        "postal": q.amount_vnd,
        "fee": fee,
        "charge": charge,
        "total": q.amount_vnd + fee + charge,
        "currency": "VND",
        "zone": q.zone,
        "distance_km": round(distance, 2),
        "label_vi": q.label_vi,
        "label_en": q.label_en,
    }


# --- slots ---------------------------------------------------------------------------------------------


async def list_slots(
    session: AsyncSession,
    *,
    kind: str,
    lat: float | None,
    lon: float | None,
    address: str | None,
    first: date | None,
    last: date | None,
    procedure_code: str | None,
    geocoder: Geocoder | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    now = now or utcnow()
    k = _kind(kind)
    geocoder = await geocode_first(geocoder, lat, lon, address)  # before the first read opens a transaction
    proc = await cached_postal_procedure(session, procedure_code) if procedure_code else None
    area = await places.served_area(session)
    lat_, lon_, source = await resolve_point(session, area, geocoder or NoGeocoder(), lat, lon, address)
    place = places.served_place(area, lat_, lon_)
    assert place.post_office_id is not None
    off = await cached_office(session, place.post_office_id)
    today = vn_date(now)
    first = first or today
    last = last or today + timedelta(days=off.rules.horizon_days)
    if last < first:
        raise Problem(422, "'to' phải sau 'from' / 'to' must not be before 'from'", code="invalid_range")
    policy = capacity.get_policy()
    # The same clamping as bookable_windows, so the cached frame is keyed by the days actually listed.
    first, last = max(first, today), min(last, last_bookable_day(off.rules, now))
    earliest = now + timedelta(minutes=off.rules.min_notice_minutes)
    if isinstance(policy, capacity.CourierShiftPolicy):
        frame = [f for f in await window_frame(session, off, first, last) if f.window.start >= earliest]
    else:
        cal = await cached_calendar(session)
        windows = bookable_windows(cal, off.org.opening_hours, off.rules, now, first, last)
        caps = await policy.capacity(session, off.org.id, windows)
        frame = [FrameWindow.of(w, caps.get(w.start, 0)) for w in windows]
    booked = await ledger_cache.CACHE.booked(session, off.org.id, [f.window.start for f in frame])
    cost = off.rules.cost(k.value)
    left = [remaining(f.capacity, booked.get(f.window.start, 0), cost) for f in frame]
    narrow = getattr(policy, "admitted_windows", None)
    if narrow is not None:
        # Route-aware capacity: on a day that already has a plan, offer only windows the plan can absorb.
        open_windows = [(f.window.start, f.window.end) for f, n in zip(frame, left, strict=True) if n > 0]
        admitted = await narrow(session, off.org.id, open_windows, lat_, lon_, cost * 60)
        left = [n if n > 0 and f.window.start in admitted else 0 for f, n in zip(frame, left, strict=True)]
    # Plain dicts with the times already in Vietnam time: two weeks of windows is the hottest answer we give.
    kind_value, code = k.value, off.org.code  # read once: both are descriptors (enum, ORM attribute)
    items = [
        {"start": f.start_vn, "end": f.end_vn, "kind": kind_value, "remaining": n, "post_office": code}
        for f, n in zip(frame, left, strict=True)
    ]
    distance = places.distance_km(off.org.lat, off.org.lon, lat_, lon_)
    return {
        "items": items,
        "total": len(items),
        "limit": len(items),
        "offset": 0,
        "post_office": {"code": off.org.code, "name": off.org.name, "lat": off.org.lat, "lon": off.org.lon},
        "commune": {"code": place.commune_code, "name": place.commune_name},
        "place": {"lat": lat_, "lon": lon_, "source": source},
        "fees": fees_for(k, distance, proc),
        "documents": proc.documents if proc is not None else None,
    }


# --- visibility ----------------------------------------------------------------------------------------


async def _scope(session: AsyncSession, principal: Principal) -> Any:
    """A WHERE clause limiting appointments to what the caller may see.

    Citizens: their own. Dispatchers: their post office's; couriers: the visits on their published routes.
    Desk clerks: every appointment in their desk's province (a pickup's dossier may go to any desk of the
    province; the desk plans staffing on the province's flow). Admins: all. Agencies see none (Decree
    13/2023/NĐ-CP: no purpose)."""
    if principal.role == Role.citizen:
        return col(Appointment.citizen_id) == principal.id
    if principal.role == Role.dispatcher:
        return col(Appointment.post_office_id) == principal.org_id
    if principal.role == Role.courier:
        # A courier's task is the visits assigned to them: the stops of their routes in published plans, not
        # every appointment of the office (issue 17). Anything else is a 404, no-show and fail included.
        assigned = (
            select(PlanStop.appointment_id)
            .join(PlanRoute, col(PlanRoute.id) == col(PlanStop.route_id))
            .join(Plan, col(Plan.id) == col(PlanStop.plan_id))
            .where(
                PlanRoute.courier_id == principal.id,
                Plan.status == PlanStatus.published,
                col(PlanStop.appointment_id).is_not(None),
            )
        )
        return col(Appointment.id).in_(assigned)
    if principal.role == Role.desk:
        org = await session.get(Organisation, principal.org_id) if principal.org_id else None
        return col(Appointment.province_code) == (org.province_code if org else "")
    if principal.role == Role.admin:
        return col(Appointment.id).is_not(None)
    return col(Appointment.id).is_(None)


async def visible(session: AsyncSession, principal: Principal, appointment_id: uuid.UUID) -> Appointment:
    """The appointment if the caller may see it; otherwise 404, never 403 (no probing of others' ids)."""
    stmt = select(Appointment).where(Appointment.id == appointment_id, await _scope(session, principal))
    appt = (await session.exec(stmt)).one_or_none()
    if appt is None:
        raise not_found("lịch hẹn / appointment", appointment_id)
    return appt


async def to_public(
    session: AsyncSession,
    principal: Principal,
    appts: Sequence[Appointment],
    *,
    with_events: bool = False,
    access: audit.Access | None = None,
) -> list[AppointmentPublic]:
    """Appointments as the caller sees them. Staff get the citizen's phone (a courier only masked, as on the
    route: Decree 13/2023/NĐ-CP, least data), and each staff read of phone, address and location is written to
    the personal-data audit."""
    if not appts:
        return []
    po_ids = {a.post_office_id for a in appts}
    orgs = {
        o.id: o for o in (await session.exec(select(Organisation).where(col(Organisation.id).in_(po_ids))))
    }
    communes = dict(
        (
            await session.exec(
                select(Commune.code, Commune.name).where(
                    col(Commune.code).in_({a.commune_code for a in appts})
                )
            )
        ).all()
    )
    proc_ids = {a.procedure_id for a in appts if a.procedure_id}
    procs = (
        {p.id: p for p in (await session.exec(select(Procedure).where(col(Procedure.id).in_(proc_ids))))}
        if proc_ids
        else {}
    )
    phones: dict[uuid.UUID, str] = {}
    if principal.is_staff:
        phones = dict(
            (
                await session.exec(
                    select(Citizen.id, Citizen.phone).where(
                        col(Citizen.id).in_({a.citizen_id for a in appts})
                    )
                )
            ).all()
        )
        if principal.role == Role.courier:
            phones = {cid: privacy.mask_phone(p) or "" for cid, p in phones.items()}
        phone_field = "phone_masked" if principal.role == Role.courier else "phone"
        audit.record(
            session,
            principal,
            access,
            [
                (
                    a.citizen_id,
                    {"location", *((phone_field,) if a.citizen_id in phones else ()),
                     *(("address",) if a.address else ())},
                    str(a.id),
                )
                for a in appts
            ],
        )  # fmt: skip
    events: dict[uuid.UUID, list[AppointmentEventPublic]] = {}
    if with_events:
        rows = await session.exec(
            select(AppointmentEvent)
            .where(col(AppointmentEvent.appointment_id).in_([a.id for a in appts]))
            .order_by(col(AppointmentEvent.seq))
        )
        for e in rows:
            events.setdefault(e.appointment_id, []).append(
                AppointmentEventPublic.model_validate(e.model_dump())
            )
    return [
        _public(
            a,
            orgs[a.post_office_id],
            communes.get(a.commune_code, a.commune_code),
            procs.get(a.procedure_id) if a.procedure_id else None,
            phones.get(a.citizen_id),
            events.get(a.id, []) if with_events else None,
        )
        for a in appts
    ]


def _public(
    a: Appointment | SimpleNamespace,
    org: Organisation,
    commune_name: str,
    proc: Procedure | None,
    phone: str | None,
    events: list[AppointmentEventPublic] | None,
) -> AppointmentPublic:
    return AppointmentPublic(
        id=a.id,
        kind=a.kind,
        status=a.status,
        start=to_vn(a.start),
        end=to_vn(a.end),
        post_office=org.code,
        post_office_name=org.name,
        commune=commune_name,
        citizen_id=a.citizen_id,
        citizen_phone=phone,
        procedure=proc.code if proc else None,
        procedure_name=proc.name if proc else None,
        documents=proc.documents if proc else None,
        dossier=a.dossier_item_id,
        lat=a.lat,
        lon=a.lon,
        address=a.address,
        note=a.note,
        distance_km=a.distance_km,
        fees=a.fees,
        channel=a.channel,
        rebook_of=a.rebook_of,
        outcome_code=a.outcome_code,
        reason=a.reason,
        version=a.version,
        created_at=a.created_at,
        updated_at=a.updated_at,
        events=events,
    )


async def one_public(
    session: AsyncSession, principal: Principal, appt: Appointment, access: audit.Access | None = None
) -> AppointmentPublic:
    return (await to_public(session, principal, [appt], with_events=True, access=access))[0]


async def list_appointments(
    session: AsyncSession,
    principal: Principal,
    paging: Paging,
    *,
    status: AppointmentStatus | None = None,
    kind: AppointmentKind | None = None,
    first: date | None = None,
    last: date | None = None,
    post_office: str | None = None,
    access: audit.Access | None = None,
) -> tuple[list[AppointmentPublic], int]:
    stmt = select(Appointment).where(await _scope(session, principal))
    if status:
        stmt = stmt.where(Appointment.status == status)
    if kind:
        stmt = stmt.where(Appointment.kind == kind)
    if first:
        stmt = stmt.where(col(Appointment.start) >= vn_day_start(first))
    if last:
        stmt = stmt.where(col(Appointment.start) < vn_day_start(last + timedelta(days=1)))
    if post_office:
        org_id = select(Organisation.id).where(Organisation.code == post_office).scalar_subquery()
        stmt = stmt.where(col(Appointment.post_office_id) == org_id)
    stmt = stmt.order_by(col(Appointment.start), col(Appointment.id))
    items, total = await fetch_page(session, stmt, paging)  # type: ignore[arg-type]
    return await to_public(session, principal, items, access=access), total


# --- events and notifications ----------------------------------------------------------------------------


def _event(
    appt: Appointment,
    seq: int,
    type_: str,
    principal: Principal,
    channel: BookingChannel,
    *,
    reason: str | None = None,
    reason_code: str | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AppointmentEvent:
    return AppointmentEvent(
        appointment_id=appt.id,
        seq=seq,
        type=type_,
        at=at or utcnow(),
        actor_role=principal.role.value,
        actor_id=principal.id,
        channel=channel,
        reason=reason,
        reason_code=reason_code,
        data=data or {},
    )


def _key(appt_id: uuid.UUID, version: int, what: str) -> str:
    return f"appt:{appt_id}:v{version}:{what}"


def reminder_rows(
    appt_id: uuid.UUID, citizen_id: uuid.UUID, start: datetime, version: int, now: datetime
) -> list[dict[str, Any]]:
    """Day-before (18:00 the evening before) and hour-before reminders, if still in the future."""
    day_before = at_vn(vn_date(start) - timedelta(days=1), DAY_BEFORE_AT)
    return [
        outbox.notification_row(
            recipient_kind="citizen",
            recipient_id=citizen_id,
            template=template,
            params={"appointment_id": appt_id, "start": start},
            not_before=at,
            dedupe_key=_key(appt_id, version, what),
        )
        for template, at, what in (
            ("appointment.reminder_day_before", day_before, "remind_day"),
            ("appointment.reminder_hour_before", start - HOUR_BEFORE, "remind_hour"),
        )
        if at > now
    ]


async def schedule_reminders(
    session: AsyncSession,
    appt_id: uuid.UUID,
    citizen_id: uuid.UUID,
    start: datetime,
    version: int,
    now: datetime,
) -> None:
    """Write the reminders of ``reminder_rows`` in the caller's transaction."""
    await outbox.insert_rows(session, reminder_rows(appt_id, citizen_id, start, version, now))


async def withdraw_reminders(session: AsyncSession, appt_id: uuid.UUID) -> None:
    """Reminders not yet sent for an appointment that moved or ended are deleted with the change, in the same
    transaction, so the citizen is never reminded of a time that no longer holds. That includes a reminder a
    dispatcher has already claimed (``sending``): the dispatcher sends only rows it still holds, checked right
    before the push (``notifications.dispatcher``), so a deleted one is dropped (issue 17)."""
    await session.execute(
        delete(Notification)
        .where(
            col(Notification.dedupe_key).like(f"appt:{appt_id}:%:remind%"),
            col(Notification.status).in_(
                [NotificationStatus.pending.value, NotificationStatus.sending.value]
            ),
        )
        .execution_options(synchronize_session=False)
    )


# --- booking -------------------------------------------------------------------------------------------


def request_hash(data: AppointmentCreate) -> str:
    body = json.dumps(data.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


async def _replay(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID, stored_hash: str, digest: str
) -> AppointmentPublic:
    """The booking made earlier under the same key, if the request is the same."""
    if stored_hash != digest:
        raise Problem(
            422,
            "Idempotency-Key đã dùng cho một yêu cầu khác / Idempotency-Key was used for a different request",
            code="idempotency_key_reused",
        )
    appt = await session.get(Appointment, appointment_id)
    if appt is None:  # pragma: no cover - the record and the appointment commit together
        raise not_found("lịch hẹn / appointment", appointment_id)
    return await one_public(session, principal, appt)


async def _dossier_for_delivery(session: AsyncSession, citizen_id: uuid.UUID | None, raw: str | None) -> str:
    """The dossier's S10 id, checked: it belongs to the citizen and asked for the result by post
    (Decision 45/2016/QĐ-TTg: return of results by post on the citizen's request)."""
    if not raw:
        raise Problem(
            422, "Cần mã hồ sơ cho lịch trả kết quả / A dossier id is needed", code="dossier_required"
        )
    try:
        item_id = s10.parse(raw).item_id
    except s10.S10Error as exc:
        raise Problem(422, str(exc), code="invalid_item_id") from None
    dossier = (await session.exec(select(Dossier).where(Dossier.item_id == item_id))).one_or_none()
    if dossier is None:
        # Until dossiers are recorded here (custody domain), a well-formed id is accepted; once any exist,
        # an unknown id is refused.
        if (await session.exec(select(func.count()).select_from(Dossier))).one():
            raise not_found("hồ sơ / dossier", item_id)
        return item_id
    if citizen_id is not None and dossier.citizen_id != citizen_id:
        raise not_found("hồ sơ / dossier", item_id)
    if not dossier.postal_return:
        raise Problem(
            422,
            f"Hồ sơ {item_id} không đăng ký nhận kết quả qua bưu chính / "
            f"Dossier {item_id} did not ask for the result by post",
            code="dossier_not_postal_return",
        )
    return item_id


_CLAIM_KEY = text(
    """
    INSERT INTO booking_idempotency (caller_id, key, request_hash, appointment_id, created_at)
    VALUES (:caller, :key, :hash, :appt, :now)
    ON CONFLICT (caller_id, key) DO NOTHING
    RETURNING appointment_id
    """
).bindparams(
    bindparam("caller", type_=IdempotencyRecord.__table__.c.caller_id.type),  # type: ignore[attr-defined]
    bindparam("appt", type_=IdempotencyRecord.__table__.c.appointment_id.type),  # type: ignore[attr-defined]
    bindparam("now", type_=IdempotencyRecord.__table__.c.created_at.type),  # type: ignore[attr-defined]
)
_INSERT_APPOINTMENT = Appointment.__table__.insert()  # type: ignore[attr-defined]
_INSERT_EVENT = AppointmentEvent.__table__.insert()  # type: ignore[attr-defined]


async def _claim_key(
    session: AsyncSession, principal: Principal, key: str, digest: str, appt_id: uuid.UUID, now: datetime
) -> IdempotencyRecord | None:
    """Take ``key`` for this caller, first thing in the transaction; the record of an earlier request that
    holds it, if any. A concurrent request with the same key waits here for the other to settle (the
    primary key), then replays it, or takes the key if the other was refused (rolled back)."""
    params = {"caller": principal.id, "key": key, "hash": digest, "appt": appt_id, "now": now}
    if (await session.execute(_CLAIM_KEY, params)).first() is not None:
        return None
    rec = await session.get(IdempotencyRecord, (principal.id, key))
    if rec is None:  # pragma: no cover - the conflicting row exists until its transaction ends
        raise _changed()
    return rec


@dataclass
class _Draft:
    """A booking that passed every check, with the rows it writes and what its answer shows."""

    window: Window
    capacity: int
    cost: int
    office: Organisation
    commune_name: str
    procedure: Procedure | None
    phone: str | None
    appointment: dict[str, Any]
    event: dict[str, Any]
    notifications: list[dict[str, Any]]
    wrote: bool  # the checks stored something (a new citizen): the booking must join that transaction

    def arguments(self, caller: uuid.UUID, key: str | None, digest: str, now: datetime) -> dict[str, Any]:
        """``hoso_book``'s arguments for this booking (``pgbook.arguments``)."""
        return pgbook.arguments(
            caller=caller,
            key=key,
            request_hash=digest,
            window=self.window,
            capacity=self.capacity,
            cost=self.cost,
            now=now,
            appointment=self.appointment,
            event=self.event,
            notifications=self.notifications,
        )


async def book(
    session: AsyncSession,
    principal: Principal,
    data: AppointmentCreate,
    *,
    idempotency_key: str | None,
    geocoder: Geocoder | None = None,
    now: datetime | None = None,
) -> tuple[AppointmentPublic, bool]:
    """Book a window. Returns the appointment and whether it was created now (False: a replay).

    The hottest write of the product. On PostgreSQL every check runs first (from caches when warm), then one
    call of ``hoso_book`` claims the key, takes the window's minutes and writes the rows
    (``backend/booking/pgbook.py``); a request refused by a check looks for an earlier booking under its key
    before answering, so a retry of a booking that succeeded gets that booking whatever changed since. On
    SQLite the key is claimed first thing in the transaction, then one Core statement per row (no ORM unit
    of work: it cost several milliseconds of CPU per booking). Any refusal raises, and the request's
    transaction is rolled back with it."""
    now = now or utcnow()
    digest = request_hash(data)
    appt_id = new_id()
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
        raise Problem(400, "Idempotency-Key dài 1-200 ký tự / must be 1-200 characters", code="bad_key")
    one_trip = pgbook.supported(session)
    caller_transaction = session.in_transaction()  # the caller's own writes may be in it: never end it here
    geocoder = await geocode_first(geocoder, data.lat, data.lon, data.address)  # before the key's write
    if idempotency_key is not None and not one_trip:
        rec = await _claim_key(session, principal, idempotency_key, digest, appt_id, now)
        if rec is not None:
            return await _replay(session, principal, rec.appointment_id, rec.request_hash, digest), False
    try:
        draft = await _draft(session, principal, data, appt_id, geocoder or NoGeocoder(), now)
    except Problem:
        if one_trip and idempotency_key is not None:
            rec = await session.get(IdempotencyRecord, (principal.id, idempotency_key))
            if rec is not None:
                return await _replay(session, principal, rec.appointment_id, rec.request_hash, digest), False
        raise
    if one_trip:
        args = draft.arguments(principal.id, idempotency_key, digest, now)
        if session.in_transaction() and not draft.wrote and not caller_transaction:
            await session.commit()  # only the checks' reads (a cache was cold): the write needs none of them
        if session.in_transaction() or not isinstance(session.bind, AsyncEngine):
            written = await pgbook.write(session, args)  # with the citizen the checks created
        else:
            written = await pgbatch.batcher(session.bind).write(args)
        if written is None:
            raise _full(draft.window)
        if not written.created:
            return await _replay(
                session, principal, written.appointment_id, written.request_hash, digest
            ), False
    else:
        if not await capacity.reserve(session, draft.office.id, draft.window, draft.capacity, draft.cost):
            raise _full(draft.window)
        await session.execute(_INSERT_APPOINTMENT, draft.appointment)
        await session.execute(_INSERT_EVENT, draft.event)
        await outbox.insert_rows(session, draft.notifications)
    await session.commit()
    # Everything the answer shows is at hand: no second round of reads. Its instants are in Vietnam time
    # already, so the controller sends it without walking it (``LocalTimeResponse``).
    shown_now = to_vn(now)
    public = _public(
        SimpleNamespace(**{**draft.appointment, "created_at": shown_now, "updated_at": shown_now}),
        draft.office,
        draft.commune_name,
        draft.procedure,
        draft.phone if principal.is_staff else None,
        [AppointmentEventPublic.model_validate({**draft.event, "at": shown_now})],
    )
    return public, True


async def _draft(
    session: AsyncSession,
    principal: Principal,
    data: AppointmentCreate,
    appt_id: uuid.UUID,
    geocoder: Geocoder,
    now: datetime,
) -> _Draft:
    """Every check of a booking, then its rows. Writes only a new citizen (a staff booking for a phone
    number not seen before), in the request's transaction."""
    # Who the appointment is for, and through which channel.
    phone: str | None = None
    citizen_id: uuid.UUID | None = None
    if principal.role == Role.citizen:
        if data.citizen_phone or data.channel not in (None, BookingChannel.app):
            raise Problem(422, "Chỉ nhân viên đặt hộ / Only staff book for others", code="not_allowed")
        citizen_id, channel = principal.id, BookingChannel.app
    else:
        if not data.citizen_phone:
            raise Problem(
                422, "Cần số điện thoại người dân / citizen_phone is required", code="citizen_required"
            )
        phone = normalise_phone(data.citizen_phone)
        existing = (await session.exec(select(Citizen.id).where(Citizen.phone == phone))).one_or_none()
        citizen_id = existing
        if data.channel in (BookingChannel.app, BookingChannel.system):
            raise Problem(422, "Kênh không hợp lệ / channel must be desk or phone", code="invalid_channel")
        channel = data.channel or STAFF_CHANNEL[principal.role]

    kind = data.kind
    procedure_code, dossier_raw = data.procedure, data.dossier
    lat, lon, address = data.lat, data.lon, data.address
    if data.rebook_of is not None:
        orig = await session.get(Appointment, data.rebook_of)
        if orig is None or citizen_id is None or orig.citizen_id != citizen_id:
            raise not_found("lịch hẹn / appointment", data.rebook_of)
        if orig.status not in (
            AppointmentStatus.no_show,
            AppointmentStatus.failed,
            AppointmentStatus.cancelled,
        ):
            raise Problem(
                422, "Lịch hẹn gốc vẫn còn hiệu lực / The original is still booked", code="not_rebookable"
            )
        if orig.procedure_id and not procedure_code:
            p = await session.get(Procedure, orig.procedure_id)
            procedure_code = p.code if p else None
        dossier_raw = dossier_raw or orig.dossier_item_id
        if lat is None and lon is None and not address:
            lat, lon, address = orig.lat, orig.lon, orig.address

    proc: Procedure | None = None
    item_id: str | None = None
    if kind in (AppointmentKind.pickup, AppointmentKind.assisted):
        if not procedure_code:
            raise Problem(422, "Cần mã thủ tục / A procedure code is needed", code="procedure_required")
        proc = await cached_postal_procedure(session, procedure_code)
    else:
        item_id = await _dossier_for_delivery(session, citizen_id, dossier_raw)
        proc_id = (
            await session.exec(select(Dossier.procedure_id).where(Dossier.item_id == item_id))
        ).one_or_none()
        proc = await session.get(Procedure, proc_id) if proc_id else None

    area = await places.served_area(session)
    lat_, lon_, _ = await resolve_point(session, area, geocoder, lat, lon, address)
    place = places.served_place(area, lat_, lon_)
    assert place.post_office_id is not None
    if principal.role == Role.dispatcher and place.post_office_id != principal.org_id:
        raise forbidden("Địa chỉ thuộc bưu cục khác / The address belongs to another post office")
    off = await cached_office(session, place.post_office_id)
    if principal.role == Role.desk:
        desk = await session.get(Organisation, principal.org_id) if principal.org_id else None
        if desk is None or desk.province_code != off.org.province_code:
            raise forbidden(
                "Địa chỉ ngoài tỉnh của Bộ phận Một cửa / The address is outside the desk's province"
            )
    cal = await cached_calendar(session)
    try:
        window = check_window(cal, off.org.opening_hours, off.rules, now, data.start)
    except WindowError as err:
        raise _problem(err) from None
    cost = off.rules.cost(kind.value)
    policy = capacity.get_policy()
    cap = (await policy.capacity(session, off.org.id, [window]))[window.start]
    visit = capacity.VisitRequest(off.org.id, window, kind.value, lat_, lon_, cost)
    if cap < cost or not await policy.admits(session, visit):
        raise _full(window)
    distance = places.distance_km(off.org.lat, off.org.lon, lat_, lon_)
    fees = fees_for(kind, distance, proc)

    wrote = citizen_id is None
    if citizen_id is None:
        assert phone is not None
        citizen = Citizen(phone=phone)
        session.add(citizen)
        await session.flush()
        citizen_id = citizen.id
    appt = row_values(
        Appointment,
        id=appt_id,
        citizen_id=citizen_id,
        post_office_id=off.org.id,
        province_code=off.org.province_code,
        commune_code=place.commune_code,
        kind=kind,
        status=AppointmentStatus.booked,
        start=window.start,
        end=window.end,
        cost_minutes=cost,
        procedure_id=proc.id if proc else None,
        dossier_item_id=item_id,
        lat=lat_,
        lon=lon_,
        address=address,
        note=data.note,
        distance_km=round(distance, 3),
        fees=fees,
        channel=channel,
        booked_by_role=principal.role.value,
        booked_by_id=principal.id,
        rebook_of=data.rebook_of,
        created_at=now,
        updated_at=now,
    )
    event = row_values(
        AppointmentEvent,
        appointment_id=appt_id,
        seq=1,
        type="booked",
        at=now,
        actor_role=principal.role.value,
        actor_id=principal.id,
        channel=channel,
        data={"start": window.start.isoformat()},
    )
    confirmation = outbox.notification_row(
        recipient_kind="citizen",
        recipient_id=citizen_id,
        template="appointment.booked",
        params={"appointment_id": appt_id, "start": window.start, "post_office": off.org.name},
        dedupe_key=_key(appt_id, 1, "booked"),
    )
    return _Draft(
        window=window,
        capacity=cap,
        cost=cost,
        office=off.org,
        commune_name=place.commune_name,
        procedure=proc,
        phone=phone,
        appointment=appt,
        event=event,
        notifications=[confirmation, *reminder_rows(appt_id, citizen_id, window.start, 1, now)],
        wrote=wrote,
    )


def _full(window: Window) -> Problem:
    return Problem(
        409,
        "Khung giờ đã kín, vui lòng chọn khung khác / The window is full, please pick another",
        code="window_full",
        extra={"start": to_vn(window.start).isoformat(), "remaining": 0},
    )


# --- changes ---------------------------------------------------------------------------------------------


def _changed() -> Problem:
    return Problem(
        409,
        "Lịch hẹn vừa được thay đổi, vui lòng tải lại / The appointment changed meanwhile, reload it",
        code="appointment_changed",
    )


async def _bump(session: AsyncSession, appt: Appointment, **values: Any) -> int:
    """Move the appointment from the version the caller read to the next one, if nobody else did first."""
    result = await session.execute(
        update(Appointment)
        .where(
            col(Appointment.id) == appt.id,
            col(Appointment.version) == appt.version,
            col(Appointment.status) == AppointmentStatus.booked.value,
        )
        .values(version=appt.version + 1, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if int(getattr(result, "rowcount", 0) or 0) != 1:
        await session.rollback()
        raise _changed()
    return appt.version + 1


def _may_change(principal: Principal, appt: Appointment) -> None:
    if principal.role not in (Role.citizen, Role.dispatcher, Role.desk, Role.admin):
        raise forbidden()
    if appt.status != AppointmentStatus.booked:
        raise Problem(
            409,
            f"Lịch hẹn đang ở trạng thái {appt.status} / The appointment is {appt.status}",
            code="not_booked",
        )


def _check_version(expected: int | None, appt: Appointment) -> None:
    if expected is not None and expected != appt.version:
        raise _changed()


def _check_cutoff(principal: Principal, rules: BookingRules, now: datetime, appt: Appointment) -> None:
    # Staff may still change a booking after the cut-off (e.g. a courier falls ill); citizens may not,
    # because the day's routes are fixed by then.
    if principal.role == Role.citizen and cutoff_passed(rules, now, appt.start):
        raise Problem(
            422,
            f"Đã quá hạn đổi/hủy ({rules.cutoff_minutes} phút trước giờ hẹn) / "
            f"Too late to change: changes close {rules.cutoff_minutes} minutes before the window",
            code="cutoff_passed",
        )


async def _changeable(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID, version: int | None, now: datetime
) -> tuple[Appointment, Office]:
    """The appointment the caller may reschedule or cancel now: visible to them, theirs to change, the version
    they saw, and (for citizens) before the cut-off."""
    appt = await visible(session, principal, appointment_id)
    _may_change(principal, appt)
    _check_version(version, appt)
    off = await office(session, appt.post_office_id)
    _check_cutoff(principal, off.rules, now, appt)
    return appt, off


async def reschedule(
    session: AsyncSession,
    principal: Principal,
    appointment_id: uuid.UUID,
    data: AppointmentReschedule,
    *,
    now: datetime | None = None,
    access: audit.Access | None = None,
) -> AppointmentPublic:
    now = now or utcnow()
    appt, off = await _changeable(session, principal, appointment_id, data.version, now)
    cal = await cached_calendar(session)
    try:
        window = check_window(cal, off.org.opening_hours, off.rules, now, data.start)
    except WindowError as err:
        raise _problem(err) from None
    if window.start == appt.start:
        raise Problem(422, "Khung giờ mới trùng khung cũ / Same window as now", code="same_window")
    policy = capacity.get_policy()
    cap = (await policy.capacity(session, off.org.id, [window]))[window.start]
    visit = capacity.VisitRequest(off.org.id, window, appt.kind.value, appt.lat, appt.lon, appt.cost_minutes)
    if cap < appt.cost_minutes or not await policy.admits(session, visit):
        raise _full(window)
    old_start, citizen_id = appt.start, appt.citizen_id
    channel = STAFF_CHANNEL[principal.role]

    version = await _bump(session, appt, start=window.start, end=window.end, reason=data.reason)
    # Ledger rows are locked in start order so two reschedules crossing each other cannot deadlock.
    for start in sorted((old_start, window.start)):
        if start == old_start:
            await capacity.release(session, off.org.id, old_start, appt.cost_minutes)
        elif not await capacity.reserve(session, off.org.id, window, cap, appt.cost_minutes):
            await session.rollback()
            raise _full(window)
    session.add(
        _event(
            appt,
            version,
            "rescheduled",
            principal,
            channel,
            reason=data.reason,
            at=now,
            data={"from": old_start.isoformat(), "to": window.start.isoformat()},
        )
    )
    await withdraw_reminders(session, appt.id)
    enqueue(
        session,
        recipient_kind="citizen",
        recipient_id=citizen_id,
        template="appointment.rescheduled",
        params={"appointment_id": appt.id, "start": window.start, "old_start": old_start},
        dedupe_key=_key(appt.id, version, "rescheduled"),
    )
    await schedule_reminders(session, appt.id, citizen_id, window.start, version, now)
    await session.commit()
    await session.refresh(appt)
    return await one_public(session, principal, appt, access)


async def cancel(
    session: AsyncSession,
    principal: Principal,
    appointment_id: uuid.UUID,
    data: AppointmentCancel,
    *,
    now: datetime | None = None,
    access: audit.Access | None = None,
) -> AppointmentPublic:
    now = now or utcnow()
    appt, off = await _changeable(session, principal, appointment_id, data.version, now)
    start, citizen_id = appt.start, appt.citizen_id
    version = await _bump(session, appt, status=AppointmentStatus.cancelled.value, reason=data.reason)
    await capacity.release(session, off.org.id, start, appt.cost_minutes)
    session.add(
        _event(
            appt, version, "cancelled", principal, STAFF_CHANNEL[principal.role], reason=data.reason, at=now
        )
    )
    await withdraw_reminders(session, appt.id)
    enqueue(
        session,
        recipient_kind="citizen",
        recipient_id=citizen_id,
        template="appointment.cancelled",
        params={"appointment_id": appt.id, "start": start, "reason": data.reason},
        dedupe_key=_key(appt.id, version, "cancelled"),
    )
    await session.commit()
    await session.refresh(appt)
    return await one_public(session, principal, appt, access)


async def record_outcome(
    session: AsyncSession,
    principal: Principal,
    appointment_id: uuid.UUID,
    outcome: AppointmentStatus,
    data: AppointmentOutcome,
    *,
    now: datetime | None = None,
    access: audit.Access | None = None,
) -> AppointmentPublic:
    """A courier or dispatcher marks a visit as a no-show or a failed visit, and offers a rebooking."""
    now = now or utcnow()
    if principal.role not in (Role.courier, Role.dispatcher, Role.admin):
        raise forbidden()
    appt = await visible(session, principal, appointment_id)
    if appt.status != AppointmentStatus.booked:
        raise Problem(
            409,
            f"Lịch hẹn đang ở trạng thái {appt.status} / The appointment is {appt.status}",
            code="not_booked",
        )
    reasons = NO_SHOW_REASONS if outcome == AppointmentStatus.no_show else FAILED_REASONS
    if data.reason_code not in reasons:
        raise Problem(
            422,
            f"Mã lý do không hợp lệ / Unknown reason code '{data.reason_code}'",
            code="unknown_reason_code",
            extra={"allowed": sorted(reasons)},
        )
    if now < appt.start:
        raise Problem(422, "Chưa đến giờ hẹn / The window has not started yet", code="window_not_started")
    reason_vi, reason_en = reasons[data.reason_code]
    reason = f"{reason_vi} / {reason_en}" + (f": {data.note}" if data.note else "")
    start, citizen_id = appt.start, appt.citizen_id
    version = await _bump(
        session, appt, status=outcome.value, outcome_code=data.reason_code, reason=reason[:300]
    )
    # The window's minutes are not given back: the courier spent them.
    session.add(
        _event(
            appt,
            version,
            outcome.value,
            principal,
            STAFF_CHANNEL[principal.role],
            reason=data.note,
            reason_code=data.reason_code,
            at=now,
            data={"offer_rebook": data.offer_rebook},
        )
    )
    await withdraw_reminders(session, appt.id)
    if data.offer_rebook:
        if appt.kind == AppointmentKind.delivery and appt.dossier_item_id:
            enqueue(
                session,
                recipient_kind="citizen",
                recipient_id=citizen_id,
                template="dossier.delivery_failed",
                params={"item_id": appt.dossier_item_id, "reason": reason_vi},
                dedupe_key=_key(appt.id, version, "rebook"),
            )
        else:
            # Its link opens this appointment, where the app offers the rebooking (``rebook`` below).
            enqueue(
                session,
                recipient_kind="citizen",
                recipient_id=citizen_id,
                template="appointment.missed",
                params={"appointment_id": appt.id, "start": start, "reason": reason_vi},
                dedupe_key=_key(appt.id, version, "rebook"),
            )
    await session.commit()
    await session.refresh(appt)
    public = await one_public(session, principal, appt, access)
    if data.offer_rebook:
        public.rebook = await rebook_offer(session, appt, now)
    return public


async def rebook_offer(session: AsyncSession, appt: Appointment, now: datetime) -> dict[str, Any]:
    """What the app needs to book again: the body to send (with ``rebook_of``) and the next free windows."""
    proc = await session.get(Procedure, appt.procedure_id) if appt.procedure_id else None
    off = await office(session, appt.post_office_id)
    cal = await cached_calendar(session)
    today = vn_date(now)
    windows = bookable_windows(
        cal, off.org.opening_hours, off.rules, now, today, today + timedelta(days=off.rules.horizon_days)
    )
    caps = await capacity.get_policy().capacity(session, off.org.id, windows)
    booked = await ledger_cache.CACHE.booked(session, off.org.id, [w.start for w in windows])
    free = [w for w in windows if remaining(caps.get(w.start, 0), booked.get(w.start, 0), appt.cost_minutes)]
    body: dict[str, Any] = {
        "kind": appt.kind.value,
        "lat": appt.lat,
        "lon": appt.lon,
        "rebook_of": str(appt.id),
    }
    if appt.kind != AppointmentKind.delivery and proc is not None:
        body["procedure"] = proc.code
    if appt.dossier_item_id:
        body["dossier"] = appt.dossier_item_id
    return {
        "link": f"/appointments/new?rebook_of={appt.id}",
        "body": body,
        "suggested": [to_vn(w.start).isoformat() for w in free[:3]],
    }
