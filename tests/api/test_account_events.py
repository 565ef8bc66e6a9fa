"""Account changes write event rows in the same transaction (who, when, from where), never a secret; admins
read a staff account's at ``GET /staff/{id}/events``."""

import json
import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.db import session_factory
from schemas.account_events import AccountEvent
from schemas.accounts import Citizen
from tests.conftest import citizen_headers, staff_headers

PO = 5  # 82-BD-06
PASSWORD = "mat-khau-dai-1"
NEW_PASSWORD = "mat-khau-moi-2"


def _events(r: httpx.Response) -> list[dict[str, Any]]:
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def _no_secret(items: list[dict[str, Any]], *secrets: str) -> None:
    """No password, hash or token in ``data``: neither as a key nor as a value (an Argon2 hash starts
    ``$argon2``)."""
    for item in items:
        assert not {k for k in item["data"] if "password" in k or "hash" in k or "token" in k}, item
    text = json.dumps([i["data"] for i in items])
    for word in ("$argon2", "Bearer", *secrets):
        assert word not in text, (word, text)


async def test_staff_changes_are_events_with_actor_and_no_secret(
    client: httpx.AsyncClient, demo: Any
) -> None:
    po = demo.post_offices[PO]
    admin = await staff_headers(client, "admin")
    admin_id = demo.staff["admin"].id
    desk_org = f"82-MC-{po.commune_code}"
    agency = next(iter(demo.agencies.values()))
    name = f"desk-ev-{uuid.uuid4().hex[:6]}"
    body = {"username": name, "full_name": "Trần Thị Sự Kiện", "role": "desk", "organisation": desk_org}
    r = await client.post("/api/v1/staff", json={**body, "password": PASSWORD}, headers=admin)
    assert r.status_code == 201, r.text
    user_id = r.json()["id"]
    url = f"/api/v1/staff/{user_id}/events"

    created = _events(await client.get(url, headers=admin))
    assert [e["code"] for e in created] == ["created"]
    assert created[0]["actor_id"] == str(admin_id) and created[0]["actor_role"] == "admin"
    assert created[0]["account_kind"] == "staff" and created[0]["account_id"] == user_id
    assert created[0]["client_ip"] == "127.0.0.1" and created[0]["data"]["role"] == "desk"

    # A change that fails validation (an agency role in a desk organisation) writes nothing.
    r = await client.patch(f"/api/v1/staff/{user_id}", json={"role": "agency"}, headers=admin)
    assert r.status_code == 422, r.text
    r = await client.patch(f"/api/v1/staff/{user_id}", json={"password": "short"}, headers=admin)
    assert r.status_code == 400, r.text
    assert len(_events(await client.get(url, headers=admin))) == 1

    r = await client.patch(
        f"/api/v1/staff/{user_id}", json={"role": "agency", "organisation": agency.code}, headers=admin
    )
    assert r.status_code == 200, r.text
    r = await client.patch(
        f"/api/v1/staff/{user_id}", json={"password": NEW_PASSWORD, "phone": "0912000119"}, headers=admin
    )
    assert r.status_code == 200, r.text
    r = await client.patch(f"/api/v1/staff/{user_id}", json={"active": False}, headers=admin)
    assert r.status_code == 200, r.text
    r = await client.patch(f"/api/v1/staff/{user_id}", json={"active": True}, headers=admin)
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/staff/{user_id}/revoke-sessions", headers=admin)
    assert r.status_code == 204, r.text
    # Nothing changes: no event.
    r = await client.patch(f"/api/v1/staff/{user_id}", json={"full_name": body["full_name"]}, headers=admin)
    assert r.status_code == 200, r.text

    items = _events(await client.get(url, headers=admin))
    codes = sorted(e["code"] for e in items)
    assert codes == sorted(
        [
            "created",
            "role_changed",
            "organisation_changed",
            "sessions_revoked",  # role and organisation
            "password_changed",
            "updated",  # the phone
            "sessions_revoked",  # the password
            "disabled",
            "sessions_revoked",  # disabled
            "enabled",
            "sessions_revoked",  # the admin's
        ]
    ), codes
    by_code = {e["code"]: e for e in items}
    assert by_code["role_changed"]["data"] == {"from": "desk", "to": "agency"}
    assert by_code["organisation_changed"]["data"]["to"] == str(agency.id)
    assert by_code["updated"]["data"] == {"fields": ["phone"]}
    assert by_code["password_changed"]["data"] == {}
    becauses = sorted(tuple(e["data"]["because"]) for e in items if e["code"] == "sessions_revoked")
    assert becauses == sorted(
        [("role_changed", "organisation_changed"), ("password_changed",), ("disabled",), ("admin",)]
    )
    assert all(e["actor_id"] == str(admin_id) and e["client_ip"] == "127.0.0.1" for e in items)
    _no_secret(items, PASSWORD, NEW_PASSWORD, "0912000119", "912000119")
    assert [e["at"] for e in items] == sorted((e["at"] for e in items), reverse=True)  # newest first

    # Paged like other listings; an unknown account is a 404.
    r = await client.get(url, params={"limit": 2, "offset": 1}, headers=admin)
    assert r.status_code == 200 and r.json()["total"] == 11 and len(r.json()["items"]) == 2
    assert (await client.get(f"/api/v1/staff/{uuid.uuid4()}/events", headers=admin)).status_code == 404

    # The account signing itself out everywhere: its own event.
    r = await client.post("/api/v1/auth/staff/login", json={"username": name, "password": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    own = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert (await client.post("/api/v1/auth/logout-all", headers=own)).status_code == 204
    last = _events(await client.get(url, params={"limit": 1}, headers=admin))[0]
    assert last["code"] == "signed_out_everywhere"
    assert last["actor_id"] == user_id and last["actor_role"] == "agency"
    token = own["Authorization"].split()[1]
    _no_secret(_events(await client.get(url, headers=admin)), token, token.split(".")[-1])


async def test_courier_profile_change_is_an_event(client: httpx.AsyncClient, demo: Any) -> None:
    po = demo.post_offices[PO]
    admin = await staff_headers(client, "admin")
    body = {
        "username": f"courier-ev-{uuid.uuid4().hex[:6]}",
        "full_name": "Lê Văn Ca",
        "role": "courier",
        "organisation": po.code,
        "password": PASSWORD,
    }
    r = await client.post("/api/v1/staff", json=body, headers=admin)
    assert r.status_code == 201, r.text
    user_id = r.json()["id"]
    dispatcher = await staff_headers(client, f"dispatcher{PO + 1:02d}")
    profile = {
        "vehicle": "motorbike",
        "capacity_items": 40,
        "capacity_kg": 30.0,
        "shifts": {},
        "skills": ["fees"],
    }
    # Refused input writes nothing.
    bad = await client.put(
        f"/api/v1/couriers/{user_id}/profile", json={**profile, "skills": ["flying"]}, headers=dispatcher
    )
    assert bad.status_code == 422, bad.text
    r = await client.put(f"/api/v1/couriers/{user_id}/profile", json=profile, headers=dispatcher)
    assert r.status_code == 200, r.text
    # The same profile again changes nothing: no event.
    r = await client.put(f"/api/v1/couriers/{user_id}/profile", json=profile, headers=dispatcher)
    assert r.status_code == 200, r.text
    items = _events(await client.get(f"/api/v1/staff/{user_id}/events", headers=admin))
    assert [e["code"] for e in items] == ["courier_profile_changed", "created"]
    changed = items[0]
    assert changed["data"] == {"fields": ["shifts"]}
    assert changed["actor_id"] == str(demo.staff[f"dispatcher{PO + 1:02d}"].id)
    assert changed["actor_role"] == "dispatcher"


async def test_citizen_logout_all_is_an_event(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    phone = "+84920000041"  # no other test signs this citizen in
    r = await client.post("/api/v1/auth/citizen/verify", json={"phone": phone, "code": "123456"})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert (
        await client.post("/api/v1/auth/logout-all", headers={"Authorization": f"Bearer {token}"})
    ).status_code == 204
    async with session_factory(engine)() as session:
        citizen = (await session.exec(select(Citizen).where(Citizen.phone == phone))).one()
        rows = (
            await session.exec(
                select(AccountEvent)
                .where(AccountEvent.account_id == citizen.id)
                .order_by(col(AccountEvent.at).desc())
            )
        ).all()
    assert [e.code for e in rows] == ["signed_out_everywhere", "created"]  # a first sign-in made the account
    assert rows[1].actor_id == citizen.id and rows[1].data == {"via": "sign-in"}
    event = rows[0]
    assert event.code == "signed_out_everywhere" and event.account_kind == "citizen"
    assert event.actor_id == citizen.id and event.actor_role == "citizen"
    assert event.client_ip == "127.0.0.1" and token not in json.dumps(event.data)


async def test_only_admins_read_account_events(client: httpx.AsyncClient, demo: Any) -> None:
    target = demo.staff[f"courier{2 * PO + 1:02d}"].id
    for who in (f"dispatcher{PO + 1:02d}", f"courier{2 * PO + 1:02d}", "desk01", "agency01"):
        r = await client.get(f"/api/v1/staff/{target}/events", headers=await staff_headers(client, who))
        assert r.status_code == 403, (who, r.status_code)
    citizen = await citizen_headers(client, "+84900000011")
    assert (await client.get(f"/api/v1/staff/{target}/events", headers=citizen)).status_code == 403
    assert (await client.get(f"/api/v1/staff/{target}/events")).status_code == 401
