"""Exemptions by citizen group that really apply (issue 21): an admin adds an exemption for a group; a citizen
books and pays in full; a desk clerk with a task for the citizen records the group after checking the papers
(codes only, who and when, an account event); the citizen's next booking is quoted with the exemption and the
ledger posts it as ``exempted`` with its legal basis. Couriers cannot record groups; bad codes are 4xx."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import session_factory
from backend.money import accounts, dues, ledger
from schemas.base import utcnow
from schemas.booking import Appointment
from tests.api.identity_support import DESK, OTHER_DESK, account_events, citizen_id, profile
from tests.api.test_booking_flow import free_windows, place_of
from tests.conftest import citizen_headers, staff_headers

PROC = "2.000528"  # Đăng ký khai sinh có yếu tố nước ngoài (lệ phí 75.000 đ): no other test books it
PHONE = "+84920000091"
CODE = "group-test-nguoi-co-cong"
BASIS = "Nghị quyết HĐND tỉnh về lệ phí hộ tịch (thử), Điều 3 / provincial council resolution (test) art. 3"


async def _book(
    client: httpx.AsyncClient, headers: dict[str, str], lat: float, lon: float, **extra: Any
) -> Any:
    start = (await free_windows(client, lat, lon))[0]
    body = {"kind": "pickup", "start": start, "lat": lat, "lon": lon, "procedure": PROC, **extra}
    r = await client.post("/api/v1/appointments", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_recorded_group_exempts_the_next_booking(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    admin = await staff_headers(client, "admin")
    r = await client.post(
        "/api/v1/prices/exemptions",
        json={
            "code": CODE,
            "procedure_code": PROC,
            "citizen_group": "nguoi_co_cong",
            "covers": "fees",
            "legal_basis": BASIS,
            "label_vi": "Miễn lệ phí cho người có công",
            "label_en": "Charge waived for people with meritorious services",
            "effective_from": (utcnow() + timedelta(seconds=0)).isoformat(),
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    lat, lon = place_of(demo, 6)
    who = await citizen_id(client, PHONE)
    assert (await profile(client, PHONE))["exempt_groups"] == []
    url = f"/api/v1/citizens/{who}/exempt-groups"
    desk = await staff_headers(client, DESK)
    # No task for the citizen yet: the same 404 as an unknown citizen.
    r = await client.put(url, json={"groups": ["nguoi_co_cong"]}, headers=desk)
    assert r.status_code == 404, r.text

    # The desk books a visit for the citizen (its task): no group on file, no exemption, the charge is due.
    first = await _book(client, desk, lat, lon, citizen_phone=PHONE)
    assert first["fees"]["charge"] == 75000 and first["fees"]["exempted"] == 0
    assert first["fees"]["exemption"] is None

    # Couriers may not; another desk has no task; bad codes are refused; nothing is stored.
    courier = await staff_headers(client, "courier07")
    assert (await client.put(url, json={"groups": ["nguoi_co_cong"]}, headers=courier)).status_code == 403
    other = await staff_headers(client, OTHER_DESK)
    assert (await client.put(url, json={"groups": ["nguoi_co_cong"]}, headers=other)).status_code == 404
    for bad in (["Người có công"], ["a" * 41], [""], ["x"] * 11, "nguoi_co_cong", None):
        r = await client.put(url, json={"groups": bad}, headers=desk)
        assert r.status_code == 400 and r.json()["code"] == "validation", (bad, r.text)
    assert (await profile(client, PHONE))["exempt_groups"] == []

    r = await client.put(url, json={"groups": ["nguoi_co_cong", "nguoi_co_cong"]}, headers=desk)
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["groups"] == ["nguoi_co_cong"] and view["verified_at"] is not None
    assert view["citizen_id"] == who and view["verified_by"] is not None
    assert (await profile(client, PHONE))["exempt_groups"] == ["nguoi_co_cong"]
    events = [e for e in await account_events(engine, who) if e.code == "exempt_groups_set"]
    assert (
        len(events) == 1 and events[0].actor_role == "desk" and events[0].data["groups"] == ["nguoi_co_cong"]
    )

    # The citizen's own next booking is quoted with the exemption, and the ledger posts it with its basis.
    second = await _book(client, await citizen_headers(client, PHONE), lat, lon)
    fees = second["fees"]
    assert fees["exempted"] == fees["fee"] + fees["charge"] == 75000 and fees["total"] == fees["postal"]
    assert fees["exemption"]["code"] == CODE and "HĐND" in fees["exemption"]["legal_basis"]
    async with session_factory(engine)() as s:
        appt = await s.get(Appointment, uuid.UUID(second["id"]))
        assert appt is not None
        await dues.post_due(s, appt, actor_id=None, actor_role="system")
        await s.commit()
        txn = await ledger.find(s, f"exempt:{appt.id}")
        assert txn is not None and txn.kind == "exempted" and "HĐND" in (txn.memo or "")
        assert await ledger.balance(s, accounts.exempt(CODE)) == 75000
        before = await s.get(Appointment, uuid.UUID(first["id"]))
        assert before is not None
        await dues.post_due(s, before, actor_id=None, actor_role="system")
        await s.commit()
        assert await ledger.find(s, f"exempt:{before.id}") is None  # the first booking stays unexempted
        assert await ledger.balance(s, accounts.exempt(CODE)) == 75000

    # An admin clears them; later quotes are full again.
    r = await client.put(url, json={"groups": []}, headers=admin)
    assert r.status_code == 200 and r.json()["groups"] == []
    assert (await profile(client, PHONE))["exempt_groups"] == []
