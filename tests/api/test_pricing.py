"""The prices people set (issue 21): admins add versions of postal tariffs, procedure fees and exemptions; a
version never changes, starts now or later and after every version of its key; quotes use the versions in force
at once and name them, and a booking keeps those ids; an exemption in force takes its amount off the quote with
its legal basis."""

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import session_factory
from backend.money import accounts, dues, ledger
from backend.money.online import payments
from schemas.base import utcnow
from schemas.booking import Appointment
from tests.api.test_booking_flow import free_windows, place_of, slots
from tests.conftest import citizen_headers, staff_headers

FEE_PROC = "2.000575"  # Cấp lại Giấy chứng nhận đăng ký hộ kinh doanh: no other test books it
EXEMPT_PROC = "1.005461"  # Đăng ký lại khai tử (lệ phí 5.000 đ): no other test books it


def at(delta: timedelta) -> str:
    return (utcnow() + delta).isoformat()


async def test_tariff_versions_reach_quotes_at_once_and_bookings_keep_them(
    client: httpx.AsyncClient, demo: Any
) -> None:
    admin = await staff_headers(client, "admin")
    lat, lon = place_of(demo, 2)
    zone = (await slots(client, lat, lon, "assisted"))["fees"]["zone"]
    body = {
        "kind": "assisted",
        "zone": zone,
        "amount_vnd": 47000,
        "effective_from": at(timedelta(seconds=0)),
        "basis": "Quyết định giá cước thử nghiệm / test price decision",
    }
    r = await client.post("/api/v1/prices/tariffs", json=body, headers=admin)
    assert r.status_code == 201, r.text
    now_version = r.json()
    future = {**body, "amount_vnd": 99000, "effective_from": at(timedelta(days=30))}
    r = await client.post("/api/v1/prices/tariffs", json=future, headers=admin)
    assert r.status_code == 201, r.text
    future_version = r.json()

    quote = (await slots(client, lat, lon, "assisted"))["fees"]
    assert (
        quote["postal"] == 47000 and quote["tariff_rate_id"] == now_version["id"]
    )  # at once, not the future one

    h = await citizen_headers(client, "+84900000071")
    start = (await free_windows(client, lat, lon, "assisted"))[0]
    r = await client.post(
        "/api/v1/appointments",
        json={"kind": "assisted", "start": start, "lat": lat, "lon": lon, "procedure": FEE_PROC},
        headers=h,
    )
    assert r.status_code == 201, r.text
    assert r.json()["fees"]["postal"] == 47000 and r.json()["fees"]["tariff_rate_id"] == now_version["id"]

    # versions never overlap and the past is not rewritten
    r = await client.post(
        "/api/v1/prices/tariffs", json={**body, "effective_from": at(timedelta(days=1))}, headers=admin
    )
    assert r.status_code == 409 and r.json()["code"] == "price_version_overlap"
    r = await client.post(
        "/api/v1/prices/tariffs", json={**body, "effective_from": at(-timedelta(days=1))}, headers=admin
    )
    assert r.status_code == 422 and r.json()["code"] == "price_version_in_past"
    for bad in (
        {**body, "amount_vnd": -1},
        {**body, "zone": "Z9"},
        {**body, "basis": ""},
        {**body, "effective_from": "2030-01-01T00:00:00"},
        {**body, "effective_from": "0001-01-01T00:00:00+14:00"},
        {**body, "effective_from": "9999-12-31T23:00:00-10:00"},
    ):
        r = await client.post("/api/v1/prices/tariffs", json=bad, headers=admin)
        assert r.status_code in (400, 422), r.text

    r = await client.get("/api/v1/prices/tariffs", params={"kind": "assisted", "zone": zone}, headers=admin)
    items = r.json()["items"]
    assert [i["amount_vnd"] for i in items][-2:] == [47000, 99000]
    assert (
        items[-2]["effective_until"] == future_version["effective_from"]
        and items[-1]["effective_until"] is None
    )
    r = await client.get(f"/api/v1/prices/tariffs/{now_version['id']}", headers=admin)
    assert r.status_code == 200 and r.json()["effective_until"] == future_version["effective_from"]
    r = await client.get("/api/v1/prices/tariffs", headers=await citizen_headers(client, "+84900000071"))
    assert r.status_code == 403


