"""Custody flows beyond the happy path: access, offline sync, handover discrepancies, pickups, failed delivery."""

import asyncio
from datetime import timedelta
from typing import Any

import httpx

from schemas import s10
from schemas.base import utcnow
from tests.api.test_custody_journey import all_documents, hand, pickup, upload
from tests.conftest import citizen_headers, staff_headers


async def test_citizen_and_courier_cannot_read_others(client: httpx.AsyncClient) -> None:
    created = await pickup(client, "+84900000062")
    item = created["item_id"]
    other = await citizen_headers(client, "+84900000063")
    r = await client.get(f"/api/v1/dossiers/{item}", headers=other)
    assert r.status_code == 404
    unknown = s10.make("HS", 99_999_998)
    r2 = await client.get(f"/api/v1/dossiers/{unknown}", headers=other)
    assert r2.status_code == 404 and r.json()["type"] == r2.json()["type"]
    # courier03 works at another post office; courier02 at the same one but never carried it.
    for courier in ("courier03", "courier02"):
        r = await client.get(f"/api/v1/dossiers/{item}", headers=await staff_headers(client, courier))
        assert r.status_code == 404, courier
        lst = await client.get(
            "/api/v1/dossiers", params={"q": item}, headers=await staff_headers(client, courier)
        )
        assert lst.json()["total"] == 0
    owner = await client.get(
        f"/api/v1/dossiers/{item}", headers=await citizen_headers(client, "+84900000062")
    )
    assert owner.status_code == 200 and owner.json()["citizen"]["phone"] == "+84900000062"
    # Another desk's clerk neither sees it in lists nor opens it.
    r = await client.get(f"/api/v1/dossiers/{item}", headers=await staff_headers(client, "desk05"))
    assert r.status_code == 404
    # Staff of the courier's post office find it by the citizen's phone (its dossier is listed with the office).
    lst = await client.get(
        "/api/v1/dossiers", params={"q": "0900000062"}, headers=await staff_headers(client, "dispatcher01")
    )
    assert item in [d["item_id"] for d in lst.json()["items"]]


