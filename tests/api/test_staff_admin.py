"""Admins manage staff accounts; an office's dispatchers set its couriers' shifts, which booking counts."""

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import session_factory
from backend.planning import clock
from backend.planning.problem_builder import couriers_on_shift
from routing import Break
from tests.api.test_booking_flow import place_of, slots
from tests.conftest import staff_headers

PO = 7  # 82-BD-08: dispatcher08


async def _login(client: httpx.AsyncClient, username: str, password: str) -> int:
    r = await client.post("/api/v1/auth/staff/login", json={"username": username, "password": password})
    return r.status_code


async def test_admin_creates_and_disables_a_courier_and_booking_counts_it(
    client: httpx.AsyncClient, demo: Any
) -> None:
    po = demo.post_offices[PO]
    admin = await staff_headers(client, "admin")
    lat, lon = place_of(demo, PO)
    before = {s["start"]: s["remaining"] for s in (await slots(client, lat, lon))["items"]}
    name = f"courier-new-{uuid.uuid4().hex[:6]}"
    body = {
        "username": name,
        "full_name": "Nguyễn Văn Mới",
        "role": "courier",
        "organisation": po.code,
        "password": "mat-khau-dai-1",
    }

    for who in ("dispatcher08", "desk01"):
        assert (
            await client.post("/api/v1/staff", json=body, headers=await staff_headers(client, who))
        ).status_code == 403
    assert (
        await client.post("/api/v1/staff", json={**body, "password": "short"}, headers=admin)
    ).status_code == 400
    wrong_org = await client.post(
        "/api/v1/staff", json={**body, "organisation": f"82-MC-{po.commune_code}"}, headers=admin
    )
    assert wrong_org.status_code == 422 and wrong_org.json()["type"].endswith("role_org_mismatch")

    r = await client.post("/api/v1/staff", json=body, headers=admin)
    assert r.status_code == 201, r.text
    user = r.json()
    assert user["organisation_code"] == po.code and user["active"] is True
    assert (await client.post("/api/v1/staff", json=body, headers=admin)).status_code == 409
    assert await _login(client, name, "mat-khau-dai-1") == 200
    token = (
        await client.post("/api/v1/auth/staff/login", json={"username": name, "password": "mat-khau-dai-1"})
    ).json()["access_token"]
    courier = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/me", headers=courier)).status_code == 200

    # A courier more on shift: every weekday window of that office has room for more visits.
    after = {s["start"]: s["remaining"] for s in (await slots(client, lat, lon))["items"]}
    assert sum(after.values()) > sum(before.values())

    r = await client.patch(f"/api/v1/staff/{user['id']}", json={"active": False}, headers=admin)
    assert r.status_code == 200 and r.json()["active"] is False
    assert await _login(client, name, "mat-khau-dai-1") == 401
    # The token it already had stops working too, without waiting for it to expire.
    r = await client.get("/api/v1/couriers/me/route", headers=courier)
    assert r.status_code == 401 and r.json()["type"].endswith("account_changed")
    restored = {s["start"]: s["remaining"] for s in (await slots(client, lat, lon))["items"]}
    assert restored == before


async def test_staff_lists_are_scoped_to_the_callers_organisation(
    client: httpx.AsyncClient, demo: Any
) -> None:
    po = demo.post_offices[PO]
    own = await client.get("/api/v1/staff", headers=await staff_headers(client, "dispatcher08"))
    assert own.status_code == 200
    assert {u["organisation_code"] for u in own.json()["items"]} == {po.code}
    couriers = await client.get(
        "/api/v1/staff", params={"role": "courier"}, headers=await staff_headers(client, "admin")
    )
    assert couriers.json()["total"] >= 24 and {u["role"] for u in couriers.json()["items"]} == {"courier"}
    assert (
        await client.get("/api/v1/staff", headers=await staff_headers(client, "courier01"))
    ).status_code == 403


async def test_dispatcher_sets_own_couriers_shifts_only(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    po = demo.post_offices[PO]
    admin = await staff_headers(client, "admin")
    listed = await client.get(
        "/api/v1/staff", params={"role": "courier", "org": po.code, "active": "true"}, headers=admin
    )
    courier = listed.json()["items"][0]
    url = f"/api/v1/couriers/{courier['id']}/profile"
    own = await staff_headers(client, "dispatcher08")
    original = (await client.get(url, headers=own)).json()
    # Read in the form the API writes (the demo stores one flat span a day), so it can be written back.
    assert original["shifts"] and all(isinstance(v[0], list) for v in original["shifts"].values())
    profile = {
        "vehicle": "motorbike",
        "capacity_items": 30,
        "capacity_kg": 20,
        "shifts": {"1": [["13:00", "17:00"], ["07:30", "11:30"]], "6": [["07:30", "11:30"]]},
        "skills": ["fees", "assisted"],
    }
    assert (
        await client.put(url, json=profile, headers=await staff_headers(client, "dispatcher01"))
    ).status_code == 404
    me = await staff_headers(client, courier["username"])
    assert (await client.get(url, headers=me)).status_code == 200
    assert (await client.put(url, json=profile, headers=me)).status_code == 403
    for shifts in (
        {"8": [["07:00", "09:00"]]},
        {"1": [["09:00", "08:00"]]},
        {"1": [["07:00", "10:00"], ["09:00", "11:00"]]},
        {"1": [["7h", "9h"]]},
    ):
        r = await client.put(url, json={**profile, "shifts": shifts}, headers=own)
        assert r.status_code == 422 and r.json()["type"].endswith("invalid_shifts"), shifts
    r = await client.put(url, json={**profile, "skills": ["juggling"]}, headers=own)
    assert r.status_code == 422 and r.json()["allowed"] == ["assisted", "fees"]

    try:
        r = await client.put(url, json=profile, headers=own)
        assert r.status_code == 200, r.text
        assert r.json()["shifts"] == {
            "1": [["07:30", "11:30"], ["13:00", "17:00"]],
            "6": [["07:30", "11:30"]],
        }
        assert (await client.get(url, headers=own)).json()["capacity_items"] == 30
        # Planning reads the split shift written through the API: on from 07:30 to 17:00, off in between.
        monday = date.today() + timedelta(days=7 - date.today().weekday())
        async with session_factory(engine)() as session:
            on_shift = {c.courier_id: c for c in await couriers_on_shift(session, po, monday)}
        info = on_shift[uuid.UUID(courier["id"])]
        assert (info.shift_start, info.shift_end) == (clock.at(monday, 27_000), clock.at(monday, 61_200))
        assert info.breaks == (Break(duration=5_400, earliest_start=41_400, latest_start=41_400),)
    finally:
        keep = {
            k: original[k]
            for k in ("vehicle", "capacity_items", "capacity_kg", "shifts", "skills", "home_lat", "home_lon")
        }
        assert (await client.put(url, json=keep, headers=admin)).status_code == 200
