"""The agency console's operations (issue 23): the queue's lists and receiving one dossier at a time by scan,
on SQLite and PostgreSQL. The flow: courier01 -> 82-BD-01 -> its commune's desk (desk02) -> the commune's
People's Committee (agency03); agency04 is another commune's."""

import asyncio
from typing import Any

import httpx

from tests.api.test_custody_journey import hand, pickup
from tests.conftest import staff_headers

PHONES = ("+84900000084", "+84900000085", "+84900000090")


async def _at_desk(
    client: httpx.AsyncClient, demo: Any, phones: tuple[str, ...]
) -> tuple[list[str], str, str]:
    po = demo.post_offices[0]
    desk, agency = f"82-MC-{po.commune_code}", f"82-UB-{po.commune_code}"
    items = [(await pickup(client, p))["item_id"] for p in phones]
    await hand(client, "courier01", "dispatcher01", po.code, items)
    await hand(client, "dispatcher01", "desk02", desk, items)
    return items, desk, agency


async def _send(client: httpx.AsyncClient, agency: str, items: list[str]) -> str:
    r = await client.post(
        "/api/v1/handovers",
        json={"to": agency, "items": items},
        headers=await staff_headers(client, "desk02"),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _queue(client: httpx.AsyncClient, user: str, name: str, **params: str) -> dict[str, Any]:
    r = await client.get(
        "/api/v1/console/agency/dossiers",
        params={"list": name, "limit": 500, **params},
        headers=await staff_headers(client, user),
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def _ids(page: dict[str, Any]) -> set[str]:
    return {row["item_id"] for row in page["items"]}


async def test_receive_by_scan_decide_and_hand_back(client: httpx.AsyncClient, demo: Any) -> None:
    items, desk, agency = await _at_desk(client, demo, PHONES)
    handover = await _send(client, agency, items)
    incoming = await _queue(client, "agency03", "incoming")
    assert set(items) <= _ids(incoming) and incoming["counts"]["incoming"] >= 3
    assert incoming["agency"]["code"] == agency
    row = next(r for r in incoming["items"] if r["item_id"] == items[0])
    assert row["handover_id"] == handover and row["desk"]["code"] == desk and row["processing_days"] > 0
    # Least personal data: the applicant's name at most, never the phone.
    assert "0000084" not in str(incoming) and "phone" not in row
    assert not set(items) & _ids(await _queue(client, "agency04", "incoming"))

    agency03, agency04 = await staff_headers(client, "agency03"), await staff_headers(client, "agency04")
    url = "/api/v1/console/agency/receive"
    # Another agency's scan: the same 404 as an unknown id; a malformed id: 422.
    r = await client.post(url, json={"item_id": items[0]}, headers=agency04)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = await client.post(url, json={"item_id": "HS12345"}, headers=agency03)
    assert r.status_code == 422 and r.json()["code"] == "invalid_item_id"
    # As a scanner types it (any case, spaces): received alone, the handover still pending.
    r = await client.post(url, json={"item_id": f" {items[0].lower()} "}, headers=agency03)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["remaining"] == 2 and body["handover_complete"] is False
    assert body["dossier"]["status"] == "processing" and body["dossier"]["working_days_left"] is not None
    r = await client.post(url, json={"item_id": items[0]}, headers=agency03)
    assert r.status_code == 409 and r.json()["code"] == "already_received"
    h = (await client.get(f"/api/v1/handovers/{handover}", headers=agency03)).json()
    assert h["status"] == "pending"
    assert {i["item_id"]: i["state"] for i in h["items"]}[items[0]] == "received"
    processing = await _queue(client, "agency03", "processing")
    assert items[0] in _ids(processing) and items[0] not in _ids(await _queue(client, "agency03", "incoming"))
    # The receipt is an event with who and which handover.
    d = (await client.get(f"/api/v1/dossiers/{items[0]}", headers=agency03)).json()
    assert "•" in d["citizen"]["phone"] and PHONES[0] not in str(d)  # the agency: a masked phone only
    tcq = [e for e in d["events"] if e["code"] == "TCQ"]
    assert len(tcq) == 1 and tcq[0]["actor_kind"] == "agency" and tcq[0]["data"]["handover_id"] == handover

    # The second is scanned; the third never arrives: confirming the handover records only it missing.
    assert (await client.post(url, json={"item_id": items[1]}, headers=agency03)).status_code == 200
    r = await client.post(f"/api/v1/handovers/{handover}/confirm", json={"scanned": []}, headers=agency03)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "discrepancy"
    assert [(x["item_id"], x["kind"]) for x in r.json()["discrepancies"]] == [(items[2], "missing")]

    # Decide each way through the custody API; the lists follow.
    events = f"/api/v1/dossiers/{items[0]}/events"
    r = await client.post(events, json={"code": "TBS", "missing_documents": ["Bản chính"]}, headers=agency03)
    assert r.status_code == 201, r.text
    supplement = await _queue(client, "agency03", "supplement")
    row = next(x for x in supplement["items"] if x["item_id"] == items[0])
    assert row["missing_documents"] == ["Bản chính"] and row["paused_at"] is not None
    assert (await client.post(events, json={"code": "TNB"}, headers=agency03)).status_code == 201
    assert (
        await client.post(events, json={"code": "TKQ", "outcome": "approved"}, headers=agency03)
    ).status_code == 201
    refusal = {"code": "TKQ", "outcome": "refused", "reason": "Không đủ điều kiện / Not eligible"}
    r = await client.post(f"/api/v1/dossiers/{items[1]}/events", json=refusal, headers=agency03)
    assert r.status_code == 201, r.text
    decided = await _queue(client, "agency03", "decided")
    rows = {x["item_id"]: x for x in decided["items"]}
    assert rows[items[0]]["outcome"] == "approved" and rows[items[1]]["outcome"] == "refused"
    assert (
        rows[items[1]]["decision_reason"] == refusal["reason"] and rows[items[1]]["working_days_left"] is None
    )
    # Hand back to the desk: listed with its handover until the desk confirms, then gone.
    back = await client.post("/api/v1/handovers", json={"to": desk, "items": items[:2]}, headers=agency03)
    assert back.status_code == 201, back.text
    rows = {x["item_id"]: x for x in (await _queue(client, "agency03", "decided"))["items"]}
    assert rows[items[0]]["handover_id"] == back.json()["id"]
    r = await client.post(
        f"/api/v1/handovers/{back.json()['id']}/confirm",
        json={"scanned": items[:2]},
        headers=await staff_headers(client, "desk02"),
    )
    assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text
    assert not set(items[:2]) & _ids(await _queue(client, "agency03", "decided"))
    d = (
        await client.get(f"/api/v1/dossiers/{items[1]}", headers=await staff_headers(client, "desk02"))
    ).json()
    assert d["status"] == "result_ready" and d["result_item_id"]


async def test_scopes_and_bad_queries(client: httpx.AsyncClient, demo: Any) -> None:
    agency = f"82-UB-{demo.post_offices[0].commune_code}"
    other = f"82-UB-{demo.post_offices[1].commune_code}"
    url = "/api/v1/console/agency/dossiers"
    agency03, admin = await staff_headers(client, "agency03"), await staff_headers(client, "admin")
    assert (await client.get(url, params={"agency": other}, headers=agency03)).status_code == 403
    assert (await client.get(url, params={"agency": agency}, headers=agency03)).status_code == 200
    r = await client.get(url, params={"agency": agency, "list": "overdue"}, headers=admin)
    assert r.status_code == 200 and r.json()["agency"]["code"] == agency and r.json()["list"] == "overdue"
    r = await client.get(url, headers=admin)
    assert r.status_code == 200 and r.json()["agency"] is None
    assert (await client.get(url, params={"agency": "82-BD-01"}, headers=admin)).status_code == 404
    assert (await client.get(url, params={"list": "everything"}, headers=agency03)).status_code == 400
    for user in ("desk02", "dispatcher01", "courier01"):
        headers = await staff_headers(client, user)
        assert (await client.get(url, headers=headers)).status_code == 403
        r = await client.post("/api/v1/console/agency/receive", json={"item_id": "x"}, headers=headers)
        assert r.status_code == 403


async def test_two_clerks_scanning_the_same_item_receive_it_once(
    client: httpx.AsyncClient, demo: Any
) -> None:
    """Two scans of one item at the same time (two clerks, or a scanner's double read): one receipt, one
    event, the other a 409; the handover confirmed once."""
    items, _, agency = await _at_desk(client, demo, ("+84900000091", "+84900000092"))
    handover = await _send(client, agency, items)
    headers = await staff_headers(client, "agency03")
    for item in items:
        answers = await asyncio.gather(
            *(
                client.post("/api/v1/console/agency/receive", json={"item_id": item}, headers=headers)
                for _ in range(4)
            )
        )
        codes = sorted(r.status_code for r in answers)
        assert codes == [200, 409, 409, 409], [r.text for r in answers]
        assert all(r.json()["code"] == "already_received" for r in answers if r.status_code == 409)
        d = (await client.get(f"/api/v1/dossiers/{item}", headers=headers)).json()
        assert [e["code"] for e in d["events"]].count("TCQ") == 1 and d["status"] == "processing"
    h = (await client.get(f"/api/v1/handovers/{handover}", headers=headers)).json()
    assert h["status"] == "confirmed" and {i["state"] for i in h["items"]} == {"received"}
