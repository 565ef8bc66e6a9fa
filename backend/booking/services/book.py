"""``POST /appointments``: book a window, once per Idempotency-Key.

A refusal raises a ``Problem`` and the request's transaction is rolled back with it (the web layer rolls
back every answer that is not 2xx; direct callers roll back themselves), so a refused request leaves nothing
stored, the idempotency claim included. The window ledger (``capacity.reserve``; on PostgreSQL the same upsert
inside ``hoso_book``, see ``pgbook.py``) keeps concurrent bookings within the window's capacity.
"""

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.booking import capacity, pgbatch, pgbook
from backend.booking.geocoding import Geocoder, NoGeocoder
from backend.booking.services.common import changed_meanwhile, window_full
from backend.booking.services.draft import Draft, draft
from backend.booking.services.locate import geocode_first
from backend.booking.services.serialise import one_public, public
from backend.lib.auth import Principal
from backend.lib.problems import Problem, not_found
from notifications import outbox
from schemas.base import new_id, utcnow
from schemas.booking import (
    Appointment,
    AppointmentCreate,
    AppointmentEvent,
    AppointmentEventPublic,
    AppointmentPublic,
    IdempotencyRecord,
)
from schemas.vntime import to_vn

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

# Rows a higher part writes with a new booking, in the booking's own transaction (backend/app.py wires money's:
# the visit's due and exemption, issue 21): (table model, rows as ``row_values``), in insertion order. On
# PostgreSQL ``hoso_book`` inserts them (migration 0024 names the tables it accepts); on SQLite
# ``write_in_steps`` does. Registering the same hook twice adds it once.
Extra = tuple[Any, Sequence[Mapping[str, Any]]]
BookHook = Callable[[AsyncSession, Mapping[str, Any], Principal, datetime], Awaitable[Sequence[Extra]]]
_ON_BOOK: list[BookHook] = []


def on_book(hook: BookHook) -> None:
    if hook not in _ON_BOOK:
        _ON_BOOK.append(hook)


async def booking_extras(
    session: AsyncSession, checked: Draft, principal: Principal, now: datetime
) -> list[Extra]:
    """The rows the registered hooks write with this booking."""
    out: list[Extra] = []
    for hook in _ON_BOOK:
        out.extend(await hook(session, checked.appointment, principal, now))
    return out


def request_hash(data: AppointmentCreate) -> str:
    body = json.dumps(data.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


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
        rec = await claim_key(session, principal, idempotency_key, digest, appt_id, now)
        if rec is not None:
            return await _replay(session, principal, rec.appointment_id, rec.request_hash, digest), False
    try:
        checked = await draft(session, principal, data, appt_id, geocoder or NoGeocoder(), now)
    except Problem:
        if one_trip and idempotency_key is not None:
            rec = await session.get(IdempotencyRecord, (principal.id, idempotency_key))
            if rec is not None:
                return await _replay(session, principal, rec.appointment_id, rec.request_hash, digest), False
        raise
    extras = await booking_extras(session, checked, principal, now)
    if one_trip:
        args = {
            **checked.arguments(principal.id, idempotency_key, digest, now),
            "extra": pgbook.extra_json(extras),
        }
        if session.in_transaction() and not checked.wrote and not caller_transaction:
            await session.commit()  # only the checks' reads (a cache was cold): the write needs none of them
        if session.in_transaction() or not isinstance(session.bind, AsyncEngine):
            written = await pgbook.write(session, args)  # with the citizen the checks created
        else:
            written = await pgbatch.batcher(session.bind).write(args)
        if written is None:
            raise window_full(checked.window)
        if not written.created:
            return await _replay(
                session, principal, written.appointment_id, written.request_hash, digest
            ), False
    elif not await write_in_steps(session, checked, extras):
        raise window_full(checked.window)
    await session.commit()
    return _answer(principal, checked, now), True


def _answer(principal: Principal, checked: Draft, now: datetime) -> AppointmentPublic:
    """Everything the answer shows is at hand: no second round of reads. Its instants are in Vietnam time
    already, so the controller sends it without walking it (``LocalTimeResponse``)."""
    shown_now = to_vn(now)
    return public(
        SimpleNamespace(**{**checked.appointment, "created_at": shown_now, "updated_at": shown_now}),
        checked.office,
        checked.commune_name,
        checked.procedure,
        checked.phone if principal.is_staff else None,
        [AppointmentEventPublic.model_validate({**checked.event, "at": shown_now})],
    )


async def write_in_steps(session: AsyncSession, checked: Draft, extras: Sequence[Extra] = ()) -> bool:
    """SQLite's write of a checked booking, in the session's transaction, statement by statement (the rule
    ``hoso_book`` runs in one statement on PostgreSQL): take the window's minutes, then write the rows.
    False: the window is full, nothing written. One Core statement per row: the ORM's unit of work cost
    several milliseconds of CPU per booking."""
    if not await capacity.reserve(session, checked.office.id, checked.window, checked.capacity, checked.cost):
        return False
    await session.execute(_INSERT_APPOINTMENT, checked.appointment)
    await session.execute(_INSERT_EVENT, checked.event)
    await outbox.insert_rows(session, checked.notifications)
    for model, rows in extras:
        if rows:
            await session.execute(model.__table__.insert(), list(rows))
    return True


async def claim_key(
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
        raise changed_meanwhile()
    return rec


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
