"""A citizen's profile and national id (issue 20): edited by the citizen, checked against the CCCD structure
(Circular 59/2021/TT-BCA art. 7), never stored when wrong, recorded as account events that name fields, not
values; verified by a desk clerk at the counter only within the desk's task, the number never shown to staff."""

import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.db import session_factory
from schemas.audit import PersonalDataAccess
from tests.api.identity_support import (
    DESK,
    OTHER_DESK,
    account_events,
    citizen_id,
    failures,
    profile,
    set_national_id,
    to_the_desk,
)
from tests.conftest import citizen_headers, staff_headers

PHONE, PHONE_2 = "+84920000071", "+84920000072"
NUMBER = "087090001234"


async def test_a_citizen_edits_their_profile(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    me = await citizen_headers(client, PHONE)
    before = await profile(client, PHONE)
    assert before["phone"] == PHONE and before["preferred_language"] == "vi"
    r = await client.patch(
        "/api/v1/citizens/me",
        json={"full_name": "  Lê Thị Hoa ", "preferred_language": "en", "national_id": "087 090 001 234"},
        headers=me,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["full_name"] == "Lê Thị Hoa" and body["preferred_language"] == "en"
    assert body["national_id"] == NUMBER and body["national_id_verified_at"] is None
    assert await profile(client, PHONE) == body
    # The same again changes nothing and writes no event.
    again = await client.patch("/api/v1/citizens/me", json={"national_id": NUMBER}, headers=me)
    assert again.status_code == 200 and again.json() == body
    updates = [e for e in await account_events(engine, body["id"]) if e.code == "updated"]
    assert len(updates) == 1
    assert sorted(updates[0].data["fields"]) == ["full_name", "national_id", "preferred_language"]
    assert updates[0].actor_id == uuid.UUID(body["id"]) and updates[0].actor_role == "citizen"
    assert NUMBER not in str(updates[0].data) and updates[0].client_ip
    # The general account answer carries no national id.
    assert "national_id" not in (await client.get("/api/v1/me", headers=me)).text


async def test_bad_numbers_are_refused_and_nothing_is_stored(client: httpx.AsyncClient) -> None:
    me = await citizen_headers(client, PHONE_2)
    assert (await set_national_id(client, PHONE_2, NUMBER)).status_code == 200
    for number, reason in (
        ("003090001234", "province"),  # no province 003 (Circular 07/2016/TT-BCA, Appendix I)
        ("087399001234", "birth_year"),  # born 2099
        ("087400001234", "birth_year"),  # 22nd century
        ("08709000123", "length"),
        ("08709000123x", "length"),
    ):
        r = await set_national_id(client, PHONE_2, number)
        assert r.status_code == 422, (number, r.text)
        assert r.json()["code"] == "invalid_national_id" and r.json()["reason"] == reason
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.patch("/api/v1/citizens/me", json={"preferred_language": "fr"}, headers=me)
    assert r.status_code == 400 and r.json()["code"] == "validation"
    r = await client.patch("/api/v1/citizens/me", json={"national_id": "0" * 21}, headers=me)
    assert r.status_code == 400
    still = await profile(client, PHONE_2)
    assert still["national_id"] == NUMBER and still["preferred_language"] == "vi"
    # null removes the number.
    assert (await set_national_id(client, PHONE_2, None)).json()["national_id"] is None


async def test_only_citizens_have_a_profile(client: httpx.AsyncClient) -> None:
    desk = await staff_headers(client, DESK)
    assert (await client.get("/api/v1/citizens/me", headers=desk)).status_code == 403
    r = await client.patch("/api/v1/citizens/me", json={"full_name": "X"}, headers=desk)
    assert r.status_code == 403
    assert (await client.get("/api/v1/citizens/me")).status_code == 401


async def test_the_desk_verifies_the_number_at_the_counter(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    phone = "+84920000073"
    who = await citizen_id(client, phone)
    url = f"/api/v1/citizens/{who}/national-id/verify"
    desk = await staff_headers(client, DESK)
    # No task for the citizen yet: the same 404 as an unknown citizen.
    r = await client.post(url, json={"national_id": NUMBER}, headers=desk)
    assert r.status_code == 404
    item = await to_the_desk(client, demo, phone)
    # Nothing on file.
    r = await client.post(url, json={"national_id": NUMBER}, headers=desk)
    assert r.status_code == 422 and r.json()["code"] == "national_id_missing"
    assert (await set_national_id(client, phone, NUMBER)).status_code == 200
    # Another desk has no task for this citizen.
    other = await staff_headers(client, OTHER_DESK)
    assert (await client.post(url, json={"national_id": NUMBER}, headers=other)).status_code == 404
    # A wrong card number is refused and counted.
    r = await client.post(url, json={"national_id": "087090001235"}, headers=desk)
    assert r.status_code == 422 and r.json()["code"] == "national_id_mismatch", r.text
    assert await failures(engine, who, "national_id") == 1
    assert (await profile(client, phone))["national_id_verified_at"] is None
    # The last six digits are not enough at the counter.
    r = await client.post(url, json={"national_id": NUMBER[-6:]}, headers=desk)
    assert r.status_code == 422
    r = await client.post(url, json={"national_id": NUMBER}, headers=desk, params={"purpose": "đối chiếu"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["national_id_masked"] == "0**********4" and body["national_id_verified_at"]
    assert NUMBER not in r.text
    mine = await profile(client, phone)
    assert mine["national_id_verified_at"] is not None
    verified = [e for e in await account_events(engine, who) if e.code == "national_id_verified"]
    assert len(verified) == 1 and verified[0].actor_role == "desk"
    assert verified[0].actor_id == demo.staff[DESK].id and NUMBER not in str(verified[0].data)
    async with session_factory(engine)() as s:
        reads = (
            await s.exec(
                select(PersonalDataAccess).where(
                    PersonalDataAccess.citizen_id == uuid.UUID(who),
                    col(PersonalDataAccess.route).contains("national-id"),
                )
            )
        ).all()
    assert len(reads) == 1 and reads[0].purpose == "đối chiếu" and reads[0].fields == ["national_id_masked"]
    # A new number drops the verification.
    assert (await set_national_id(client, phone, "087190001234")).json()["national_id_verified_at"] is None
    assert item
