"""A courier with no network: pickups recorded on reserved labels and synced later, replay-safe."""

from datetime import date, timedelta

import httpx

from backend.planning.clock import day_start
from schemas.base import utcnow
from tests.api.test_custody_journey import PROCEDURE, all_documents
from tests.conftest import citizen_headers, staff_headers

PHONE = "+84900000071"


async def test_offline_pickup_then_events_sync_once(client: httpx.AsyncClient) -> None:
    courier = await staff_headers(client, "courier03")
    r = await client.post("/api/v1/couriers/me/item-ids", json={"count": 3}, headers=courier)
    assert r.status_code == 201, r.text
    labels = r.json()["item_ids"]
    assert len(set(labels)) == 3 and all(x.startswith("HS") and x.endswith("VN") for x in labels)
    # Not for other roles.
    desk = await staff_headers(client, "desk01")
    assert (
        await client.post("/api/v1/couriers/me/item-ids", json={"count": 3}, headers=desk)
    ).status_code == 403

    citizen = await citizen_headers(client, PHONE)
    shown = (await client.get("/api/v1/handover-code", headers=citizen)).json()
    code = shown["code"]
    # Half an hour ago, but not before the day the code is for: the citizen read it at the pickup.
    picked_at = max(utcnow() - timedelta(minutes=30), day_start(date.fromisoformat(shown["valid_on"])))
    pickup = {
        "client_event_id": "dev-1:pickup-1",
        "client_at": picked_at.isoformat(),
        "item_id": labels[0],
        "procedure": PROCEDURE,
        "channel": "home_pickup",
        "citizen_phone": PHONE,
        "documents": await all_documents(client),
        "seal_number": "SEAL-OFF-1",
        "fee_collected": 25000,
        "confirmation": {"method": "code", "code": code},
        "lat": 10.46,
        "lon": 105.63,
    }
    # The courier's second label with another check digit: not a label this courier was given (any digit but
    # the real one; a fixed "0" was the real one for one label in ten).
    wrong_digit = "1" if labels[1][-3] == "0" else "0"
    stolen = {**pickup, "client_event_id": "dev-1:pickup-2", "item_id": labels[1][:-3] + wrong_digit + "VN"}
    batch = {"pickups": [pickup, stolen]}
    first = await client.post("/api/v1/events/batch", json=batch, headers=courier)
    assert first.status_code in (200, 201), first.text
    res = first.json()["pickups"]
    assert res[0]["accepted"] and not res[0]["duplicate"] and res[0]["item_id"] == labels[0]
    assert not res[1]["accepted"]  # a label that was not given to this courier (or not an S10 id)

    again = await client.post("/api/v1/events/batch", json=batch, headers=courier)
    assert again.json()["pickups"][0] == {**res[0], "duplicate": True}
    # The citizen sees exactly one dossier with that label, with the device's time.
    dossier = await client.get(f"/api/v1/dossiers/{labels[0]}", headers=citizen)
    assert dossier.status_code == 200, dossier.text
    # Another courier cannot use the label.
    other = await staff_headers(client, "courier04")
    r = await client.post(
        "/api/v1/events/batch", json={"pickups": [{**pickup, "client_event_id": "x"}]}, headers=other
    )
    assert not r.json()["pickups"][0]["accepted"]
    assert (await client.post("/api/v1/events/batch", json={}, headers=courier)).status_code == 400
