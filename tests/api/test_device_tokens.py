"""Issue 17, item 16: registering another account's FCM token does not move it (a victim's pushes never reach
the attacker's registration, nor the attacker's the victim's device)."""

import asyncio
import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import session_factory
from notifications.devices import list_devices
from tests.conftest import citizen_headers, staff_headers


async def _owned(engine: AsyncEngine, kind: str, owner: str) -> set[str]:
    """The tokens the dispatcher pushes an owner's notifications to (it looks targets up by owner)."""
    async with session_factory(engine)() as session:
        return {d.token for d in await list_devices(session, owner_kind=kind, owner_id=uuid.UUID(owner))}


async def test_a_registered_token_is_not_moved_to_another_account(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    victim = await citizen_headers(client, "+84900000071")
    attacker = await citizen_headers(client, "+84900000072")
    victim_id = (await client.get("/api/v1/me", headers=victim)).json()["id"]
    attacker_id = (await client.get("/api/v1/me", headers=attacker)).json()["id"]
    token = "fcm-victim-" + uuid.uuid4().hex
    own = "fcm-attacker-" + uuid.uuid4().hex
    assert (
        await client.post("/api/v1/devices", json={"token": token, "platform": "android"}, headers=victim)
    ).status_code == 201
    assert (
        await client.post("/api/v1/devices", json={"token": own, "platform": "ios"}, headers=attacker)
    ).status_code == 201

    # The attacker (a citizen, or a staff account) registers the victim's token: refused, nothing changes.
    for who in (attacker, await staff_headers(client, "courier03")):
        r = await client.post("/api/v1/devices", json={"token": token, "platform": "android"}, headers=who)
        assert r.status_code == 409, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"].endswith("device_token_in_use")
    # ... nor can the victim be made to take the attacker's (the same rule both ways).
    r = await client.post("/api/v1/devices", json={"token": own, "platform": "ios"}, headers=victim)
    assert r.status_code == 409
    assert await _owned(engine, "citizen", victim_id) == {token}
    assert await _owned(engine, "citizen", attacker_id) == {own}
    assert (await client.delete(f"/api/v1/devices/{token}", headers=attacker)).status_code == 404

    # The victim refreshing their own registration still works.
    r = await client.post(
        "/api/v1/devices", json={"token": token, "platform": "android", "app_version": "2.0"}, headers=victim
    )
    assert r.status_code == 201 and r.json()["app_version"] == "2.0"
    assert await _owned(engine, "citizen", victim_id) == {token}


async def test_two_accounts_racing_for_one_new_token_one_wins(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    a = await citizen_headers(client, "+84900000073")
    b = await citizen_headers(client, "+84900000074")
    ids = [(await client.get("/api/v1/me", headers=h)).json()["id"] for h in (a, b)]
    # Several rounds: the same account's two requests at once must both succeed (they used to meet the unique
    # constraint at commit, a 409 for the owner itself, now and then).
    for _ in range(8):
        token = "fcm-race-" + uuid.uuid4().hex
        body = {"token": token, "platform": "android"}
        order = (a, b, a, b)
        rs = await asyncio.gather(*(client.post("/api/v1/devices", json=body, headers=h) for h in order))
        assert sorted({r.status_code for r in rs}) == [201, 409], [r.text for r in rs]
        owners = [i for i in ids if token in await _owned(engine, "citizen", i)]
        assert len(owners) == 1
        winner = a if owners[0] == ids[0] else b
        answers = [
            (r.status_code, r.json()["type"].rsplit("/", 1)[-1] if r.status_code == 409 else None) for r in rs
        ]
        expected = [(201, None) if h is winner else (409, "device_token_in_use") for h in order]
        assert answers == expected, [r.text for r in rs]
