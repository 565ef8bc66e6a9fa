"""The recipient check at a result's delivery (issue 20): it passes by the citizen's national id card (12 digits or
the last 6 typed by the courier) or by a registered authorisation valid today for the dossier (the person's
card), wrong answers counted and logged like handover codes; the delivery event says which way it passed and
never holds the number; what the courier is shown of the recipients and the letter, only while delivering."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.db import session_factory
from schemas.audit import PersonalDataAccess
from schemas.dossiers import Dossier, DossierEvent, ResultItem
from tests.api.identity_support import (
    COURIER,
    DESK,
    OTHER_COURIER,
    authorise,
    citizen_id,
    failures,
    out_for_delivery,
    photo,
    set_national_id,
    to_the_desk,
    vn_today,
)
from tests.conftest import citizen_headers, staff_headers

NUMBER = "087185123456"


async def _deliver(client: httpx.AsyncClient, result_id: str, recipient: dict[str, Any]) -> httpx.Response:
    proof = await photo(client, COURIER)
    return await client.post(
        f"/api/v1/dossiers/{result_id}/events",
        headers=await staff_headers(client, COURIER),
        json={"code": "EMI", "recipient": recipient, "proof_id": proof},
    )


async def _delivery_event(engine: AsyncEngine, item: str) -> tuple[DossierEvent, ResultItem]:
    async with session_factory(engine)() as s:
        dossier = (await s.exec(select(Dossier).where(Dossier.item_id == item))).one()
        event = (
            await s.exec(
                select(DossierEvent).where(DossierEvent.dossier_id == dossier.id, DossierEvent.code == "EMI")
            )
        ).one()
        result = (await s.exec(select(ResultItem).where(ResultItem.dossier_id == dossier.id))).one()
        return event, result


async def test_delivery_by_the_citizens_national_id(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    phone = "+84920000063"
    who = await citizen_id(client, phone)
    item, result_id = await out_for_delivery(client, demo, phone)
    courier = await staff_headers(client, COURIER)
    url = f"/api/v1/dossiers/{result_id}/recipients"
    r = await client.get(url, headers=courier)
    assert r.status_code == 200, r.text
    assert r.json()["methods"] == ["code"] and r.json()["citizen"]["national_id_on_file"] is False
    # Only the courier delivering it, only now.
    assert (await client.get(url, headers=await staff_headers(client, OTHER_COURIER))).status_code == 404
    assert (await client.get(url, headers=await staff_headers(client, DESK))).status_code == 404
    assert (await client.get(url, headers=await citizen_headers(client, phone))).status_code == 403
    # No number on file: the national id check cannot pass, and nothing was guessed.
    r = await _deliver(client, result_id, {"method": "national_id", "national_id": NUMBER})
    assert r.status_code == 422 and r.json()["code"] == "recipient_check_failed"
    assert await failures(engine, who, "national_id") == 0
    assert (await set_national_id(client, phone, NUMBER)).status_code == 200
    r = await client.get(url, headers=courier)
    assert r.json()["methods"] == ["code", "national_id"]
    assert r.json()["citizen"]["national_id_masked"] == "0**********6" and NUMBER not in r.text
    # A wrong tail is a counted guess.
    r = await _deliver(client, result_id, {"method": "national_id", "national_id": "123457"})
    assert r.status_code == 422 and r.json()["code"] == "recipient_check_failed"
    assert await failures(engine, who, "national_id") == 1
    r = await _deliver(client, result_id, {"method": "national_id", "national_id": NUMBER[-6:]})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "delivered"
    event, result = await _delivery_event(engine, item)
    assert event.data["recipient_check"] == "national_id" and event.data["recipient_matched"] == "last6"
    assert NUMBER not in str(event.data) and NUMBER[-6:] not in str(event.data)
    assert result.recipient_check == "national_id"
    # Delivered: the courier's view is closed.
    assert (await client.get(url, headers=courier)).status_code == 404
    async with session_factory(engine)() as s:
        reads = (
            await s.exec(
                select(PersonalDataAccess).where(
                    PersonalDataAccess.citizen_id == uuid.UUID(who),
                    col(PersonalDataAccess.route).contains("recipients"),
                )
            )
        ).all()
    # The first look showed no personal data (no name, no number on file): only the second is audited.
    assert len(reads) == 1 and reads[0].staff_id == demo.staff[COURIER].id
    assert reads[0].fields == ["national_id_masked"] and reads[0].resource == item


async def test_delivery_to_an_authorised_person(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    phone = "+84920000078"
    who = await citizen_id(client, phone)
    item, result_id = await out_for_delivery(client, demo, phone)
    other_item = await to_the_desk(client, demo, phone)
    me = await citizen_headers(client, phone)
    person = "087090004321"
    chosen = (await authorise(client, phone, dossier=item, full_name="Phạm Văn Chồng")).json()
    revoked = (await authorise(client, phone, national_id="087090007777")).json()
    assert (
        await client.post(f"/api/v1/authorisations/{revoked['id']}/revoke", headers=me)
    ).status_code == 200
    later = await authorise(client, phone, valid_from=(vn_today() + timedelta(days=1)).isoformat())
    elsewhere = (await authorise(client, phone, dossier=other_item, national_id="087090008888")).json()
    courier = await staff_headers(client, COURIER)
    r = await client.get(f"/api/v1/dossiers/{result_id}/recipients", headers=courier)
    assert r.status_code == 200, r.text
    shown = r.json()
    assert [a["id"] for a in shown["authorisations"]] == [chosen["id"]]
    assert "authorisation" in shown["methods"]
    assert shown["authorisations"][0]["national_id"] is None and person not in r.text
    assert shown["authorisations"][0]["full_name"] == "Phạm Văn Chồng"
    # The letter: to the courier delivering to the person; not to the other courier.
    assert (await client.get(chosen["letter"], headers=courier)).status_code == 200
    other = await staff_headers(client, OTHER_COURIER)
    assert (await client.get(chosen["letter"], headers=other)).status_code == 404
    assert (await client.get(elsewhere["letter"], headers=courier)).status_code == 404
    # Authorisations that do not hold today for this dossier are refused unguessed.
    for refused in (revoked["id"], later.json()["id"], elsewhere["id"], str(uuid.uuid4())):
        r = await _deliver(
            client,
            result_id,
            {"method": "authorisation", "authorisation_id": refused, "national_id": person},
        )
        assert r.status_code == 422 and r.json()["code"] == "recipient_check_failed", r.text
    r = await _deliver(client, result_id, {"method": "authorisation", "national_id": person})
    assert r.status_code == 422
    assert await failures(engine, who, "authorisation") == 0
    # The person's card must match: a wrong number is a counted guess.
    wrong = {"method": "authorisation", "authorisation_id": chosen["id"], "national_id": "087090004322"}
    r = await _deliver(client, result_id, wrong)
    assert r.status_code == 422 and await failures(engine, who, "authorisation") == 1
    right = {"method": "authorisation", "authorisation_id": chosen["id"], "national_id": person}
    r = await _deliver(client, result_id, right)
    assert r.status_code == 201, r.text
    event, result = await _delivery_event(engine, item)
    assert event.data["recipient_check"] == "authorisation" and event.data["recipient_matched"] == "full"
    assert event.data["authorisation_id"] == chosen["id"] and person not in str(event.data)
    assert result.recipient_check == "authorisation" and result.recipient_name == "Phạm Văn Chồng"
    # After the delivery the courier no longer sees the letter.
    assert (await client.get(chosen["letter"], headers=courier)).status_code == 404
