"""A booking's checks, in order, and the rows it will write: who it is for, what it carries, where, which
window and whether that window has room. ``draft`` writes nothing but a new citizen (a staff booking for a
phone number not seen before), in the request's transaction."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.phones import normalise_phone
from backend.booking import capacity, pgbook
from backend.booking.geocoding import Geocoder
from backend.booking.services.caches import cached_calendar, cached_office, cached_postal_procedure
from backend.booking.services.common import STAFF_CHANNEL, Office, window_full, window_problem
from backend.booking.services.events import dedupe_key, reminder_rows
from backend.booking.services.fees import fees_for
from backend.booking.services.locate import resolve_point
from backend.booking.services.supplements import supplement_dossier
from backend.booking.windows import Window, WindowError, check_window
from backend.catalogue import editing_store, places, tariff_store
from backend.catalogue.tariff_pricing import PriceBook
from backend.lib.auth import Principal
from backend.lib.problems import Problem, forbidden, not_found
from notifications import outbox
from schemas import s10
from schemas.accounts import Citizen
from schemas.base import row_values
from schemas.booking import (
    Appointment,
    AppointmentCreate,
    AppointmentEvent,
    AppointmentKind,
    AppointmentStatus,
    BookingChannel,
)
from schemas.catalogue import Procedure
from schemas.dossiers import Dossier
from schemas.enums import Role
from schemas.orgs import Organisation


@dataclass
class Draft:
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


@dataclass
class _Who:
    """Who the appointment is for (a citizen not seen before has no id yet), and through which channel."""

    citizen_id: uuid.UUID | None
    phone: str | None
    channel: BookingChannel


@dataclass
class _Asked:
    """What the booking names, the original appointment's values filling what a rebooking leaves out."""

    procedure_code: str | None
    dossier_raw: str | None
    lat: float | None
    lon: float | None
    address: str | None


@dataclass
class _Place:
    office: Office
    commune_code: str
    commune_name: str
    lat: float
    lon: float
    address: str | None


@dataclass
class _Slot:
    window: Window
    capacity: int
    cost: int


async def draft(
    session: AsyncSession,
    principal: Principal,
    data: AppointmentCreate,
    appt_id: uuid.UUID,
    geocoder: Geocoder,
    now: datetime,
) -> Draft:
    """Every check of a booking, then its rows."""
    who = await _who(session, principal, data)
    asked = await _asked(session, data, who.citizen_id)
    proc, item_id = await _carried(session, data.kind, asked, who.citizen_id)
    place = await _place(session, principal, geocoder, asked)
    slot = await _slot(session, place, data.kind, data.start, now)
    if proc is not None and item_id is None:  # a pickup files it: the province's list on the visit's day
        await editing_store.check_postal_pickup(
            session, proc.code, place.office.org.province_code, slot.window.start
        )
    wrote = who.citizen_id is None
    if who.citizen_id is None:
        assert who.phone is not None
        citizen = Citizen(phone=who.phone)
        session.add(citizen)
        await session.flush()
        who.citizen_id = citizen.id
    book = await tariff_store.price_book(session, now)  # the prices in force now; the quote keeps their ids
    on_file = None if wrote else await session.get(Citizen, who.citizen_id)
    groups = frozenset(on_file.exempt_groups or []) if on_file is not None else frozenset()  # issue 21
    return _rows(principal, data, appt_id, who, place, slot, proc, item_id, now, wrote, book, groups)


async def _who(session: AsyncSession, principal: Principal, data: AppointmentCreate) -> _Who:
    if principal.role == Role.citizen:
        if data.citizen_phone or data.channel not in (None, BookingChannel.app):
            raise Problem(422, "Chỉ nhân viên đặt hộ / Only staff book for others", code="not_allowed")
        return _Who(principal.id, None, BookingChannel.app)
    if not data.citizen_phone:
        raise Problem(422, "Cần số điện thoại người dân / citizen_phone is required", code="citizen_required")
    phone = normalise_phone(data.citizen_phone)
    existing = (await session.exec(select(Citizen.id).where(Citizen.phone == phone))).one_or_none()
    if data.channel == BookingChannel.system and principal.role == Role.admin:
        return _Who(existing, phone, BookingChannel.system)  # a background job's booking (issue 20 returns)
    if data.channel in (BookingChannel.app, BookingChannel.system):
        raise Problem(422, "Kênh không hợp lệ / channel must be desk or phone", code="invalid_channel")
    return _Who(existing, phone, data.channel or STAFF_CHANNEL[principal.role])


async def _asked(session: AsyncSession, data: AppointmentCreate, citizen_id: uuid.UUID | None) -> _Asked:
    """The booking's procedure, dossier and place; a rebooking takes the missed appointment's where it names
    none."""
    asked = _Asked(data.procedure, data.dossier, data.lat, data.lon, data.address)
    if data.rebook_of is None:
        return asked
    orig = await session.get(Appointment, data.rebook_of)
    if orig is None or citizen_id is None or orig.citizen_id != citizen_id:
        raise not_found("lịch hẹn / appointment", data.rebook_of)
    if orig.status not in (AppointmentStatus.no_show, AppointmentStatus.failed, AppointmentStatus.cancelled):
        raise Problem(
            422, "Lịch hẹn gốc vẫn còn hiệu lực / The original is still booked", code="not_rebookable"
        )
    if orig.procedure_id and not asked.procedure_code:
        p = await session.get(Procedure, orig.procedure_id)
        asked.procedure_code = p.code if p else None
    asked.dossier_raw = asked.dossier_raw or orig.dossier_item_id
    if asked.lat is None and asked.lon is None and not asked.address:
        asked.lat, asked.lon, asked.address = orig.lat, orig.lon, orig.address
    return asked


