"""Return booked at receipt (issue 20): a result, or papers the desk refused or the citizen withdrew, ready at
the desk for a citizen who chose postal return is offered delivery windows; the citizen chooses one, or after
``RETURN_OFFER_HOURS`` the sweep books the earliest window the routes can absorb and tells the citizen, so every
such result enters a plan (plans load booked appointments).

Decision 45/2016/QĐ-TTg: the postal service returns results to the citizen's home on request.

Several processes may sweep: a due offer is leased with one conditional UPDATE (``lease_until`` in the past or
unset) committed before the booking, and the offer leaves ``offered`` with another conditional UPDATE in the
booking's own transaction, so a citizen's choice and the sweep can never both book it.
"""

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.booking.services.book import book
from backend.booking.services.returns import SYSTEM, booked_visits
from backend.booking.services.slots import list_slots
from backend.custody import transitions as tr
from backend.custody.services.access import load_dossier
from backend.lib.auth import Principal
from backend.lib.problems import Problem, not_found
from backend.settings import get_settings
from notifications.outbox import enqueue
from schemas.accounts import Citizen, CitizenAddress
from schemas.base import utcnow
from schemas.booking import Appointment, AppointmentCreate, AppointmentKind, AppointmentStatus, BookingChannel
from schemas.dossiers import Channel, Dossier, DossierEvent
from schemas.enums import Role
from schemas.returns import OfferedWindow, ReturnOffer, ReturnOfferOut, ReturnOfferStatus

log = logging.getLogger("backend.custody.returns")
OFFERED = ReturnOfferStatus.offered.value
MAX_WINDOWS = 12  # windows offered at once, earliest first


def may_choose(principal: Principal, dossier: Dossier) -> bool:
    """The dossier's own citizen (and admins); anyone else gets the same 404 as for an unknown id."""
    return principal.role == Role.admin or (
        principal.role == Role.citizen and dossier.citizen_id == principal.id
    )


async def own_dossier(session: AsyncSession, principal: Principal, raw: str) -> Dossier:
    dossier = await load_dossier(session, raw, for_update=True)
    if not may_choose(principal, dossier):
        raise not_found("hồ sơ / dossier", dossier.item_id)
    return dossier


def note_event(
    session: AsyncSession,
    principal: Principal,
    dossier: Dossier,
    code: str,
    now: datetime,
    data: dict[str, Any],
) -> DossierEvent:
    """An event that changes no status (``transitions.NOTE_CODES``), with who and when, in this transaction."""
    dossier.version += 1
    dossier.updated_at = now
    event = DossierEvent(
        dossier_id=dossier.id,
        seq=dossier.version,
        code=code,
        status=dossier.status,
        portal_status=dossier.portal_status,
        actor_kind="system" if principal.role == Role.admin else principal.role.value,
        actor_id=principal.id,
        org_id=principal.org_id,
        at=now,
        data=data,
    )
    session.add(event)
    return event


async def _home(session: AsyncSession, dossier: Dossier) -> tuple[float | None, float | None, str | None]:
    """Where to deliver: the pickup visit's place, else where the courier collected it, else the citizen's
    default saved address. A place the citizen gave with the choice of postal return comes first."""
    given = (dossier.data or {}).get("return_place")
    if isinstance(given, dict) and given.get("lat") is not None and given.get("lon") is not None:
        return float(given["lat"]), float(given["lon"]), given.get("address")
    if dossier.appointment_id is not None:
        appt = await session.get(Appointment, dossier.appointment_id)
        if appt is not None:
            return appt.lat, appt.lon, appt.address
    collected = (
        await session.exec(
            select(DossierEvent)
            .where(DossierEvent.dossier_id == dossier.id, col(DossierEvent.lat).is_not(None))
            .order_by(col(DossierEvent.seq))
        )
    ).first()
    if (
        collected is not None
        and dossier.channel == Channel.home_pickup
        and collected.lat is not None
        and collected.lon is not None
    ):
        return collected.lat, collected.lon, None  # where the courier collected it at home
    if dossier.citizen_id is not None:
        stmt = (
            select(CitizenAddress)
            .where(CitizenAddress.citizen_id == dossier.citizen_id)
            .order_by(col(CitizenAddress.is_default).desc(), col(CitizenAddress.created_at))
        )
        home = (await session.exec(stmt)).first()
        if home is not None:
            return home.lat, home.lon, home.address
    return None, None, None


