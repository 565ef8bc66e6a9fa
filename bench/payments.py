"""Benchmark: the cost of online payments' protocol work, and IPNs through the service end to end.

    python -m bench.payments [--ipns 400] [--concurrency 1,20]

First the pure parts, per call: building a VNPay payment URL (sorted, form-encoded, HMAC-SHA512), verifying an
IPN, building a VietQR payload (with its CRC) and drawing it as SVG (segno). Then the IPN path through the app:
an embedded SQLite database is migrated and seeded (a small demo province), ``--ipns`` appointments each get a
payment, and their success IPNs (signed by ``bench.fakes.vnpay_gateway``) are sent through the ASGI app at each
concurrency, half of them twice (the duplicates answer 02): the figure is IPNs answered per second, each first
one posting its ledger entry, receipt and notification in one transaction. Figures depend on the machine and on
what else runs on it.
"""

import argparse
import asyncio
import tempfile
import time
import timeit
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from backend.money import vietqr
from backend.money.online.base import PaymentRequest
from backend.money.online.vietqr_service import svg
from backend.money.online.vnpay import VnpayProvider
from bench.fakes.vnpay_gateway import FakeVnpay


def pure() -> None:
    provider = VnpayProvider("HOSOTEST", "bench-secret-0123456789ABCDEF")
    now = datetime.now(UTC)
    request = PaymentRequest(
        52000, "f" * 32, "Thanh toan phi ho so", "https://api.example.vn/r", "10.0.0.1", now, now
    )
    fake = FakeVnpay(provider.tmn_code, provider.hash_secret)
    fake.orders["f" * 32] = provider.payment_params(request)
    ipn = fake.ipn("f" * 32)
    account = vietqr.VietQrAccount("970405", "1234567890123")
    payload = vietqr.payload(account, amount_vnd=52000, bill_number="HS0123456789", purpose="phi ho so")
    for name, fn in (
        ("vnpay payment URL", lambda: provider.payment_url(request)),
        ("vnpay IPN verify", lambda: provider.verify(ipn)),
        ("vietqr payload", lambda: vietqr.payload(account, amount_vnd=52000, bill_number="HS0123456789")),
        ("vietqr SVG", lambda: svg(payload)),
    ):
        n, total = timeit.Timer(fn).autorange()
        print(f"{name:<20} {total / n * 1e6:9.1f} µs per call")


async def through_app(ipns: int, concurrencies: list[int]) -> None:
    from sqlmodel import select

    from backend.app import create_app
    from backend.db import make_engine, session_factory
    from backend.demo.province import seed_province
    from backend.demo.reference import load_reference
    from backend.migrations import upgrade
    from backend.settings import Settings
    from schemas.base import utcnow
    from schemas.booking import Appointment, AppointmentKind
    from schemas.payments import OnlinePayment
    from tests.conftest import lifespan

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await asyncio.to_thread(upgrade, url)
        engine = make_engine(url)
        factory = session_factory(engine)
        async with factory() as s:
            await load_reference(s)
        async with factory() as s:
            ctx = await seed_province(s, password="bench", citizens=40)
            await s.commit()
        gateway = FakeVnpay()
        settings = Settings(
            database_url=url,
            vnpay_tmn_code=gateway.tmn_code,
            vnpay_hash_secret=gateway.hash_secret,
            vnpay_payment_url="https://sandbox.invalid/paymentv2/vpcpay.html",
            env="development",
        )
        app = create_app(settings, engine=engine)
        async with lifespan(app):
            transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                for concurrency in concurrencies:
                    refs = await _payments(
                        factory, ctx, ipns, Appointment, AppointmentKind, OnlinePayment, utcnow
                    )
                    async with factory() as s:
                        for ref in refs:
                            row = (
                                await s.exec(select(OnlinePayment).where(OnlinePayment.reference == ref))
                            ).one()
                            gateway.orders[ref] = {
                                "vnp_Amount": str(row.amount_vnd * 100),
                                "vnp_OrderInfo": "bench",
                                "vnp_CreateDate": "20270101000000",
                            }
                    notes = [gateway.ipn(ref) for ref in refs]
                    notes += notes[: len(notes) // 2]  # duplicates
                    elapsed, codes = await _send_all(client, notes, concurrency)
                    print(
                        f"IPNs through the app, SQLite, concurrency {concurrency:>3}: {len(notes) / elapsed:7.1f} per s {codes}"
                    )
        await engine.dispose()


async def _send_all(
    client: httpx.AsyncClient, notes: list[dict[str, str]], concurrency: int
) -> tuple[float, dict[str, int]]:
    queue = iter(notes)
    codes: dict[str, int] = {}

    async def worker() -> None:
        for params in queue:
            answer = (await client.get("/api/v1/payments/vnpay/ipn", params=params)).json()
            codes[answer["RspCode"]] = codes.get(answer["RspCode"], 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, codes


async def _payments(
    factory: Any, ctx: Any, n: int, Appointment: Any, AppointmentKind: Any, OnlinePayment: Any, utcnow: Any
) -> list[str]:
    """``n`` appointments with a payment each, written straight into the tables (the due posted as the
    payment's start would)."""
    from backend.money import dues

    refs = []
    async with factory() as s:
        office = ctx.post_offices[0]
        for i in range(n):
            citizen = ctx.citizens[i % len(ctx.citizens)]
            start = utcnow() + timedelta(days=2)
            appt = Appointment(
                citizen_id=citizen.id,
                post_office_id=office.id,
                province_code=ctx.province.code,
                commune_code=ctx.served[office.id][0],
                kind=AppointmentKind.pickup,
                start=start,
                end=start + timedelta(hours=2),
                cost_minutes=20,
                lat=10.4,
                lon=105.6,
                fees={"postal": 22000, "fee": 0, "charge": 15000, "total": 37000, "currency": "VND"},
                booked_by_role="citizen",
                booked_by_id=citizen.id,
            )
            s.add(appt)
            await s.flush()
            await dues.post_due(s, appt, actor_id=citizen.id, actor_role="citizen")
            payment = OnlinePayment(
                provider="vnpay",
                reference="",
                citizen_id=citizen.id,
                appointment_id=appt.id,
                amount_vnd=37000,
                expires_at=utcnow() + timedelta(minutes=15),
            )
            payment.reference = payment.id.hex
            s.add(payment)
            refs.append(payment.reference)
        await s.commit()
    return refs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ipns", type=int, default=400)
    parser.add_argument("--concurrency", default="1,20")
    args = parser.parse_args()
    pure()
    asyncio.run(through_app(args.ipns, [int(c) for c in args.concurrency.split(",")]))


if __name__ == "__main__":
    main()
