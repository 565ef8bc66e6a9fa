"""Remittances to the agency owed the fees (issue 21): a batch of every dossier with money held, confirmed by
the agency only, never remitted twice, and the reconciliation: collected = remitted + awaiting + held."""

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.money import accounts
from schemas.orgs import Organisation
from tests.api import money_support as ms
from tests.conftest import staff_headers

pytestmark = pytest.mark.asyncio(loop_scope="session")
CITIZEN = 71


async def _collect(
    client: httpx.AsyncClient, headers: dict[str, str], appt: uuid.UUID, amount: int
) -> dict[str, Any]:
    body = {
        "client_event_id": uuid.uuid4().hex,
        "appointment_id": str(appt),
        "amount_vnd": amount,
        "method": "cash_door",
    }
    r = await client.post("/api/v1/collections", json=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_remit_confirm_and_reconcile(client: httpx.AsyncClient, demo: Any, engine: AsyncEngine) -> None:
    off = await ms.office(client, demo, 6, couriers=1)
    (courier,) = off.couriers
    assert off.dispatcher is not None
    disp = off.dispatcher.headers
    agency_user = demo.staff["agency01"]
    async with __import__("backend.db", fromlist=["session_factory"]).session_factory(engine)() as session:
        agency = await session.get(Organisation, agency_user.organisation_id)
        assert agency is not None
        code, agency_id = agency.code, agency.id
    citizen = demo.citizens[CITIZEN]
    v1, v2, v3 = await ms.visits(engine, demo, off, courier.id, 3, citizen_index=CITIZEN)
    d1 = await ms.dossier_for(engine, v1, agency_id, citizen.id)
    await ms.dossier_for(engine, v2, agency_id, citizen.id)
    await _collect(client, courier.headers, v1, 45000)
    await _collect(client, courier.headers, v2, 10000)  # part of the fee and charge (25,000) only
    await _collect(client, courier.headers, v3, 45000)  # the due went to "unassigned": no dossier yet
    await ms.dossier_for(engine, v3, agency_id, citizen.id)

    # The pickup record's old field now comes from the ledger: what was taken at the visit, its receipt.
    from backend.db import session_factory
    from schemas.dossiers import Dossier, PickupRecord

    async with session_factory(engine)() as session:
        session.add(
            PickupRecord(
                dossier_id=d1, courier_id=uuid.UUID(courier.id), fee_collected=0, confirmed_by="code"
            )
        )
        item = (await session.get(Dossier, d1)).item_id  # type: ignore[union-attr]
        await session.commit()
    shown = await client.get(f"/api/v1/dossiers/{item}", headers=await staff_headers(client, "admin"))
    assert shown.status_code == 200, shown.text
    assert shown.json()["pickup"]["fee_collected"] == 45000
    assert shown.json()["pickup"]["receipt_number"].startswith(off.code)
    mine = await staff_headers(client, "agency01")
    rec = await client.get(f"/api/v1/agencies/{code}/reconciliation", headers=mine)
    assert rec.status_code == 200, rec.text
    before = rec.json()
    ours = {r["item_id"] for r in before["rows"]}
    assert before["collected_vnd"] == before["remitted_vnd"] + before["awaiting_vnd"] + before["held_vnd"]
    assert sum(r["held_vnd"] for r in before["rows"]) == before["held_vnd"]
    held_before = before["held_vnd"]

    # A batch of everything held at this office for the agency: our three dossiers, 25,000 + 10,000 + 25,000.
    r = await client.post("/api/v1/remittances", json={"agency": code}, headers=disp)
    assert r.status_code == 201, r.text
    batch = r.json()
    assert batch["status"] == "awaiting" and batch["total_vnd"] == 60000 and len(batch["items"]) == 3
    assert sorted(i["amount_vnd"] for i in batch["items"]) == [10000, 25000, 25000]
    # Nothing left: a second batch is refused, the ledger unchanged.
    snap = await ms.ledger_snapshot(engine)
    r = await client.post("/api/v1/remittances", json={"agency": code}, headers=disp)
    assert r.status_code == 409 and r.json()["code"] == "already_remitted", r.text
    assert await ms.ledger_snapshot(engine) == snap
    r = await client.post("/api/v1/remittances", json={"agency": "NO-SUCH"}, headers=disp)
    assert r.status_code == 422 and r.json()["code"] == "unknown_org"
    assert await ms.balance_of(engine, accounts.remitted_agency(code)) <= -60000

    # Only the agency it is for confirms, once.
    other = await staff_headers(client, "agency02")
    url = f"/api/v1/remittances/{batch['id']}"
    assert (await client.get(url, headers=other)).status_code == 404
    assert (await client.post(f"{url}/confirm", headers=other)).status_code == 404
    assert (await client.post(f"{url}/confirm", headers=disp)).status_code == 403
    listed = (await client.get("/api/v1/remittances", params={"status": "awaiting"}, headers=mine)).json()
    assert batch["id"] in [b["id"] for b in listed]
    r = await client.post(f"{url}/confirm", headers=mine)
    assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text
    r = await client.post(f"{url}/confirm", headers=mine)
    assert r.status_code == 409 and r.json()["code"] == "already_confirmed"

    # The rest of the second visit: 15,000 more of the agency's share, held.
    await _collect(client, courier.headers, v2, 35000)
    rec = await client.get(f"/api/v1/agencies/{code}/reconciliation", headers=mine)
    after = rec.json()
    assert after["collected_vnd"] == after["remitted_vnd"] + after["awaiting_vnd"] + after["held_vnd"]
    rows = {r["item_id"]: r for r in after["rows"] if r["item_id"] in ours | set()}
    assert sum(r["collected_vnd"] for r in rows.values()) >= 75000
    assert after["held_vnd"] == held_before - 60000 + 15000
    mine_rows = [
        r
        for r in after["rows"]
        if r["remitted_vnd"] and r["item_id"] in {i["item_id"] for i in batch["items"]}
    ]
    assert sum(r["remitted_vnd"] for r in mine_rows) == 60000
    csv = await client.get(f"/api/v1/agencies/{code}/reconciliation", params={"format": "csv"}, headers=mine)
    assert csv.status_code == 200 and csv.text.startswith("\ufeff") and "TỔNG / TOTAL" in csv.text
    assert (await client.get(f"/api/v1/agencies/{code}/reconciliation", headers=other)).status_code == 403
    due = (await client.get("/api/v1/reports/money/remittances-due", headers=mine)).json()
    assert due["rows"][0]["agency"] == code and due["rows"][0]["held_vnd"] == after["held_vnd"]
    # Every transaction balances, so the whole ledger sums to 0.
    assert (await ms.ledger_snapshot(engine))[2] == 0
