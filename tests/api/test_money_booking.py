"""A visit's money is written with its booking (issue 21: every amount in the transaction of the event that
caused it), on both booking writes: SQLite's statements and PostgreSQL's ``hoso_book`` through the group
commit (``pgbatch``) that the API uses. A replayed booking writes nothing more; a reschedule keeps the due; a
cancellation reverses it. An IPN for exactly what a visit booked before that change owes is ``succeeded``,
not ``refund_due`` (the payment counts the visit's due, posted then)."""

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.db import session_factory
from backend.money import accounts, dues
from schemas.base import utcnow
from schemas.booking import Appointment
from schemas.money import LedgerLine, LedgerTxn, TxnKind
from schemas.payments import OnlinePayment
from tests.api.test_booking_flow import free_windows, pickup, place_of
from tests.api.test_money_online import World, appointment_owed, events, world  # noqa: F401 (fixture)
from tests.conftest import citizen_headers

pytestmark = pytest.mark.asyncio(loop_scope="session")
PO = 11
PHONE = "+84900000071"


async def _money(engine: AsyncEngine, appt_id: uuid.UUID) -> list[tuple[str, str, list[tuple[str, int]]]]:
    async with session_factory(engine)() as s:
        txns = (
            await s.exec(
                select(LedgerTxn).where(LedgerTxn.appointment_id == appt_id).order_by(col(LedgerTxn.at))
            )
        ).all()
        out = []
        for t in txns:
            lines = (
                await s.exec(
                    select(LedgerLine).where(LedgerLine.txn_id == t.id).order_by(col(LedgerLine.line_no))
                )
            ).all()
            assert sum(line.amount_vnd for line in lines) == 0
            out.append((t.kind, t.actor_role, [(line.account, line.amount_vnd) for line in lines]))
        return out


async def test_due_written_with_the_booking_kept_on_reschedule_reversed_on_cancel(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    lat, lon = place_of(demo, PO)
    windows = (await free_windows(client, lat, lon))[-14:-10]
    h = await citizen_headers(client, PHONE)
    citizen = (await client.get("/api/v1/me", headers=h)).json()["id"]
    key = {"Idempotency-Key": uuid.uuid4().hex}
    r = await client.post("/api/v1/appointments", json=pickup(lat, lon, windows[0]), headers={**h, **key})
    assert r.status_code == 201, r.text
    aid = uuid.UUID(r.json()["id"])
    async with session_factory(engine)() as s:
        appt = await s.get(Appointment, aid)
        assert appt is not None
        agency, postal = dues.quote_parts(appt)
    assert agency + postal > 0, appt.fees
    booked = await _money(engine, aid)
    # the due, by the citizen who booked, at once: nothing else had to touch the visit
    assert [(k, role) for k, role, _ in booked] == [(TxnKind.due, "citizen")]
    assert booked[0][2][0] == (accounts.receivable(uuid.UUID(citizen)), agency + postal)
    # a replay of the booking writes nothing more
    r = await client.post("/api/v1/appointments", json=pickup(lat, lon, windows[0]), headers={**h, **key})
    assert r.status_code in (200, 201) and r.json()["id"] == str(aid), r.text
    assert await _money(engine, aid) == booked
    # the backfill finds nothing left to post for it
    async with session_factory(engine)() as s:
        await dues.post_dues(s, until=utcnow().replace(year=utcnow().year + 1))
        await s.commit()
    assert await _money(engine, aid) == booked
    # a reschedule keeps the due
    r = await client.patch(f"/api/v1/appointments/{aid}", json={"start": windows[2], "version": 1}, headers=h)
    assert r.status_code == 200, r.text
    assert await _money(engine, aid) == booked
    # a cancellation reverses it: the citizen owes nothing
    version = r.json()["version"]
    r = await client.post(
        f"/api/v1/appointments/{aid}/cancel", json={"reason": "Đổi ý", "version": version}, headers=h
    )
    assert r.status_code == 200, r.text
    after = await _money(engine, aid)
    assert [k for k, _, _ in after] == [TxnKind.due, TxnKind.due_reversed]
    assert sum(a for _, _, lines in after for acc, a in lines if acc.startswith("receivable:")) == 0


async def test_ipn_for_exactly_what_an_older_visit_owes_is_paid(world: World, demo: Any) -> None:  # noqa: F811
    """A visit booked before dues were written at booking (no due in the ledger) and a payment for its quote:
    the IPN for that amount settles it (the old code compared with a ledger holding no due: refund_due)."""
    w = world
    appt = await appointment_owed(w.engine, demo, 44)  # stored directly: no due posted
    assert await _money(w.engine, appt.id) == []
    payment = OnlinePayment(
        provider="vnpay",
        reference="",
        citizen_id=appt.citizen_id,
        appointment_id=appt.id,
        amount_vnd=52000,
        expires_at=utcnow().replace(year=utcnow().year + 1),
    )
    payment.reference = payment.id.hex
    async with session_factory(w.engine)() as s:
        s.add(payment)
        await s.commit()
    w.gateway.orders[payment.reference] = {
        "vnp_Amount": "5200000",
        "vnp_OrderInfo": "Thanh toan phi ho so",
        "vnp_CreateDate": "20261206090000",
    }
    answer = await w.gateway.send_ipn(w.client, w.gateway.ipn(payment.reference))
    assert answer["RspCode"] == "00", answer
    async with session_factory(w.engine)() as s:
        stored = await s.get(OnlinePayment, payment.id)
        assert stored is not None and stored.status == "succeeded"
    kinds = [k for k, _, _ in await _money(w.engine, appt.id)]
    assert sorted(kinds) == sorted([TxnKind.due, TxnKind.paid_online])
    money = await _money(w.engine, appt.id)
    owed = sum(a for _, _, lines in money for acc, a in lines if acc == accounts.receivable(appt.citizen_id))
    assert owed == 0
    assert await events(w.engine, str(payment.id)) == ["succeeded"]
