"""The two booking writes give the same answers and store the same rows.

PostgreSQL books through ``hoso_book`` (migrations 0003/0004, ``backend/booking/pgbook.py``), kept because
the statement-by-statement write SQLite uses did not hold the national peak on PostgreSQL (figures in
``backend/booking/pgbatch.py`` and ``bench/booking.py``). Keeping both is safe only while they agree: the same
bookings into a window with room for two (a new one, a retry of it, a second, one too many) must be created,
replayed, created and refused alike, leave the refused key free, fill the window exactly and write the same
appointment, event, notification and ledger (the visit's due) rows. On SQLite the statement-by-statement write is checked on its own;
on PostgreSQL both run, each in a window of its own, and are compared. A change to the ledger rule or the
rows on one side only fails here."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.booking import pgbook
from backend.booking.geocoding import NoGeocoder
from backend.booking.services.book import booking_extras, claim_key, request_hash, write_in_steps
from backend.booking.services.draft import Draft, draft
from backend.db import session_factory
from backend.lib.auth import Principal
from schemas.base import utcnow
from schemas.booking import Appointment, AppointmentCreate, AppointmentEvent, IdempotencyRecord, SlotCapacity
from schemas.enums import Role
from schemas.money import LedgerLine, LedgerTxn
from schemas.notifications import Notification
from tests.api.test_booking_flow import free_windows, pickup, place_of, set_booked
from tests.conftest import citizen_headers

PO = 6  # test_booking_write takes this office's last eight listed windows; these are before them
PHONE = "+84900000047"


@dataclass(frozen=True)
class _Window:
    start: datetime
    end: datetime
    body: dict[str, Any]


async def _drafts(engine: AsyncEngine, principal: Principal, w: _Window, n: int) -> list[Draft]:
    """``n`` checked bookings of the window, each with its own appointment id, as ``n`` requests would have."""
    data = AppointmentCreate.model_validate(w.body)
    out = []
    async with session_factory(engine)() as session:
        for _ in range(n):
            out.append(await draft(session, principal, data, uuid.uuid4(), NoGeocoder(), utcnow()))
        await session.rollback()
    return out


async def _in_steps(
    engine: AsyncEngine, principal: Principal, d: Draft, key: str, digest: str
) -> tuple[str, Any]:
    """SQLite's order: the key first, then the ledger and the rows, one commit."""
    async with session_factory(engine)() as session:
        rec = await claim_key(session, principal, key, digest, d.appointment["id"], utcnow())
        if rec is not None:
            earlier = rec.appointment_id
            await session.rollback()
            return "replayed", earlier
        if not await write_in_steps(session, d, await booking_extras(session, d, principal, utcnow())):
            await session.rollback()
            return "full", None
        await session.commit()
    return "created", d.appointment["id"]


async def _in_function(
    engine: AsyncEngine, principal: Principal, d: Draft, key: str, digest: str
) -> tuple[str, Any]:
    async with session_factory(engine)() as session:
        now = utcnow()
        extra = pgbook.extra_json(await booking_extras(session, d, principal, now))
        await session.commit()  # the hooks' reads
        written = await pgbook.write(session, {**d.arguments(principal.id, key, digest, now), "extra": extra})
    if written is None:
        return "full", None
    return ("created" if written.created else "replayed"), written.appointment_id


