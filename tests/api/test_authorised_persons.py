"""Authorised persons (giấy ủy quyền, issue 20): a citizen registers a person with the photo of the signed
letter, lists and revokes; bad input is a clear 4xx and stores nothing; each change is an account event that
names the authorisation, never the number; the letter is served only to its owner and to staff whose task needs
it; a desk clerk verifies the person's card at the counter."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import func, select

from backend.db import session_factory
from schemas.dossiers import ProofFile
from tests.api.identity_support import (
    COURIER,
    DESK,
    OTHER_DESK,
    account_events,
    authorisation_count,
    authorise,
    citizen_id,
    failures,
    to_the_desk,
    vn_today,
)
from tests.api.test_custody_journey import png_bytes
from tests.conftest import citizen_headers, staff_headers

PHONE, OTHER = "+84920000074", "+84920000075"
PERSON = "087090004321"


async def _proofs(engine: AsyncEngine) -> int:
    async with session_factory(engine)() as s:
        return int((await s.exec(select(func.count()).select_from(ProofFile))).one())


async def test_register_list_and_revoke(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    me = await citizen_headers(client, PHONE)
    who = await citizen_id(client, PHONE)
    r = await authorise(client, PHONE)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["full_name"] == "Nguyễn Văn Nam" and made["relationship"] == "spouse"
    assert made["national_id"] == PERSON and made["national_id_masked"] == "0**********1"
    assert made["state"] == "valid" and made["dossier"] is None and made["verified_at"] is None
    assert made["letter"] == f"/api/v1/authorisations/{made['id']}/letter"
    later = await authorise(
        client,
        PHONE,
        full_name="Trần Thị Bé",
        relationship="child",
        national_id="087300000111",
        valid_from=(vn_today() + timedelta(days=3)).isoformat(),
    )
    assert later.status_code == 201 and later.json()["state"] == "not_yet_valid"
    listed = (await client.get("/api/v1/citizens/me/authorisations", headers=me)).json()["items"]
    assert [a["id"] for a in listed] == [later.json()["id"], made["id"]]
    # The letter is the owner's to read.
    r = await client.get(made["letter"], headers=me)
    assert r.status_code == 200 and r.content == png_bytes()
    assert r.headers["content-type"] == "image/png" and "no-store" in r.headers["cache-control"]
    # Another citizen can neither read nor revoke it.
    other = await citizen_headers(client, OTHER)
    assert (await client.get(made["letter"], headers=other)).status_code == 404
    url = f"/api/v1/authorisations/{made['id']}/revoke"
    assert (await client.post(url, headers=other)).status_code == 404
    r = await client.post(url, headers=me)
    assert r.status_code == 200 and r.json()["state"] == "revoked" and r.json()["revoked_at"]
    again = await client.post(url, headers=me)
    assert again.status_code == 200 and again.json()["revoked_at"] == r.json()["revoked_at"]
    assert (await client.post(f"/api/v1/authorisations/{uuid.uuid4()}/revoke", headers=me)).status_code == 404
    evs = [e for e in await account_events(engine, who) if e.code.startswith("authorisation_")]
    assert [e.code for e in evs] == ["authorisation_added", "authorisation_added", "authorisation_revoked"]
    assert {e.data["authorisation_id"] for e in evs} == {made["id"], later.json()["id"]}
    assert all(PERSON not in str(e.data) and e.actor_role == "citizen" and e.client_ip for e in evs)


async def test_bad_registrations_store_nothing(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    who = await citizen_id(client, OTHER)
    before, files = await authorisation_count(engine, who), await _proofs(engine)
    today = vn_today()
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"national_id": "003090001234"}, 422, "invalid_national_id"),
        ({"national_id": "087499001234"}, 422, "invalid_national_id"),
        ({"national_id": "1234"}, 422, "invalid_national_id"),
        ({"valid_until": (today - timedelta(days=1)).isoformat()}, 422, "invalid_validity"),
        (
            {"valid_from": today.isoformat(), "valid_until": (today + timedelta(days=6 * 365)).isoformat()},
            422,
            "invalid_validity",
        ),
        (
            {
                "valid_from": (today + timedelta(days=5)).isoformat(),
                "valid_until": (today + timedelta(days=2)).isoformat(),
            },
            422,
            "invalid_validity",
        ),
        ({"relationship": "boss"}, 400, "validation"),
        ({"valid_from": "tomorrow"}, 400, "validation"),
        ({"full_name": ""}, 400, "validation"),
        ({"dossier": "not-an-id"}, 422, "invalid_item_id"),
        ({"dossier": "HS000000000VN"}, 422, "invalid_item_id"),
    ]
    for fields, status, code in cases:
        r = await authorise(client, OTHER, **fields)
        assert r.status_code == status and r.json()["code"] == code, (fields, r.text)
    # Another citizen's dossier: the same 404 as an unknown one.
    foreign = await to_the_desk(client, demo, PHONE)
    r = await authorise(client, OTHER, dossier=foreign)
    assert r.status_code == 404, r.text
    r = await authorise(client, OTHER, with_letter=False)
    assert r.status_code in (400, 422), r.text
    r = await authorise(client, OTHER, letter=b"#!/bin/sh\necho not an image\n")
    assert r.status_code == 415 and r.json()["code"] == "bad_type"
    r = await authorise(client, OTHER, letter=b"")
    assert r.status_code in (400, 422)
    r = await authorise(client, OTHER, letter=b"\x89PNG\r\n\x1a\n" + b"0" * (5 * 1024 * 1024 + 1))
    assert r.status_code == 413
    assert await authorisation_count(engine, who) == before
    assert await _proofs(engine) == files
    # Staff cannot register for a citizen.
    r = await client.post(
        "/api/v1/citizens/me/authorisations",
        headers=await staff_headers(client, DESK),
        files={"letter": ("l.png", png_bytes(), "image/png")},
    )
    assert r.status_code == 403


async def test_the_desk_verifies_an_authorisation(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    phone = "+84920000062"
    who = await citizen_id(client, phone)
    made = (await authorise(client, phone)).json()
    verify = f"/api/v1/authorisations/{made['id']}/verify"
    desk = await staff_headers(client, DESK)
    # No task for the citizen yet: 404 for the letter and the check alike.
    assert (await client.get(made["letter"], headers=desk)).status_code == 404
    assert (await client.post(verify, json={"national_id": PERSON}, headers=desk)).status_code == 404
    await to_the_desk(client, demo, phone)
    r = await client.get(made["letter"], headers=desk)
    assert r.status_code == 200 and r.content == png_bytes()
    other = await staff_headers(client, OTHER_DESK)
    assert (await client.get(made["letter"], headers=other)).status_code == 404
    assert (await client.post(verify, json={"national_id": PERSON}, headers=other)).status_code == 404
    courier = await staff_headers(client, COURIER)  # carries nothing of the citizen's out for delivery
    assert (await client.get(made["letter"], headers=courier)).status_code == 404
    assert (await client.post(verify, json={"national_id": PERSON}, headers=courier)).status_code == 403
    r = await client.post(verify, json={"national_id": "087090004322"}, headers=desk)
    assert r.status_code == 422 and r.json()["code"] == "national_id_mismatch"
    assert await failures(engine, who, "authorisation") == 1
    r = await client.post(verify, json={"national_id": PERSON}, headers=desk)
    assert r.status_code == 200, r.text
    assert r.json()["verified_at"] and r.json()["national_id"] is None and PERSON not in r.text
    assert r.json()["national_id_masked"] == "0**********1"
    evs = [e for e in await account_events(engine, who) if e.code == "authorisation_verified"]
    assert len(evs) == 1 and evs[0].actor_role == "desk" and evs[0].data["authorisation_id"] == made["id"]
    # The citizen sees it verified; once revoked it cannot be verified again.
    me = await citizen_headers(client, phone)
    mine = (await client.get("/api/v1/citizens/me/authorisations", headers=me)).json()["items"]
    assert mine[0]["verified_at"] is not None
    assert (await client.post(f"/api/v1/authorisations/{made['id']}/revoke", headers=me)).status_code == 200
    r = await client.post(verify, json={"national_id": PERSON}, headers=desk)
    assert r.status_code == 409 and r.json()["code"] == "authorisation_revoked"