async def make_offer(
    session: AsyncSession,
    dossier: Dossier,
    when: datetime,
    *,
    lat: float | None = None,
    lon: float | None = None,
    address: str | None = None,
) -> datetime | None:
    """Offer delivery windows for the dossier's result or papers, if its citizen chose postal return; the
    time after which the sweep books (None: no offer)."""
    if not dossier.postal_return or dossier.citizen_id is None:
        return None
    if lat is None or lon is None:
        lat, lon, address = await _home(session, dossier)
    offer = (
        await session.exec(select(ReturnOffer).where(ReturnOffer.dossier_id == dossier.id))
    ).one_or_none()
    if offer is None:
        offer = ReturnOffer(dossier_id=dossier.id, citizen_id=dossier.citizen_id, answer_by=when)
    answer_by = when + timedelta(hours=get_settings().return_offer_hours)
    offer.status, offer.offered_at, offer.answer_by = OFFERED, when, answer_by
    offer.lat, offer.lon, offer.address = lat, lon, address
    offer.appointment_id = offer.decided_at = offer.lease_until = offer.leased_by = None
    offer.attempts = 0
    session.add(offer)
    return answer_by


async def open_windows(
    session: AsyncSession, lat: float | None, lon: float | None, now: datetime
) -> list[OfferedWindow]:
    """The delivery windows that may be booked now at the place, earliest first (route-aware capacity: on a day
    already planned, only windows the plan can absorb)."""
    if lat is None or lon is None:
        return []
    try:
        listing = await list_slots(
            session,
            kind=AppointmentKind.delivery.value,
            lat=lat,
            lon=lon,
            address=None,
            first=None,
            last=None,
            procedure_code=None,
            now=now,
        )
    except Problem:
        return []  # outside the served area: nothing to offer, the desk keeps it for the counter
    return [
        OfferedWindow(
            start=datetime.fromisoformat(str(i["start"])),
            end=datetime.fromisoformat(str(i["end"])),
            post_office=i["post_office"],
        )
        for i in listing.body["items"]
        if i["remaining"] > 0
    ][:MAX_WINDOWS]


async def offer_of(session: AsyncSession, dossier: Dossier) -> ReturnOffer | None:
    stmt = select(ReturnOffer).where(ReturnOffer.dossier_id == dossier.id)
    # Its status moves by conditional UPDATEs: read the row as stored, not as this session last saw it.
    return (await session.exec(stmt.execution_options(populate_existing=True))).one_or_none()


async def describe(session: AsyncSession, dossier: Dossier, now: datetime) -> ReturnOfferOut:
    offer = await offer_of(session, dossier)
    out = ReturnOfferOut(item_id=dossier.item_id, status="none", postal_return=dossier.postal_return)
    if offer is None:
        return out
    out.status, out.answer_by, out.appointment_id = offer.status, offer.answer_by, offer.appointment_id
    if offer.status == OFFERED:
        out.windows = await open_windows(session, offer.lat, offer.lon, now)
    if offer.appointment_id is not None:
        appt = await session.get(Appointment, offer.appointment_id)
        out.appointment_start = appt.start if appt is not None else None
    return out


async def view(
    session: AsyncSession, principal: Principal, raw: str, *, now: datetime | None = None
) -> ReturnOfferOut:
    dossier = await own_dossier(session, principal, raw)
    return await describe(session, dossier, now or utcnow())


