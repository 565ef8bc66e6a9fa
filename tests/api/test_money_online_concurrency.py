"""100 concurrent IPNs on the same payments never double-count (issue 21): each appointment is paid exactly once
in the ledger, every other notification answers 02, and the ledger still balances."""

import asyncio
import random
import uuid
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from backend.db import session_factory
from schemas.money import LedgerLine, LedgerTxn
from schemas.payments import OnlinePayment
from tests.api import money_support
from tests.api.test_money_online import World, appointment_owed, owed, paid_online, start_payment, world
from tests.conftest import citizen_headers

__all__ = ["world"]  # the fixture, shared


async def test_hundred_concurrent_ipns_pay_each_appointment_once(world: World, demo: Any) -> None:
    w = world
    appts = [
        await appointment_owed(w.engine, demo, 60 + i, postal=22000 + i, fee=1000 * (i + 1))
        for i in range(10)
    ]
    refs = []
    for i, appt in enumerate(appts):
        started = await start_payment(w, demo, 60 + i, appt)
        refs.append(w.gateway.pay(started["redirect_url"]))
    rng = random.Random(21)
    notes = []
    for ref in refs:
        success = w.gateway.ipn(ref)
        # the same success repeated, a failure racing it, and a forged copy
        notes += (
            [success] * 7
            + [w.gateway.ipn(ref, success=False)] * 2
            + [w.gateway.tampered(success, vnp_Amount="100")]
        )
    rng.shuffle(notes)
    answers = await asyncio.gather(*(w.gateway.send_ipn(w.client, n) for n in notes))
    codes = [a["RspCode"] for a in answers]
    assert codes.count("97") == 10
    assert codes.count("00") >= 10 and set(codes) <= {"00", "02", "97"}
    paid = [await paid_online(w.engine, a) for a in appts]
    for appt, lines in zip(appts, paid, strict=True):
        # paid exactly once: a failure that arrives first leaves the payment failed, and the success after it
        # is still money in and is taken (once); a failure after the success changes nothing
        assert lines == [appt.fees["total"]] and await owed(w.engine, appt) == 0
    async with session_factory(w.engine)() as s:
        assert (await s.exec(select(func.coalesce(func.sum(LedgerLine.amount_vnd), 0)))).one() == 0


async def test_door_collections_racing_ipns_never_settle_a_visit_twice(world: World, demo: Any) -> None:
    """10 visits paid online while their courier collects cash at the door: 50 collections and 50 IPNs at once.
    Per visit, either the door or the gateway settles it; money that arrives after is a refund due, never a
    second settlement, and the receivable is never below zero for what was owed."""
    w = world
    off = await money_support.office(w.client, demo, 5, couriers=1)
    courier = off.couriers[0]
    citizen = demo.citizens[80]
    ids = await money_support.visits(w.engine, demo, off, courier.id, 10, citizen_id=citizen.id)
    headers = await citizen_headers(w.client, str(citizen.phone))
    total = money_support.FEES["total"]
    refs = {}
    for appt_id in ids:
        r = await w.client.post(f"/api/v1/appointments/{appt_id}/payments", headers=headers)
        assert r.status_code == 201, r.text
        assert r.json()["amount_vnd"] == total
        refs[appt_id] = w.gateway.pay(r.json()["redirect_url"])

    async def collect(appt_id: uuid.UUID, n: int) -> int:
        body = {
            "client_event_id": f"race-{appt_id.hex[:8]}-{n}",
            "appointment_id": str(appt_id),
            "amount_vnd": total,
            "method": "cash_door",
        }
        r = await w.client.post("/api/v1/collections", json=body, headers=courier.headers)
        return r.status_code

    async def ipn(appt_id: uuid.UUID) -> str:
        return str(
            (await w.gateway.send_ipn(w.client, w.gateway.ipn(refs[appt_id], txn_no="777")))["RspCode"]
        )

    calls = [collect(a, n) for a in ids for n in range(5)] + [ipn(a) for a in ids for _ in range(5)]
    random.Random(7).shuffle(calls)
    results = await asyncio.gather(*calls)
    assert all(isinstance(x, str) and x in ("00", "02") or isinstance(x, int) and x < 500 for x in results), (
        results
    )
    async with session_factory(w.engine)() as s:
        for appt_id in ids:
            rows = (
                await s.exec(
                    select(LedgerTxn.kind, LedgerLine.amount_vnd, LedgerTxn.memo)
                    .join(LedgerTxn, col(LedgerTxn.id) == col(LedgerLine.txn_id))
                    .where(LedgerTxn.appointment_id == appt_id)
                    .where(col(LedgerLine.account).startswith("receivable:citizen:"))
                )
            ).all()
            door = [-a for k, a, _ in rows if k == "collected"]
            online = [-a for k, a, m in rows if k == "paid_online"]
            refund_due = [-a for k, a, m in rows if k == "paid_online" and m == "refund due"]
            assert len(door) <= 1 and len(online) <= 1, rows  # at most one of each, replays included
            settled = sum(door) + sum(online) - sum(refund_due)
            assert settled == total, rows  # settled exactly once: the later one is held to refund
            payment = (
                await s.exec(select(OnlinePayment).where(OnlinePayment.appointment_id == appt_id))
            ).one()
            assert payment.status == ("refund_due" if door else "succeeded")
        assert (await s.exec(select(func.coalesce(func.sum(LedgerLine.amount_vnd), 0)))).one() == 0
