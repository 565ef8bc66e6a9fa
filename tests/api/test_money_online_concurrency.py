"""100 concurrent IPNs on the same payments never double-count (issue 21): each appointment is paid exactly once
in the ledger, every other notification answers 02, and the ledger still balances."""

import asyncio
import random
from typing import Any

from sqlalchemy import func
from sqlmodel import select

from backend.db import session_factory
from schemas.money import LedgerLine
from tests.api.test_money_online import World, appointment_owed, owed, paid_online, start_payment, world

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
