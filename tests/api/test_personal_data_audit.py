"""Issue 17, item 8: ``GET /citizens/{id}`` shows staff only what their organisation's task for the citizen
needs (else 404), and every staff read of a citizen's personal data is audited (Decree 13/2023/NĐ-CP): the
admin lists the audit, the citizen sees who read their data."""

import uuid
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from backend.db import session_factory
from schemas.dossiers import Dossier
from tests.api.test_booking_flow import free_windows, pickup, place_of
from tests.api.test_custody_journey import pickup as home_pickup
from tests.conftest import citizen_headers, staff_headers

PHONE = "+84920000076"  # not a demo citizen: no other test gives staff a task for them
PO = 2  # 82-BD-03: dispatcher03


def user_of(demo: Any, org_id: uuid.UUID, role: str) -> str:
    return next(u for u, s in demo.staff.items() if s.organisation_id == org_id and s.role == role)


async def audit(client: httpx.AsyncClient, **q: Any) -> list[dict[str, Any]]:
    r = await client.get(
        "/api/v1/audit/personal-data",
        params={"limit": 500, **q},
        headers=await staff_headers(client, "admin"),
    )
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def test_citizen_record_is_scoped_by_task_and_every_read_is_audited(
    client: httpx.AsyncClient, demo: Any
) -> None:
    citizen = await citizen_headers(client, PHONE)
    cid = (await client.get("/api/v1/me", headers=citizen)).json()["id"]
    url = f"/api/v1/citizens/{cid}"
    lat, lon = place_of(demo, PO)
    r = await client.post(
        "/api/v1/me/addresses", json={"address": "Số 9 đường Thử", "lat": lat, "lon": lon}, headers=citizen
    )
    assert r.status_code == 201, r.text

    # Nobody on the staff has a task for this citizen yet: 404 for all but the admin, nothing audited.
    for who in ("dispatcher03", "dispatcher04", "desk01", "desk02", "agency01", "courier05"):
        r = await client.get(url, headers=await staff_headers(client, who))
        assert r.status_code == 404, (who, r.text)
    assert await audit(client, citizen_id=cid) == []
    # A stranger's id and another citizen's id look the same.
    other = await citizen_headers(client, "+84920000077")  # nobody else reads this one either
    assert (await client.get(url, headers=other)).status_code == 404

    # A booked home visit: the serving post office's dispatcher sees name, phone and addresses.
    start = (await free_windows(client, lat, lon))[0]
    r = await client.post("/api/v1/appointments", json=pickup(lat, lon, start), headers=citizen)
    assert r.status_code == 201, r.text
    appointment = r.json()["id"]
    dispatcher = await staff_headers(client, "dispatcher03")
    assert demo.staff["dispatcher03"].organisation_id == demo.post_offices[PO].id
    r = await client.get(url, headers={**dispatcher, "X-Purpose": quote("Gọi xác nhận lịch hẹn")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["phone"] == PHONE and lat in {a["lat"] for a in body["addresses"]}
    assert set(body["fields"]) == {"full_name", "phone", "addresses"}
    # Another office's dispatcher and a courier still get nothing.
    for who in ("dispatcher04", "courier05", "courier06"):
        assert (await client.get(url, headers=await staff_headers(client, who))).status_code == 404

    # A dossier picked up at home: its one-stop desk sees name and phone, not the home address.
    dossier = await home_pickup(client, PHONE)
    desk_org = next(
        o for o in [demo.provincial_desk, *demo.commune_desks.values()] if o and o.code == dossier["desk"]
    )
    desk_user = user_of(demo, desk_org.id, "desk")
    desk = await staff_headers(client, desk_user)
    r = await client.get(url, params={"purpose": "Hẹn trả kết quả"}, headers=desk)
    assert r.status_code == 200, r.text
    assert r.json()["phone"] == PHONE and r.json()["addresses"] == []
    assert set(r.json()["fields"]) == {"full_name", "phone"}
    # The desk reading the dossier sees the citizen's phone there too: audited with the dossier's id.
    r = await client.get(f"/api/v1/dossiers/{dossier['item_id']}", headers=desk)
    assert r.status_code == 200 and r.json()["citizen"]["phone"] == PHONE
    # The dispatcher reading the appointment: audited with the appointment's id.
    r = await client.get(f"/api/v1/appointments/{appointment}", headers=dispatcher)
    assert r.status_code == 200 and r.json()["citizen_phone"] == PHONE
    # The admin reads everything, and is audited too.
    r = await client.get(url, headers=await staff_headers(client, "admin"))
    assert r.status_code == 200 and r.json()["phone"] == PHONE

    rows = await audit(client, citizen_id=cid)
    by = {(r["staff_id"], r["route"], r["resource"]): r for r in rows}
    dispatcher_id = str(demo.staff["dispatcher03"].id)
    desk_id = str(demo.staff[desk_user].id)
    read = by[(dispatcher_id, "GET /api/v1/citizens/{citizen_id}", None)]
    assert read["fields"] == ["addresses", "full_name", "phone"] or read["fields"] == ["addresses", "phone"]
    assert read["purpose"] == "Gọi xác nhận lịch hẹn" and read["staff_role"] == "dispatcher"
    assert read["staff_org"] == demo.post_offices[PO].code and read["client_ip"] == "127.0.0.1"
    assert read["citizen_id"] == cid and read["at"]
    assert by[(desk_id, "GET /api/v1/citizens/{citizen_id}", None)]["purpose"] == "Hẹn trả kết quả"
    assert "phone" in by[(desk_id, "GET /api/v1/dossiers/{item_id}", dossier["item_id"])]["fields"]
    assert {"phone", "location"} <= set(
        by[(dispatcher_id, "GET /api/v1/appointments/{appointment_id}", appointment)]["fields"]
    )
    assert any(r["staff_role"] == "admin" for r in rows)
    # Refused reads left no row; the filters work.
    assert {r["staff_id"] for r in rows} <= {
        dispatcher_id,
        desk_id,
        str(demo.staff["admin"].id),
        str(demo.staff["courier01"].id),
    }
    assert {r["staff_id"] for r in await audit(client, citizen_id=cid, staff_id=desk_id)} == {desk_id}
    assert await audit(client, citizen_id=cid, **{"from": "2020-01-01", "to": "2020-01-02"}) == []

    # Only an admin lists the audit.
    for who in ("dispatcher03", desk_user, "agency01", "courier01"):
        r = await client.get("/api/v1/audit/personal-data", headers=await staff_headers(client, who))
        assert r.status_code == 403
    assert (await client.get("/api/v1/audit/personal-data", headers=citizen)).status_code == 403
    assert (await client.get("/api/v1/audit/personal-data")).status_code == 401

    # The citizen sees which organisations read what, when and why, without staff accounts or addresses.
    r = await client.get("/api/v1/citizens/me/data-access", params={"limit": 100}, headers=citizen)
    assert r.status_code == 200, r.text
    mine = r.json()["items"]
    assert r.json()["total"] == len(rows)
    assert {(m["organisation"] or {}).get("code") for m in mine} >= {
        demo.post_offices[PO].code,
        desk_org.code,
    }
    assert any(m["purpose"] == "Gọi xác nhận lịch hẹn" for m in mine)
    assert all("staff_id" not in m and "client_ip" not in m for m in mine)
    # ... and only their own.
    assert (await client.get("/api/v1/citizens/me/data-access", headers=other)).json()["total"] == 0
    r = await client.get("/api/v1/citizens/me/data-access", headers=dispatcher)
    assert r.status_code == 403


async def test_agency_sees_a_masked_phone_and_bad_queries_are_4xx(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    phone = "+84900000079"
    item = (await home_pickup(client, phone, courier="courier03"))["item_id"]
    cid = (await client.get("/api/v1/me", headers=await citizen_headers(client, phone))).json()["id"]
    agency = demo.staff["agency01"].organisation_id
    url = f"/api/v1/citizens/{cid}"
    assert (await client.get(url, headers=await staff_headers(client, "agency01"))).status_code == 404
    async with session_factory(engine)() as session:  # the dossier is assigned to agency01's agency
        await session.execute(update(Dossier).where(col(Dossier.item_id) == item).values(agency_id=agency))
        await session.commit()
    r = await client.get(url, headers=await staff_headers(client, "agency01"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["phone"] is None and body["addresses"] == [] and body["phone_masked"].endswith(phone[-3:])
    assert "•" in body["phone_masked"] and phone[5:9] not in body["phone_masked"]
    (row,) = await audit(client, citizen_id=cid, staff_id=str(demo.staff["agency01"].id))
    assert "phone_masked" in row["fields"] and "phone" not in row["fields"]
    # Another agency still gets nothing.
    assert (await client.get(url, headers=await staff_headers(client, "agency02"))).status_code == 404

    admin = await staff_headers(client, "admin")
    for q in ({"citizen_id": "nope"}, {"from": "9999-99-99"}, {"to": "1900-01-01"}, {"limit": 0}):
        r = await client.get("/api/v1/audit/personal-data", params=q, headers=admin)
        assert 400 <= r.status_code < 500, (q, r.text)
    assert (await client.get(f"/api/v1/citizens/{uuid.uuid4()}", headers=admin)).status_code == 404