async def _carried(
    session: AsyncSession, kind: AppointmentKind, asked: _Asked, citizen_id: uuid.UUID | None
) -> tuple[Procedure | None, str | None]:
    """The procedure a pickup files, or the dossier (and its procedure) a delivery brings back or a supplement
    pickup carries (issue 20)."""
    if kind == AppointmentKind.pickup and asked.dossier_raw:
        return await supplement_dossier(session, citizen_id, asked.dossier_raw)
    if kind in (AppointmentKind.pickup, AppointmentKind.assisted):
        if not asked.procedure_code:
            raise Problem(422, "Cần mã thủ tục / A procedure code is needed", code="procedure_required")
        return await cached_postal_procedure(session, asked.procedure_code), None
    item_id = await dossier_for_delivery(session, citizen_id, asked.dossier_raw)
    proc_id = (
        await session.exec(select(Dossier.procedure_id).where(Dossier.item_id == item_id))
    ).one_or_none()
    return (await session.get(Procedure, proc_id) if proc_id else None), item_id


async def dossier_for_delivery(session: AsyncSession, citizen_id: uuid.UUID | None, raw: str | None) -> str:
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
    # An id no dossier has is refused like another citizen's (404, whether the table is empty or not: issue 20);
    # nothing is booked for a result that does not exist.
    if dossier is None or (citizen_id is not None and dossier.citizen_id != citizen_id):
        raise not_found("hồ sơ / dossier", item_id)
    if not dossier.postal_return:
        raise Problem(
            422,
            f"Hồ sơ {item_id} không đăng ký nhận kết quả qua bưu chính / "
            f"Dossier {item_id} did not ask for the result by post",
            code="dossier_not_postal_return",
        )
    return item_id


async def _place(session: AsyncSession, principal: Principal, geocoder: Geocoder, asked: _Asked) -> _Place:
    """Where the visit is and the post office serving it, which a dispatcher must belong to and a desk must
    share a province with."""
    area = await places.served_area(session)
    lat, lon, _ = await resolve_point(session, area, geocoder, asked.lat, asked.lon, asked.address)
    place = places.served_place(area, lat, lon)
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
    return _Place(off, place.commune_code, place.commune_name, lat, lon, asked.address)


async def _slot(
    session: AsyncSession, place: _Place, kind: AppointmentKind, start: datetime, now: datetime
) -> _Slot:
    """The window asked for, if it may be booked now and has room for this visit by the capacity policy."""
    off = place.office
    cal = await cached_calendar(session)
    try:
        window = check_window(cal, off.org.opening_hours, off.rules, now, start)
    except WindowError as err:
        raise window_problem(err) from None
    cost = off.rules.cost(kind.value)
    policy = capacity.get_policy()
    cap = (await policy.capacity(session, off.org.id, [window]))[window.start]
    visit = capacity.VisitRequest(off.org.id, window, kind.value, place.lat, place.lon, cost)
    if cap < cost or not await policy.admits(session, visit):
        raise window_full(window)
    return _Slot(window, cap, cost)


def _quote(
    kind: AppointmentKind,
    distance: float,
    proc: Procedure | None,
    item_id: str | None,
    book: PriceBook | None,
    province_code: str,
    groups: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The visit's quote from the prices in force. A supplement pickup pays the postal fee only: the
    procedure's fees were paid at filing."""
    carried = None if item_id and kind == AppointmentKind.pickup else proc
    return fees_for(kind, distance, carried, book, province_code=province_code, groups=groups)


def _rows(
    principal: Principal,
    data: AppointmentCreate,
    appt_id: uuid.UUID,
    who: _Who,
    place: _Place,
    slot: _Slot,
    proc: Procedure | None,
    item_id: str | None,
    now: datetime,
    wrote: bool,
    book: PriceBook | None = None,
    groups: frozenset[str] = frozenset(),
) -> Draft:
    """The appointment's row, its first event and its notifications (the confirmation and reminders)."""
    org, window, citizen_id = place.office.org, slot.window, who.citizen_id
    assert citizen_id is not None
    distance = places.distance_km(org.lat, org.lon, place.lat, place.lon)
    appt = row_values(
        Appointment,
        id=appt_id,
        citizen_id=citizen_id,
        post_office_id=org.id,
        province_code=org.province_code,
        commune_code=place.commune_code,
        kind=data.kind,
        status=AppointmentStatus.booked,
        start=window.start,
        end=window.end,
        cost_minutes=slot.cost,
        procedure_id=proc.id if proc else None,
        dossier_item_id=item_id,
        lat=place.lat,
        lon=place.lon,
        address=place.address,
        note=data.note,
        distance_km=round(distance, 3),
        fees=_quote(data.kind, distance, proc, item_id, book, org.province_code, groups),
        channel=who.channel,
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
        channel=who.channel,
        data={"start": window.start.isoformat()},
    )
    confirmation = outbox.notification_row(
        recipient_kind="citizen",
        recipient_id=citizen_id,
        template="appointment.booked",
        params={"appointment_id": appt_id, "start": window.start, "post_office": org.name},
        dedupe_key=dedupe_key(appt_id, 1, "booked"),
    )
    return Draft(
        window=window,
        capacity=slot.capacity,
        cost=slot.cost,
        office=org,
        commune_name=place.commune_name,
        procedure=proc,
        phone=who.phone,
        appointment=appt,
        event=event,
        notifications=[confirmation, *reminder_rows(appt_id, citizen_id, window.start, 1, now)],
        wrote=wrote,
    )
