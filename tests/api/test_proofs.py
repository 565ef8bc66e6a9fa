"""Proof images are served back only to those who may see them (Decree 13/2023/NĐ-CP)."""

import hashlib
from typing import Any

import httpx

from tests.api.test_custody_journey import PROCEDURE, all_documents, pickup, png_bytes, upload
from tests.conftest import citizen_headers, staff_headers

PHONE = "+84900000071"
OTHER_PHONE = "+84900000072"


async def test_signature_is_served_to_the_dossier_readers_only(client: httpx.AsyncClient, demo: Any) -> None:
    courier = await staff_headers(client, "courier01")
    signature = await upload(client, courier, kind="signature")
    created = await pickup(
        client, PHONE, confirmation={"method": "signature", "signature_proof_id": signature}
    )
    item = created["item_id"]

    detail = (
        await client.get(f"/api/v1/dossiers/{item}", headers=await citizen_headers(client, PHONE))
    ).json()
    assert detail["pickup"]["signature_proof_id"] == signature

    readers = {
        "the uploader": courier,
        "the citizen whose dossier cites it": await citizen_headers(client, PHONE),
        "the post office's dispatcher": await staff_headers(client, "dispatcher01"),
        "the admin": await staff_headers(client, "admin"),
    }
    for who, headers in readers.items():
        r = await client.get(f"/api/v1/proofs/{signature}", headers=headers)
        assert r.status_code == 200, (who, r.text)
        assert r.headers["content-type"] == "image/png"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "private" in r.headers["cache-control"]
        assert hashlib.sha256(r.content).hexdigest() == hashlib.sha256(png_bytes()).hexdigest()

    strangers = {
        "another citizen": await citizen_headers(client, OTHER_PHONE),
        "another post office's courier": await staff_headers(client, "courier05"),
        "another post office's dispatcher": await staff_headers(client, "dispatcher07"),
    }
    for who, headers in strangers.items():
        r = await client.get(f"/api/v1/proofs/{signature}", headers=headers)
        assert r.status_code == 404, (who, r.status_code)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(f"/api/v1/proofs/{signature}")).status_code == 401
    unknown = await client.get(
        "/api/v1/proofs/00000000-0000-4000-8000-000000000000", headers=readers["the admin"]
    )
    assert unknown.status_code == 404
    assert (await client.get("/api/v1/proofs/not-a-uuid", headers=readers["the admin"])).status_code in (
        400,
        404,
    )


async def test_a_proof_no_dossier_cites_stays_with_its_office(client: httpx.AsyncClient, demo: Any) -> None:
    photo = await upload(client, await staff_headers(client, "dispatcher01"))
    assert (
        await client.get(f"/api/v1/proofs/{photo}", headers=await staff_headers(client, "dispatcher01"))
    ).status_code == 200
    r = await client.get(f"/api/v1/proofs/{photo}", headers=await citizen_headers(client, PHONE))
    assert r.status_code == 404


async def test_a_signature_backs_one_visit_by_its_own_courier(client: httpx.AsyncClient, demo: Any) -> None:
    courier = await staff_headers(client, "courier01")
    theirs = await upload(client, await staff_headers(client, "courier05"), kind="signature")
    r = await client.post(
        "/api/v1/dossiers",
        json=await _pickup_body(client, "+84900000073", theirs),
        headers=courier,
    )
    assert r.status_code == 422 and r.json()["type"].endswith("proof_not_yours")

    mine = await upload(client, courier, kind="signature")
    first = await client.post(
        "/api/v1/dossiers", json=await _pickup_body(client, "+84900000073", mine), headers=courier
    )
    assert first.status_code == 201, first.text
    again = await client.post(
        "/api/v1/dossiers", json=await _pickup_body(client, "+84900000074", mine), headers=courier
    )
    assert again.status_code == 422 and again.json()["type"].endswith("proof_already_used")


async def _pickup_body(client: httpx.AsyncClient, phone: str, signature: str) -> dict[str, Any]:
    return {
        "procedure": PROCEDURE,
        "channel": "home_pickup",
        "citizen_phone": phone,
        "documents": await all_documents(client),
        "seal_number": "SEAL-0002",
        "fee_collected": 25000,
        "receipt_number": "BL-2",
        "confirmation": {"method": "signature", "signature_proof_id": signature},
        "place": "tại nhà công dân",
        "lat": 10.46,
        "lon": 105.63,
    }