async def test_public_tracking_errors_do_not_reveal(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/track/NOTANID")).status_code == 422
    assert (await client.get("/api/v1/track/HS123456784VN")).status_code == 422  # wrong check digit
    assert (await client.get(f"/api/v1/track/{s10.make('HS', 99_999_997)}")).status_code == 404
    # Published valid S10 ids (UPU examples) are well-formed, so unknown -> 404; one digit off -> 422.
    for published in ("RR473124829GB", "EE876543216CA"):
        assert s10.is_valid(published)
        assert (await client.get(f"/api/v1/track/{published}")).status_code == 404
    assert (await client.get("/api/v1/track/EE876543217CA")).status_code == 422
    assert (await client.get("/api/v1/track/RR473124828GB")).status_code == 422


async def test_incomplete_pickup_refused_or_carried(client: httpx.AsyncClient) -> None:
    docs = await all_documents(client)
    docs[0] = {**docs[0], "provided": False}
    citizen = await citizen_headers(client, "+84900000064")
    code = (await client.get("/api/v1/handover-code", headers=citizen)).json()["code"]
    body: dict[str, Any] = {
        "procedure": "1.004873",
        "channel": "home_pickup",
        "citizen_phone": "+84900000064",
        "documents": docs,
        "confirmation": {"method": "code", "code": code},
    }
    courier = await staff_headers(client, "courier01")
    r = await client.post("/api/v1/dossiers", json=body, headers=courier)
    assert r.status_code == 422 and r.json()["type"].endswith("incomplete_dossier")
    assert len(r.json()["missing"]) == 1
    r = await client.post("/api/v1/dossiers", json={**body, "carry_incomplete": True}, headers=courier)
    assert r.status_code == 201 and r.json()["supplement_required"] is True
    assert len(r.json()["missing_documents"]) == 1
    # Without the citizen's confirmation nothing is created.
    r = await client.post(
        "/api/v1/dossiers", json={**body, "confirmation": None, "carry_incomplete": True}, headers=courier
    )
    assert r.status_code == 422 and r.json()["type"].endswith("confirmation_required")
    signature = await upload(client, courier, "signature")
    r = await client.post(
        "/api/v1/dossiers",
        headers=courier,
        json={
            **body,
            "carry_incomplete": True,
            "confirmation": {"method": "signature", "signature_proof_id": signature},
        },
    )
    assert r.status_code == 201


async def test_handover_with_missing_and_extra_items(client: httpx.AsyncClient, demo: Any) -> None:
    a = (await pickup(client, "+84900000065"))["item_id"]
    b = (await pickup(client, "+84900000066"))["item_id"]
    po = demo.post_offices[0].code
    r = await client.post(
        "/api/v1/handovers",
        json={"to": po, "items": [a, b]},
        headers=await staff_headers(client, "courier01"),
    )
    assert r.status_code == 201
    hid = r.json()["id"]
    incoming = await client.get(
        "/api/v1/dossiers", params={"view": "incoming"}, headers=await staff_headers(client, "dispatcher01")
    )
    assert {a, b} <= {d["item_id"] for d in incoming.json()["items"]}
    # Only the receiver confirms.
    r = await client.post(
        f"/api/v1/handovers/{hid}/confirm",
        json={"scanned": [a]},
        headers=await staff_headers(client, "courier01"),
    )
    assert r.status_code == 403
    stray = s10.make("HS", 99_999_990)
    r = await client.post(
        f"/api/v1/handovers/{hid}/confirm",
        json={"scanned": [a, stray]},
        headers=await staff_headers(client, "dispatcher01"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "discrepancy"
    assert {(x["item_id"], x["kind"]) for x in r.json()["discrepancies"]} == {
        (b, "missing"),
        (stray, "extra"),
    }
    # Custody moved only for what was scanned; both sides see the discrepancy.
    got_a = await client.get(f"/api/v1/dossiers/{a}", headers=await staff_headers(client, "dispatcher01"))
    assert got_a.json()["status"] == "at_post_office"
    got_b = await client.get(f"/api/v1/dossiers/{b}", headers=await staff_headers(client, "courier01"))
    assert got_b.json()["status"] == "collected" and got_b.json()["custodian"]["kind"] == "courier"
    for user in ("courier01", "dispatcher01"):
        seen = await client.get(f"/api/v1/handovers/{hid}", headers=await staff_headers(client, user))
        assert len(seen.json()["discrepancies"]) == 2
    assert (
        await client.get(f"/api/v1/handovers/{hid}", headers=await staff_headers(client, "dispatcher05"))
    ).status_code == 404
    # An item not in one's hands cannot be handed over.
    r = await client.post(
        "/api/v1/handovers", json={"to": po, "items": [a]}, headers=await staff_headers(client, "courier01")
    )
    assert r.status_code == 409 and r.json()["items"][0]["error"] == "not_in_your_custody"


async def _out_for_delivery(client: httpx.AsyncClient, demo: Any, phone: str) -> tuple[str, str]:
    po = demo.post_offices[0]
    desk, agency = f"82-MC-{po.commune_code}", f"82-UB-{po.commune_code}"
    item = (await pickup(client, phone))["item_id"]
    await hand(client, "courier01", "dispatcher01", po.code, [item])
    await hand(client, "dispatcher01", "desk02", desk, [item])
    await hand(client, "desk02", "agency03", agency, [item])
    r = await client.post(
        f"/api/v1/dossiers/{item}/events",
        headers=await staff_headers(client, "agency03"),
        json={"code": "TKQ", "outcome": "refused"},
    )
    assert r.status_code == 201
    await hand(client, "agency03", "desk02", desk, [item])
    result = (
        await client.get(f"/api/v1/dossiers/{item}", headers=await staff_headers(client, "desk02"))
    ).json()
    kq = result["result_item_id"]
    await hand(client, "desk02", "dispatcher01", po.code, [kq])
    await hand(client, "dispatcher01", "courier01", "courier01", [kq])
    return item, kq


async def test_batch_sync_is_idempotent_and_orders_by_device_time(
    client: httpx.AsyncClient, demo: Any
) -> None:
    item, kq = await _out_for_delivery(client, demo, "+84900000067")
    courier = await staff_headers(client, "courier01")
    now = utcnow()
    # Device order (after the handover just made): attempt fails at t+1s, back at the office t+2s, out again t+3s.
    events = [
        {
            "client_event_id": "c67-3",
            "item_id": kq,
            "code": "EMO",
            "client_at": (now + timedelta(seconds=3)).isoformat(),
        },
        {
            "client_event_id": "c67-1",
            "item_id": kq,
            "code": "EMH",
            "reason_code": "not_home",
            "client_at": (now + timedelta(seconds=1)).isoformat(),
        },
        {
            "client_event_id": "c67-2",
            "item_id": kq,
            "code": "EMG",
            "client_at": (now + timedelta(seconds=2)).isoformat(),
        },
        {
            "client_event_id": "c67-bad",
            "item_id": "HS123456784VN",
            "code": "EMI",
            "client_at": (now - timedelta(minutes=5)).isoformat(),
        },
        {
            "client_event_id": "c67-bad2",
            "item_id": kq,
            "code": "TKQ",
            "client_at": (now + timedelta(seconds=4)).isoformat(),
        },
    ]
    r = await client.post("/api/v1/events/batch", json={"events": events}, headers=courier)
    assert r.status_code == 200, r.text
    res = {x["client_event_id"]: x for x in r.json()["results"]}
    assert [x["client_event_id"] for x in r.json()["results"]] == [e["client_event_id"] for e in events]
    assert res["c67-1"]["accepted"] and res["c67-2"]["accepted"] and res["c67-3"]["accepted"]
    assert res["c67-3"]["status"] == "out_for_delivery"
    assert not res["c67-bad"]["accepted"] and res["c67-bad"]["error"] == "invalid_item_id"
    assert not res["c67-bad2"]["accepted"] and res["c67-bad2"]["error"] == "invalid_transition"
    before = (await client.get(f"/api/v1/dossiers/{item}", headers=courier)).json()
    # Replaying the same batch changes nothing.
    again = await client.post("/api/v1/events/batch", json={"events": events}, headers=courier)
    assert all(x["duplicate"] for x in again.json()["results"] if x["accepted"])
    after = (await client.get(f"/api/v1/dossiers/{item}", headers=courier)).json()
    assert len(after["events"]) == len(before["events"]) and after["status"] == before["status"]
    # A late event, valid at its device time, is stored in its place without changing the current status.
    # At t+2.5s the result was at the office (EMG at t+2s), so leaving for delivery then was valid.
    late = [
        {
            "client_event_id": "c67-late",
            "item_id": kq,
            "code": "EMO",
            "client_at": (now + timedelta(seconds=2.5)).isoformat(),
        }
    ]
    r = await client.post("/api/v1/events/batch", json={"events": late}, headers=courier)
    assert r.json()["results"][0]["historical"] is True
    # At t+1.5s the attempt had just failed: a delivery then was impossible, so it is refused.
    wrong = [
        {
            "client_event_id": "c67-wrong",
            "item_id": kq,
            "code": "EMI",
            "client_at": (now + timedelta(seconds=1.5)).isoformat(),
        }
    ]
    r = await client.post("/api/v1/events/batch", json={"events": wrong}, headers=courier)
    assert r.json()["results"][0]["accepted"] is False and r.json()["results"][0]["error"] == "out_of_order"
    # A delivery stamped in a stretch when one was possible (t+0.5s, before the failed attempt) would skip the
    # recipient check and the result's record if stored as history: it must be recorded in order (issue 17).
    unchecked = [
        {
            "client_event_id": "c67-unchecked",
            "item_id": kq,
            "code": "EMI",
            "client_at": (now + timedelta(seconds=0.5)).isoformat(),
        }
    ]
    r = await client.post("/api/v1/events/batch", json={"events": unchecked}, headers=courier)
    assert r.json()["results"][0]["accepted"] is False and r.json()["results"][0]["error"] == "out_of_order"
    final = (await client.get(f"/api/v1/dossiers/{item}", headers=courier)).json()
    assert "delivered" not in {e["status"] for e in final["events"]}
    assert final["status"] == "out_for_delivery"
    times = [e["at"] for e in final["events"]]
    assert times == sorted(times)


async def test_failed_deliveries_return_the_result_to_the_desk(client: httpx.AsyncClient, demo: Any) -> None:
    item, kq = await _out_for_delivery(client, demo, "+84900000068")
    courier = await staff_headers(client, "courier01")
    r = await client.post(f"/api/v1/dossiers/{kq}/events", headers=courier, json={"code": "EMH"})
    assert r.status_code == 422 and "not_home" in r.json()["reason_codes"]
    r = await client.post(
        f"/api/v1/dossiers/{kq}/events", headers=courier, json={"code": "EMH", "reason_code": "not_home"}
    )
    assert r.status_code == 201 and r.json()["status"] == "delivery_failed"
    assert r.json()["events"][-1]["data"]["rebook"] is True
    r = await client.post(f"/api/v1/dossiers/{kq}/events", headers=courier, json={"code": "EMO"})
    assert r.status_code == 201
    r = await client.post(
        f"/api/v1/dossiers/{kq}/events", headers=courier, json={"code": "EMH", "reason_code": "moved"}
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "returned_to_desk" and body["counter_pickup"] is True
    assert body["custodian"]["kind"] == "desk" and body["delivery_attempts"] == 2
    # The citizen collects it at the counter with their code.
    citizen = await citizen_headers(client, "+84900000068")
    code = (await client.get("/api/v1/handover-code", headers=citizen)).json()["code"]
    r = await client.post(
        f"/api/v1/dossiers/{item}/events",
        headers=await staff_headers(client, "desk02"),
        json={"code": "KQN", "recipient": {"method": "code", "code": code}},
    )
    assert r.status_code == 201 and r.json()["status"] == "delivered"


async def test_s10_ids_unique_under_concurrency(client: httpx.AsyncClient) -> None:
    created = await asyncio.gather(*(pickup(client, f"+849000000{70 + i}") for i in range(8)))
    ids = [c["item_id"] for c in created]
    assert len(set(ids)) == 8 and all(s10.is_valid(i) for i in ids)


async def test_desk_direct_dossier_and_views(client: httpx.AsyncClient) -> None:
    desk = await staff_headers(client, "desk01")
    r = await client.post(
        "/api/v1/dossiers",
        headers=desk,
        json={
            "procedure": "1.013831",
            "channel": "direct",
            "citizen_phone": "+84900000080",
            "postal_return": True,
            "agency": "82-STP",
        },
    )
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["status"] == "received" and d["due_at"] and d["desk"] == "82-TTPVHCC"
    lst = await client.get("/api/v1/dossiers", params={"view": "on_hand"}, headers=desk)
    assert d["item_id"] in [x["item_id"] for x in lst.json()["items"]]
    lst = await client.get("/api/v1/dossiers", params={"overdue": "true"}, headers=desk)
    assert d["item_id"] not in [x["item_id"] for x in lst.json()["items"]]
    # A forbidden transition answers 409 with what is allowed.
    r = await client.post(f"/api/v1/dossiers/{d['item_id']}/events", headers=desk, json={"code": "EMI"})
    assert r.status_code == 409 and "TCQ" in r.json()["allowed"]
