"""100 concurrent collections on the same visits never double-count (issue 21), on SQLite and PostgreSQL:
each visit's due is 45,000 VND and every request asks 15,000, so exactly three per visit succeed; replays of a
successful request's id answer its receipt; receipt numbers stay unique and without gaps."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.money import accounts
from tests.api import money_support as ms

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_hundred_concurrent_collections(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    off = await ms.office(client, demo, 5, couriers=1)
    (courier,) = off.couriers
    visits = await ms.visits(engine, demo, off, courier.id, 5, citizen_index=81)
    bodies = [
        {
            "client_event_id": f"race-{i}",
            "appointment_id": str(visits[i % 5]),
            "amount_vnd": 15000,
            "method": "cash_door",
        }
        for i in range(100)
    ]

    async def one(body: dict[str, Any]) -> httpx.Response:
        return await client.post("/api/v1/collections", json=body, headers=courier.headers)

    answers = await asyncio.gather(*(one(b) for b in bodies))
    ok = [r.json() for r in answers if r.status_code == 200]
    refused = [r.json() for r in answers if r.status_code != 200]
    assert all(p["code"] == "more_than_due" for p in refused), refused[:3]
    assert len(ok) == 15 and all(not a["duplicate"] for a in ok)
    per_visit: dict[str, int] = {}
    for a in ok:
        per_visit[a["appointment_id"]] = per_visit.get(a["appointment_id"], 0) + a["amount_vnd"]
    assert per_visit == {str(v): 45000 for v in visits}
    numbers = sorted(int(a["receipt_no"].rsplit("-", 1)[1]) for a in ok)
    assert numbers == list(range(numbers[0], numbers[0] + 15))  # unique, no gap
    # Replays of the winners, concurrently: the same receipts, nothing new.
    snap = await ms.ledger_snapshot(engine)
    winners = {a["client_event_id"]: a["receipt_no"] for a in ok}
    again = await asyncio.gather(*(one(b) for b in bodies if b["client_event_id"] in winners))
    assert all(r.status_code == 200 and r.json()["duplicate"] for r in again)
    assert {r.json()["client_event_id"]: r.json()["receipt_no"] for r in again} == winners
    assert await ms.ledger_snapshot(engine) == snap
    assert await ms.balance_of(engine, accounts.courier_cash(courier.id)) == 5 * 45000
    assert snap[2] == 0
    _ = uuid
