"""Online payments through VNPay's documented payment URL and IPN, against a gateway on 127.0.0.1
(bench/fakes/vnpay_gateway.py): the amount comes from the ledger, the citizen is sent to a URL the gateway
accepts, and only signed IPNs change a payment: success posts ``paid_online`` once (duplicates answer 02 and post
nothing), a tampered IPN is 97, a wrong amount 04, a failure after a success never un-pays, and money for a
cancelled visit is posted and held as a refund due (issue 21)."""

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest_asyncio
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.app import create_app
from backend.db import session_factory
from backend.money import accounts, vietqr
from backend.settings import Settings
from bench.fakes.vnpay_gateway import FakeVnpay
from schemas.base import utcnow
from schemas.booking import Appointment, AppointmentKind, AppointmentStatus
from schemas.money import LedgerLine, LedgerTxn, TxnKind
from schemas.notifications import Notification
from schemas.payments import OnlinePayment, OnlinePaymentEvent
from tests import openapi_check
from tests.conftest import citizen_headers, lifespan, staff_headers


class World:
    def __init__(
        self, app: Litestar, gateway: FakeVnpay, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        self.app, self.gateway, self.client, self.engine = app, gateway, client, engine


@pytest_asyncio.fixture
async def world(engine: AsyncEngine) -> AsyncIterator[World]:
    gateway = FakeVnpay().start()
    settings = Settings(
        database_url=str(engine.url),
        vnpay_tmn_code=gateway.tmn_code,
        vnpay_hash_secret=gateway.hash_secret,
        vnpay_payment_url=gateway.base_url,
        vietqr_bank_bin="970405",
        vietqr_account_no="1234567890123",
        public_base_url="https://api.example.vn",
    )
    app = create_app(settings, engine=engine)
    try:
        async with lifespan(app):
            transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
            hooks = openapi_check.response_hooks(app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://t", event_hooks=hooks, timeout=120
            ) as c:
                c.app = app  # type: ignore[attr-defined]
                yield World(app, gateway, c, engine)
    finally:
        gateway.stop()


async def appointment_owed(
    engine: AsyncEngine, demo: Any, citizen_index: int, *, postal: int = 22000, fee: int = 30000
) -> Appointment:
    """A booked pickup of a demo citizen with its quote (the ledger's due is posted when money first touches it)."""
    citizen = demo.citizens[citizen_index]
    office = demo.post_offices[0]
    start = utcnow() + timedelta(days=3)
    appt = Appointment(
        citizen_id=citizen.id,
        post_office_id=office.id,
        province_code=demo.province.code,
        commune_code=demo.served[office.id][0],
        kind=AppointmentKind.pickup,
        start=start,
        end=start + timedelta(hours=2),
        cost_minutes=20,
        lat=10.45,
        lon=105.63,
        fees={"postal": postal, "fee": fee, "charge": 0, "total": postal + fee, "currency": "VND"},
        booked_by_role="citizen",
        booked_by_id=citizen.id,
    )
    async with session_factory(engine)() as s:
        s.add(appt)
        await s.commit()
    return appt


def phone_of(demo: Any, index: int) -> str:
    return str(demo.citizens[index].phone)


async def start_payment(w: World, demo: Any, index: int, appt: Appointment) -> dict[str, Any]:
    r = await w.client.post(
        f"/api/v1/appointments/{appt.id}/payments",
        headers=await citizen_headers(w.client, phone_of(demo, index)),
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def paid_online(engine: AsyncEngine, appt: Appointment) -> list[int]:
    """The clearing line of each paid_online transaction of the appointment."""
    async with session_factory(engine)() as s:
        stmt = (
            select(LedgerLine.amount_vnd)
            .join(LedgerTxn, col(LedgerTxn.id) == col(LedgerLine.txn_id))
            .where(LedgerTxn.appointment_id == appt.id, LedgerTxn.kind == TxnKind.paid_online)
            .where(LedgerLine.account == accounts.clearing("vnpay"))
        )
        return list((await s.exec(stmt)).all())


async def owed(engine: AsyncEngine, appt: Appointment) -> int:
    async with session_factory(engine)() as s:
        stmt = (
            select(LedgerLine.amount_vnd)
            .join(LedgerTxn, col(LedgerTxn.id) == col(LedgerLine.txn_id))
            .where(LedgerTxn.appointment_id == appt.id)
            .where(LedgerLine.account == accounts.receivable(appt.citizen_id))
        )
        return sum((await s.exec(stmt)).all())


async def events(engine: AsyncEngine, payment_id: str) -> list[str]:
    async with session_factory(engine)() as s:
        stmt = (
            select(OnlinePaymentEvent.type)
            .where(OnlinePaymentEvent.payment_id == uuid.UUID(payment_id))
            .order_by(col(OnlinePaymentEvent.seq))
        )
        return list((await s.exec(stmt)).all())


async def test_pay_online_once_with_duplicates_and_late_failure(world: World, demo: Any) -> None:
    w = world
    appt = await appointment_owed(w.engine, demo, 40)
    started = await start_payment(w, demo, 40, appt)
    assert started["amount_vnd"] == 52000 and started["status"] == "created"
    assert started["redirect_url"].startswith(w.gateway.base_url + "?")
    ref = w.gateway.pay(started["redirect_url"])  # the gateway accepts our URL and its hash
    assert w.gateway.orders[ref]["vnp_Amount"] == "5200000"
    assert w.gateway.orders[ref]["vnp_ReturnUrl"] == "https://api.example.vn/api/v1/payments/vnpay/return"

    success = w.gateway.ipn(ref)
    assert await w.gateway.send_ipn(w.client, success) == {"RspCode": "00", "Message": "Confirm Success"}
    assert await w.gateway.send_ipn(w.client, success) == {
        "RspCode": "02",
        "Message": "Order already confirmed",
    }
    late_failure = w.gateway.ipn(ref, success=False)
    assert (await w.gateway.send_ipn(w.client, late_failure))["RspCode"] == "02"
    assert await paid_online(w.engine, appt) == [52000]
    assert await owed(w.engine, appt) == 0
    async with session_factory(w.engine)() as s:  # a receipt numbered in the office's sequence
        txn = (
            await s.exec(
                select(LedgerTxn).where(
                    LedgerTxn.appointment_id == appt.id, LedgerTxn.kind == TxnKind.paid_online
                )
            )
        ).one()
        assert txn.receipt_no is not None and txn.receipt_no.startswith(demo.post_offices[0].code + "-")
        assert txn.method == "online_vnpay" and txn.place == "online" and txn.payer == str(appt.citizen_id)
        receipt = (
            await s.exec(select(Notification).where(Notification.dedupe_key == f"receipt:{txn.receipt_no}"))
        ).one()
        assert receipt.recipient_id == appt.citizen_id and receipt.template == "money.receipt"

    headers = await citizen_headers(w.client, phone_of(demo, 40))
    r = await w.client.get(f"/api/v1/payments/{started['id']}", headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "succeeded"
    assert r.json()["receipt_no"].startswith(demo.post_offices[0].code + "-")
    assert await events(w.engine, started["id"]) == ["created", "succeeded", "duplicate", "late_notification"]
    # nothing more to pay: a second payment is refused
    r = await w.client.post(f"/api/v1/appointments/{appt.id}/payments", headers=headers)
    assert r.status_code == 409 and r.json()["code"] == "nothing_due"

    # the browser's return shows the state the IPN set, whatever the browser says
    forged_return = w.gateway.ipn(ref, success=False)
    r = await w.client.get("/api/v1/payments/vnpay/return", params=forged_return)
    assert r.status_code == 200 and "Đã thanh toán" in r.text and "Paid" in r.text
    r = await w.client.get(
        "/api/v1/payments/vnpay/return", params=w.gateway.tampered(forged_return, vnp_Amount="1")
    )
    assert r.status_code == 400 and r.json()["code"] == "payment_bad_signature"


async def test_tampered_wrong_amount_unknown_and_failure(world: World, demo: Any) -> None:
    w = world
    appt = await appointment_owed(w.engine, demo, 41)
    started = await start_payment(w, demo, 41, appt)
    ref = w.gateway.pay(started["redirect_url"])

    success = w.gateway.ipn(ref)
    tampered = w.gateway.tampered(success, vnp_Amount="100")
    assert await w.gateway.send_ipn(w.client, tampered) == {"RspCode": "97", "Message": "Invalid signature"}
    wrong = w.gateway.ipn(ref, amount_vnd=1000)
    assert await w.gateway.send_ipn(w.client, wrong) == {"RspCode": "04", "Message": "invalid amount"}
    w.gateway.orders["nosuchref"] = dict(w.gateway.orders[ref], vnp_TxnRef="nosuchref")
    unknown = w.gateway.ipn("nosuchref")
    assert await w.gateway.send_ipn(w.client, unknown) == {"RspCode": "01", "Message": "Order not found"}
    assert await paid_online(w.engine, appt) == []

    failure = w.gateway.ipn(ref, success=False)
    assert (await w.gateway.send_ipn(w.client, failure))["RspCode"] == "00"
    assert (await w.gateway.send_ipn(w.client, failure))["RspCode"] == "02"
    assert await paid_online(w.engine, appt) == [] and await owed(w.engine, appt) == 52000
    assert await events(w.engine, started["id"]) == [
        "created",
        "amount_mismatch",
        "failed",
        "late_notification",
    ]

    # a new attempt pays
    again = await start_payment(w, demo, 41, appt)
    ref2 = w.gateway.pay(again["redirect_url"])
    assert (await w.gateway.send_ipn(w.client, w.gateway.ipn(ref2)))["RspCode"] == "00"
    assert await paid_online(w.engine, appt) == [52000] and await owed(w.engine, appt) == 0


async def test_ipn_for_a_cancelled_visit_is_kept_as_a_refund_due(world: World, demo: Any) -> None:
    w = world
    appt = await appointment_owed(w.engine, demo, 42)
    started = await start_payment(w, demo, 42, appt)
    ref = w.gateway.pay(started["redirect_url"])
    async with session_factory(w.engine)() as s:  # cancelled while the citizen was paying
        row = await s.get(Appointment, appt.id)
        assert row is not None
        row.status = AppointmentStatus.cancelled
        await s.commit()
    assert (await w.gateway.send_ipn(w.client, w.gateway.ipn(ref)))["RspCode"] == "00"
    assert await paid_online(w.engine, appt) == [52000]  # the money is in the ledger, not lost
    assert await owed(w.engine, appt) == 0  # (the due is still there: the ledger's cancel reverses it)
    r = await w.client.get(
        f"/api/v1/payments/{started['id']}", headers=await citizen_headers(w.client, phone_of(demo, 42))
    )
    assert r.json()["status"] == "refund_due"
    async with session_factory(w.engine)() as s:
        payment = (await s.exec(select(OnlinePayment).where(OnlinePayment.reference == ref))).one()
        assert payment.ledger_txn_id is not None
    r = await w.client.post(
        f"/api/v1/appointments/{appt.id}/payments",
        headers=await citizen_headers(w.client, phone_of(demo, 42)),
    )
    assert r.status_code == 409 and r.json()["code"] == "appointment_cancelled"


async def test_only_the_citizen_starts_a_payment_and_vietqr(world: World, demo: Any) -> None:
    w = world
    appt = await appointment_owed(w.engine, demo, 43)
    other = await citizen_headers(w.client, phone_of(demo, 44))
    r = await w.client.post(f"/api/v1/appointments/{appt.id}/payments", headers=other)
    assert r.status_code == 404
    r = await w.client.get(f"/api/v1/appointments/{appt.id}/vietqr", headers=other)
    assert r.status_code == 404
    mine = await citizen_headers(w.client, phone_of(demo, 43))
    r = await w.client.get(f"/api/v1/appointments/{appt.id}/vietqr", headers=mine)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["amount_vnd"] == 52000 and vietqr.parse(body["payload"])["54"] == "52000"
    assert body["svg"].startswith("<svg") and body["reference"] in body["payload"]
    dispatcher = await staff_headers(w.client, "dispatcher01")  # the office's dispatcher (post office 0)
    r = await w.client.get(f"/api/v1/appointments/{appt.id}/vietqr", headers=dispatcher)
    assert r.status_code == 200 and r.json()["payload"] == body["payload"]


async def test_unconfigured_gateway_is_503_and_ipn_99(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    appt = await appointment_owed(engine, demo, 45)
    headers = await citizen_headers(client, phone_of(demo, 45))
    r = await client.post(f"/api/v1/appointments/{appt.id}/payments", headers=headers)
    assert r.status_code == 503 and r.json()["code"] == "payments_unconfigured"
    r = await client.get("/api/v1/payments/vnpay/ipn", params={"vnp_TxnRef": "x", "vnp_SecureHash": "y"})
    assert r.status_code == 200 and r.json()["RspCode"] == "99"


async def test_junk_notifications_and_returns_are_refused_not_errors(world: World) -> None:
    w = world
    junk = [
        {},
        {"vnp_SecureHash": "0" * 128},
        {"vnp_TxnRef": "x" * 300, "vnp_Amount": "-1", "vnp_SecureHash": "zz"},
        w.gateway.tampered(
            {"vnp_TxnRef": "a", "vnp_Amount": "1e9", "vnp_ResponseCode": "00"}, vnp_SecureHash="1"
        ),
    ]
    for params in junk:
        r = await w.client.get("/api/v1/payments/vnpay/ipn", params=params)
        assert r.status_code == 200 and r.json()["RspCode"] in ("97", "99"), (params, r.text)
        r = await w.client.get("/api/v1/payments/vnpay/return", params=params)
        assert r.status_code == 400 and r.json()["code"] == "payment_bad_signature", (params, r.text)
    # signed by the gateway but not ours to read: no such order, an amount that is not whole VND
    signed = {
        "vnp_TxnRef": "nope",
        "vnp_Amount": "150",
        "vnp_ResponseCode": "00",
        "vnp_TmnCode": w.gateway.tmn_code,
    }
    from bench.fakes.vnpay_gateway import _hash

    signed["vnp_SecureHash"] = _hash(w.gateway.hash_secret, signed)
    r = await w.client.get("/api/v1/payments/vnpay/ipn", params=signed)
    assert r.json() == {"RspCode": "99", "Message": "Unknow error"}