async def _run(engine: AsyncEngine, principal: Principal, w: _Window, write: Any) -> dict[str, Any]:
    """A new booking, its retry, a second booking, one too many; what each got and what is stored."""
    first, retry, second, third = await _drafts(engine, principal, w, 4)
    digest = request_hash(AppointmentCreate.model_validate(w.body))
    cap, cost = first.capacity, first.cost
    before = await set_booked(engine, first.office.id, w.start, w.end, cap - 2 * cost)
    tag = uuid.uuid4().hex
    try:
        got = [
            await write(engine, principal, first, f"a-{tag}", digest),
            await write(engine, principal, retry, f"a-{tag}", digest),
            await write(engine, principal, second, f"b-{tag}", digest),
            await write(engine, principal, third, f"c-{tag}", digest),
        ]
        async with session_factory(engine)() as session:
            ledger = await session.get(SlotCapacity, (first.office.id, w.start))
            assert ledger is not None
            booked = ledger.booked_minutes
            keys = [await session.get(IdempotencyRecord, (principal.id, f"{k}-{tag}")) for k in "abc"]
            rows = [await _stored(session, d.appointment["id"]) for d in (first, second)]
            assert await session.get(Appointment, third.appointment["id"]) is None
            assert await session.get(Appointment, retry.appointment["id"]) is None
    finally:
        await set_booked(engine, first.office.id, w.start, w.end, before)
    ids = {first.appointment["id"]: "first", second.appointment["id"]: "second"}
    return {
        "answers": [(what, ids.get(appt_id)) for what, appt_id in got],
        "full_after": booked == cap,
        "keys": [k is not None for k in keys],
        "rows": rows,
    }


async def _stored(session: Any, appt_id: uuid.UUID) -> dict[str, Any] | None:
    """The rows a booking wrote, without what differs by window, id or instant; None if it wrote none."""
    appt = await session.get(Appointment, appt_id)
    if appt is None:
        return None
    shown = appt.model_dump(exclude={"id", "start", "end", "created_at", "updated_at"})
    events = (
        await session.exec(select(AppointmentEvent).where(col(AppointmentEvent.appointment_id) == appt_id))
    ).all()
    notes = (
        await session.exec(select(Notification).where(col(Notification.dedupe_key).like(f"appt:{appt_id}:%")))
    ).all()
    txns = (await session.exec(select(LedgerTxn).where(col(LedgerTxn.appointment_id) == appt_id))).all()
    money = []
    for t in sorted(txns, key=lambda t: t.idempotency_key):
        lines = (await session.exec(select(LedgerLine).where(col(LedgerLine.txn_id) == t.id))).all()
        money.append(
            (
                t.kind,
                t.idempotency_key.split(":")[0],
                t.actor_role,
                t.payer,
                t.method,
                t.place,
                t.memo,
                t.at.tzinfo is not None,
            )
            + tuple(sorted((line.line_no, line.account, line.amount_vnd) for line in lines))
        )
    return {
        "money": money,
        "appointment": shown,
        "events": [(e.seq, e.type, e.actor_role, e.channel, sorted(e.data)) for e in events],
        "notifications": sorted(
            (n.template, n.status, n.recipient_kind, n.dedupe_key.split(":", 2)[2], sorted(n.params))
            for n in notes
        ),
    }


async def test_both_booking_writes_answer_and_store_alike(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    lat, lon = place_of(demo, PO)
    listed = await free_windows(client, lat, lon)
    h = await citizen_headers(client, PHONE)
    citizen_id = uuid.UUID((await client.get("/api/v1/me", headers=h)).json()["id"])
    principal = Principal(citizen_id, Role.citizen)

    def window(i: int) -> _Window:
        start = datetime.fromisoformat(listed[i])
        return _Window(start, start + timedelta(hours=2), pickup(lat, lon, listed[i], note="Cổng sau"))

    in_steps = await _run(engine, principal, window(-9), _in_steps)
    assert in_steps["answers"] == [
        ("created", "first"),
        ("replayed", "first"),
        ("created", "second"),
        ("full", None),
    ]
    assert in_steps["full_after"] and in_steps["keys"] == [True, True, False]
    assert all(rows is not None for rows in in_steps["rows"])
    templates = [t for t, *_ in in_steps["rows"][0]["notifications"]]
    assert "appointment.booked" in templates
    assert in_steps["rows"][0]["events"] == [(1, "booked", "citizen", "app", ["start"])]
    # the visit's due is written with the booking (issue 21): its quote, owed by the citizen
    assert [m[:3] for m in in_steps["rows"][0]["money"]] == [("due", "due", "citizen")]
    if engine.dialect.name == "postgresql":
        in_function = await _run(engine, principal, window(-10), _in_function)
        assert in_function["rows"][0]["money"] == in_steps["rows"][0]["money"]
        assert in_function == in_steps
