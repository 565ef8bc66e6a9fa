"""Refunds paid out (issue 21: refunded, cancelled visit or refused dossier). A cancelled paid visit leaves its
money on ``refund:pending:{citizen}`` at its office; the office's dispatcher pays it out in cash at the counter
or by bank transfer (``refunded``: Dr refund:pending / Cr cash:office or bank), with a receipt and the
citizen's notice; more than is pending there is 422 and changes nothing; a replay pays nothing twice; another
office's dispatcher is refused. A dossier the desk does not accept (custody's TKN) owes back its fee and lệ phí
paid, the postal charge kept."""

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from backend.db import session_factory
from backend.lib.auth import Principal
from backend.money import accounts, dues, refunds
from schemas.base import utcnow
from schemas.dossiers import Dossier
from schemas.enums import Role
from schemas.notifications import Notification
from tests.api import money_support as ms
from tests.conftest import citizen_headers

pytestmark = pytest.mark.asyncio(loop_scope="session")
CITIZEN = 91


def _collect(appt: uuid.UUID, amount: int) -> dict[str, Any]:
    return {
        "client_event_id": uuid.uuid4().hex,
        "appointment_id": str(appt),
        "amount_vnd": amount,
        "method": "cash_door",
    }


async def test_a_cancelled_visits_money_paid_back_at_the_counter(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    off = await ms.office(client, demo, 10, couriers=1)
    (courier,) = off.couriers
    assert off.dispatcher is not None
    citizen = demo.citizens[CITIZEN]
    (appt,) = await ms.visits(engine, demo, off, courier.id, 1, citizen_index=CITIZEN)
    r = await client.post("/api/v1/collections", json=_collect(appt, 45000), headers=courier.headers)
    assert r.status_code == 200, r.text
    me = await citizen_headers(client, citizen.phone)
    r = await client.post(f"/api/v1/appointments/{appt}/cancel", json={"reason": "Đổi ý"}, headers=me)
    assert r.status_code == 200, r.text
    assert await ms.balance_of(engine, accounts.refund_pending(citizen.id)) == -45000
    office_cash = await ms.balance_of(engine, accounts.office_cash(off.code))
    bank = await ms.balance_of(engine, accounts.bank(off.code))

    url = f"/api/v1/post-offices/{off.code}/refunds"
    body = {"client_event_id": "refund-1", "citizen_id": str(citizen.id), "amount_vnd": 45000}
    before = await ms.ledger_snapshot(engine)
    for extra, status, code in (
        ({"amount_vnd": 45001, "method": "cash_counter"}, 422, "more_than_refund_pending"),
        ({"amount_vnd": 0, "method": "cash_counter"}, 422, "amount_out_of_range"),
        ({"amount_vnd": -5, "method": "cash_counter"}, 422, "amount_out_of_range"),
        ({"method": "cash_door"}, 422, "bad_method"),
    ):
        r = await client.post(url, json={**body, **extra}, headers=off.dispatcher.headers)
        assert r.status_code == status and r.json()["code"] == code, (extra, r.text)
    assert (
        await client.post(
            url, json={**body, "amount_vnd": 45001, "method": "cash_counter"}, headers=off.dispatcher.headers
        )
    ).json()["pending_vnd"] == 45000
    other = await ms.account(client, "dispatcher", demo.post_offices[9].code)
    r = await client.post(url, json={**body, "method": "cash_counter"}, headers=other.headers)
    assert r.status_code == 403
    # another office sees nothing pending for the citizen there
    r = await client.post(
        f"/api/v1/post-offices/{demo.post_offices[9].code}/refunds",
        json={**body, "method": "cash_counter"},
        headers=other.headers,
    )
    assert r.status_code == 422 and r.json()["pending_vnd"] == 0
    assert await ms.ledger_snapshot(engine) == before

    # paid in two parts: cash at the counter, then a transfer; a replay pays nothing more
    r = await client.post(
        url, json={**body, "amount_vnd": 30000, "method": "cash_counter"}, headers=off.dispatcher.headers
    )
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["duplicate"] is False and first["pending_after_vnd"] == 15000
    assert first["receipt_no"].startswith(off.code + "-")
    r = await client.post(
        url, json={**body, "amount_vnd": 30000, "method": "cash_counter"}, headers=off.dispatcher.headers
    )
    assert (
        r.status_code == 200
        and r.json()["duplicate"] is True
        and r.json()["receipt_no"] == first["receipt_no"]
    )
    second = {**body, "client_event_id": "refund-2", "amount_vnd": 15000, "method": "bank_transfer"}
    r = await client.post(url, json=second, headers=off.dispatcher.headers)
    assert r.status_code == 200 and r.json()["pending_after_vnd"] == 0, r.text
    r = await client.post(
        url, json={**second, "client_event_id": "refund-3", "amount_vnd": 1}, headers=off.dispatcher.headers
    )
    assert r.status_code == 422 and r.json()["code"] == "more_than_refund_pending"

    assert await ms.balance_of(engine, accounts.refund_pending(citizen.id)) == 0
    assert await ms.balance_of(engine, accounts.office_cash(off.code)) == office_cash - 30000
    assert await ms.balance_of(engine, accounts.bank(off.code)) == bank - 15000
    assert (await ms.ledger_snapshot(engine))[2] == 0
    async with session_factory(engine)() as s:
        notes = (
            await s.exec(
                select(Notification).where(
                    Notification.recipient_id == citizen.id, Notification.template == "money.refund_paid"
                )
            )
        ).all()
        assert f"receipt:{first['receipt_no']}" in {n.dedupe_key for n in notes}
        assert len(notes) == 2


async def test_a_dossier_not_accepted_owes_back_its_fee_not_the_postal_charge(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    off = await ms.office(client, demo, 10, couriers=1)
    (courier,) = off.couriers
    citizen = demo.citizens[CITIZEN + 1]
    fees = {"postal": 25000, "fee": 20000, "charge": 0, "total": 45000, "currency": "VND"}
    (appt,) = await ms.visits(engine, demo, off, courier.id, 1, citizen_index=CITIZEN + 1, fees=fees)
    agency = next(iter(demo.agencies.values()))
    dossier_id = await ms.dossier_for(engine, appt, agency.id, citizen.id)
    r = await client.post("/api/v1/collections", json=_collect(appt, 45000), headers=courier.headers)
    assert r.status_code == 200, r.text
    desk = Principal(uuid.UUID(courier.id), Role.desk)  # who records the refusal: a desk's staff member
    async with session_factory(engine)() as s:
        d = await s.get(Dossier, dossier_id)
        assert d is not None
        assert await refunds.on_refused(s, d, desk, utcnow()) == 20000
        assert await refunds.on_refused(s, d, desk, utcnow()) == 0  # again: nothing more
        await s.commit()
        due, paid = await dues.receivable_of(s, [appt])
    assert (due, paid) == (25000, 45000 - 20000)
    assert await ms.balance_of(engine, accounts.refund_pending(citizen.id)) == -20000
    assert (await ms.ledger_snapshot(engine))[2] == 0