async def _take(
    session: AsyncSession,
    offer_id: uuid.UUID,
    status: ReturnOfferStatus,
    now: datetime,
    sources: tuple[str, ...] = (OFFERED,),
) -> bool:
    """The offer leaves ``offered`` (or another of ``sources``), if nobody took it first (in the caller's
    transaction)."""
    result = await session.execute(
        update(ReturnOffer)
        .where(col(ReturnOffer.id) == offer_id, col(ReturnOffer.status).in_(sources))
        .values(status=status.value, decided_at=now, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


def _closed(dossier: Dossier) -> Problem:
    return Problem(
        409,
        "Kết quả đã rời Bộ phận Một cửa hoặc không chờ trả qua bưu chính / "
        "The result has left the desk or is not waiting for a postal return",
        code="return_choice_closed",
        extra={"current_status": dossier.status},
    )


async def _book(
    session: AsyncSession,
    who: Principal,
    dossier: Dossier,
    start: datetime,
    place: tuple[float, float, str | None],
    phone: str | None,
) -> uuid.UUID:
    """Book the delivery; ``book`` commits the caller's writes with it, or raises and nothing is kept."""
    system = who.role == Role.admin
    data = AppointmentCreate(
        kind=AppointmentKind.delivery,
        start=start,
        lat=place[0],
        lon=place[1],
        address=place[2],
        dossier=dossier.item_id,
        citizen_phone=phone if system else None,
        channel=BookingChannel.system if system else None,
    )
    appt, _ = await book(session, who, data, idempotency_key=None)
    return appt.id


async def choose(
    session: AsyncSession, principal: Principal, raw: str, start: datetime, place: tuple[Any, Any, Any]
) -> ReturnOfferOut:
    """The citizen books one of the offered windows: the offer, its event and the booking in one transaction."""
    now = utcnow()
    dossier = await own_dossier(session, principal, raw)
    offer = await offer_of(session, dossier)
    booked = (ReturnOfferStatus.booked.value, ReturnOfferStatus.auto_booked.value)
    if offer is None or dossier.status != tr.Status.result_ready or not dossier.postal_return:
        raise _closed(dossier)
    open_ = (OFFERED, ReturnOfferStatus.unplaceable.value)  # unplaceable: the citizen gives the place now
    if offer.status not in (*open_, *booked):
        raise _closed(dossier)
    lat, lon, address = (
        place if place[0] is not None and place[1] is not None else (offer.lat, offer.lon, offer.address)
    )
    if lat is None or lon is None:
        raise Problem(422, "Cần địa chỉ giao / lat and lon are needed", code="address_required")
    if not await _take(session, offer.id, ReturnOfferStatus.booked, now, open_):
        raise Problem(
            409, "Lịch trả kết quả đã được đặt / The return is already booked", code="return_already_booked"
        )
    note_event(session, principal, dossier, "HTK", now, {"start": start.isoformat()})
    appt_id = await _book(session, principal, dossier, start, (lat, lon, address), None)
    await _link(session, offer.id, appt_id, lat, lon, address)
    await session.commit()
    return await describe(session, dossier, now)


async def _link(
    session: AsyncSession,
    offer_id: uuid.UUID,
    appt_id: uuid.UUID,
    lat: float,
    lon: float,
    address: str | None,
) -> None:
    await session.execute(
        update(ReturnOffer)
        .where(col(ReturnOffer.id) == offer_id)
        .values(appointment_id=appt_id, lat=lat, lon=lon, address=address)
        .execution_options(synchronize_session=False)
    )


# --- the sweep ---------------------------------------------------------------------------------------------


async def lease(session: AsyncSession, offer_id: uuid.UUID, worker: str, now: datetime) -> bool:
    """Lease a due offer for this worker (committed): True if it is ours until the lease ends."""
    result = await session.execute(
        update(ReturnOffer)
        .where(
            col(ReturnOffer.id) == offer_id,
            col(ReturnOffer.status) == OFFERED,
            or_(col(ReturnOffer.lease_until).is_(None), col(ReturnOffer.lease_until) < now),
        )
        .values(
            lease_until=now + timedelta(seconds=get_settings().return_lease_s),
            leased_by=worker[:64],
            attempts=col(ReturnOffer.attempts) + 1,
        )
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return int(getattr(result, "rowcount", 0) or 0) == 1


async def sweep(session: AsyncSession, worker: str, *, now: datetime | None = None, limit: int = 50) -> int:
    """Book the earliest absorbable window of every offer left unanswered past ``answer_by``; returns how many
    were booked."""
    now = now or utcnow()
    due = (
        await session.exec(
            select(ReturnOffer.id)
            .where(
                col(ReturnOffer.status) == OFFERED,
                col(ReturnOffer.answer_by) <= now,
                or_(col(ReturnOffer.lease_until).is_(None), col(ReturnOffer.lease_until) < now),
            )
            .order_by(col(ReturnOffer.answer_by))
            .limit(limit)
        )
    ).all()
    await session.rollback()
    await reoffer_cancelled(session, now)
    booked = 0
    for offer_id in due:
        if await lease(session, offer_id, worker, now) and await auto_book(session, offer_id, now):
            booked += 1
    return booked


async def reoffer_cancelled(session: AsyncSession, now: datetime) -> int:
    """A booked return whose delivery visit was cancelled (the citizen cancelled it in the appointments) while
    the result still waits at the desk for postal return is offered again, so it does not wait forever."""
    stmt = (
        select(ReturnOffer, Dossier)
        .join(Appointment, col(Appointment.id) == col(ReturnOffer.appointment_id))
        .join(Dossier, col(Dossier.id) == col(ReturnOffer.dossier_id))
        .where(
            col(ReturnOffer.status).in_(
                [ReturnOfferStatus.booked.value, ReturnOfferStatus.auto_booked.value]
            ),
            col(Appointment.status) == AppointmentStatus.cancelled.value,
            col(Dossier.status) == tr.Status.result_ready.value,
            col(Dossier.postal_return).is_(True),
        )
        .with_for_update(of=ReturnOffer)
    )
    rows = (await session.exec(stmt)).all()
    for offer, dossier in rows:
        if await booked_delivery(session, dossier):
            continue  # booked again through the appointments: nothing to offer
        answer_by = await make_offer(
            session, dossier, now, lat=offer.lat, lon=offer.lon, address=offer.address
        )
        assert answer_by is not None and dossier.citizen_id is not None
        enqueue(
            session,
            recipient_kind="citizen",
            recipient_id=dossier.citizen_id,
            template="dossier.return_offer",
            params={"item_id": dossier.item_id, "due_at": answer_by},
            dedupe_key=f"dossier.return_offer:{offer.id}:{now.isoformat()}",
        )
    await session.commit()
    return len(rows)


async def auto_book(session: AsyncSession, offer_id: uuid.UUID, now: datetime) -> bool:
    """Book the earliest window the routes can absorb for a leased offer, as the system, and tell the citizen.
    A window taken meanwhile is skipped for the next; with none, the lease runs out and a later sweep tries
    again (an offer with no place to deliver to is marked ``unplaceable`` for the desk)."""
    offer = await session.get(ReturnOffer, offer_id)
    if offer is None:
        return False
    dossier = await session.get(Dossier, offer.dossier_id)
    citizen = await session.get(Citizen, offer.citizen_id)
    if (
        dossier is None
        or citizen is None
        or dossier.status != tr.Status.result_ready
        or not dossier.postal_return
    ):
        await _take(session, offer_id, ReturnOfferStatus.withdrawn, now)
        await session.commit()
        return False
    if offer.lat is None or offer.lon is None:
        # Nowhere to deliver to: listed for the desk (GET /dossiers?view=return_unplaceable), the citizen asked
        # for an address (choosing a window with a place books it), once, with the event in the same transaction.
        if await _take(session, offer_id, ReturnOfferStatus.unplaceable, now):
            note_event(session, SYSTEM, dossier, "HTD", now, {"offer_id": str(offer_id)})
            enqueue(
                session,
                recipient_kind="citizen",
                recipient_id=citizen.id,
                template="dossier.return_address_needed",
                params={"item_id": dossier.item_id},
                dedupe_key=f"dossier.return_address_needed:{offer_id}",
            )
        await session.commit()
        return False
    place, attempt, dossier_pk = (offer.lat, offer.lon, offer.address), offer.attempts, offer.dossier_id
    item_id, citizen_id, phone = dossier.item_id, citizen.id, citizen.phone
    for w in await open_windows(session, offer.lat, offer.lon, now):
        try:
            dossier = await session.get_one(Dossier, dossier_pk)
            if not await _take(session, offer_id, ReturnOfferStatus.auto_booked, now):
                await session.rollback()
                return False  # the citizen chose meanwhile
            note_event(session, SYSTEM, dossier, "HTT", now, {"start": w.start.isoformat(), "auto": True})
            enqueue(
                session,
                recipient_kind="citizen",
                recipient_id=citizen_id,
                template="dossier.return_auto_booked",
                params={"item_id": item_id, "start": w.start},
                dedupe_key=f"dossier.return_auto_booked:{offer_id}:{attempt}",
            )
            appt_id = await _book(session, SYSTEM, dossier, w.start, place, phone)
        except Problem as exc:
            await session.rollback()  # expires what was loaded: read again on the next window
            log.info("return offer %s: window %s not booked (%s)", offer_id, w.start, exc.detail)
            continue
        await _link(session, offer_id, appt_id, *place)
        await session.commit()
        return True
    await session.rollback()
    return False


async def booked_delivery(session: AsyncSession, dossier: Dossier) -> list[Appointment]:
    return await booked_visits(session, dossier.item_id, AppointmentKind.delivery)