async def test_fee_version_and_exemption_in_quotes(client: httpx.AsyncClient, demo: Any) -> None:
    admin = await staff_headers(client, "admin")
    lat, lon = place_of(demo, 3)
    r = await client.post(
        "/api/v1/prices/procedure-fees",
        json={
            "procedure_code": FEE_PROC,
            "fee_vnd": 0,
            "charge_vnd": 61000,
            "effective_from": at(timedelta(0)),
            "basis": "Nghị quyết HĐND tỉnh (thử) / provincial resolution (test)",
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    fee_version = r.json()
    quote = (await slots(client, lat, lon, "pickup", procedure=FEE_PROC))["fees"]
    assert quote["charge"] == 61000 and quote["procedure_fee_id"] == fee_version["id"]
    assert quote["total"] == quote["postal"] + 61000 and quote["exemption"] is None

    r = await client.post(
        "/api/v1/prices/procedure-fees",
        json={
            "procedure_code": "9.999999",
            "fee_vnd": 0,
            "charge_vnd": 1,
            "effective_from": at(timedelta(0)),
            "basis": "x" * 5,
        },
        headers=admin,
    )
    assert r.status_code == 404

    before = (await slots(client, lat, lon, "pickup", procedure=EXEMPT_PROC))["fees"]
    assert before["charge"] == 5000 and before["exemption"] is None
    pilot = {
        "code": "pilot-test-khai-tu",
        "province_code": demo.province.code,
        "procedure_code": EXEMPT_PROC,
        "covers": "all",
        "legal_basis": "Quyết định thí điểm của UBND tỉnh (thử) / provincial pilot decision (test)",
        "label_vi": "Thí điểm miễn phí",
        "label_en": "Free pilot",
        "effective_from": at(timedelta(0)),
    }
    r = await client.post("/api/v1/prices/exemptions", json=pilot, headers=admin)
    assert r.status_code == 201, r.text
    quote = (await slots(client, lat, lon, "pickup", procedure=EXEMPT_PROC))["fees"]
    assert quote["exempted"] == before["postal"] + 5000 and quote["total"] == 0
    assert (
        quote["exemption"]["code"] == "pilot-test-khai-tu" and "thí điểm" in quote["exemption"]["legal_basis"]
    )
    other = (await slots(client, lat, lon, "pickup", procedure=FEE_PROC))["fees"]
    assert other["exemption"] is None  # another procedure: not covered

    # ending it (a new version, inactive) brings the price back
    r = await client.post(
        "/api/v1/prices/exemptions",
        json={**pilot, "active": False, "effective_from": at(timedelta(seconds=1))},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    ended = r.json()
    await asyncio.sleep(1.2)
    quote = (await slots(client, lat, lon, "pickup", procedure=EXEMPT_PROC))["fees"]
    assert quote["exemption"] is None and quote["total"] == before["total"]
    r = await client.get("/api/v1/prices/exemptions", params={"code": "pilot-test-khai-tu"}, headers=admin)
    assert [i["active"] for i in r.json()["items"]] == [True, False]
    r = await client.get(f"/api/v1/prices/exemptions/{ended['id']}", headers=admin)
    assert r.status_code == 200 and r.json()["effective_until"] is None
    r = await client.get(f"/api/v1/prices/procedure-fees/{fee_version['id']}", headers=admin)
    assert r.status_code == 200 and r.json()["charge_vnd"] == 61000


async def test_a_bookings_exemption_is_posted_with_its_basis(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    admin = await staff_headers(client, "admin")
    lat, lon = place_of(demo, 4)
    code = "group-test-fees"
    r = await client.post(
        "/api/v1/prices/exemptions",
        json={
            "code": code,
            "procedure_code": FEE_PROC,
            "covers": "fees",
            "legal_basis": "Luật Phí và lệ phí 2015, Điều 10 (thử) / Law on Fees and Charges art. 10 (test)",
            "label_vi": "Miễn lệ phí",
            "label_en": "Charge waived",
            "effective_from": at(timedelta(0)),
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    h = await citizen_headers(client, "+84900000072")
    start = (await free_windows(client, lat, lon))[0]
    r = await client.post(
        "/api/v1/appointments",
        json={"kind": "pickup", "start": start, "lat": lat, "lon": lon, "procedure": FEE_PROC},
        headers=h,
    )
    assert r.status_code == 201, r.text
    fees = r.json()["fees"]
    assert fees["exempted"] == fees["fee"] + fees["charge"] > 0 and fees["total"] == fees["postal"]
    async with session_factory(engine)() as s:
        appt = await s.get(Appointment, uuid.UUID(r.json()["id"]))
        assert appt is not None
        await dues.post_due(s, appt, actor_id=None, actor_role="system")
        await s.commit()
        txn = await ledger.find(s, f"exempt:{appt.id}")
        assert txn is not None and txn.kind == "exempted" and "Luật Phí và lệ phí" in (txn.memo or "")
        assert await ledger.balance(s, accounts.exempt(code)) == fees["exempted"]
        assert await payments.outstanding(s, appt) == fees["postal"]  # what is owed: the net quote
        again = await dues.post_due(s, appt, actor_id=None, actor_role="system")  # once only
        assert again is not None and await ledger.balance(s, accounts.exempt(code)) == fees["exempted"]
