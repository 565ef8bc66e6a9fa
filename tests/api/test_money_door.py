"""Money at the door (issue 21): collect at a visit, the receipt, refusals that leave the ledger unchanged,
the offline batch, and the courier's cash-up with the dispatcher's confirmation."""

import re
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.money import accounts
from tests.api import money_support as ms
from tests.conftest import citizen_headers

pytestmark = pytest.mark.asyncio(loop_scope="session")
CITIZEN = 61


def _collect(
    appt: uuid.UUID, amount: int, method: str = "cash_door", event: str | None = None
) -> dict[str, Any]:
    return {
        "client_event_id": event or uuid.uuid4().hex,
        "appointment_id": str(appt),
        "amount_vnd": amount,
        "method": method,
    }


async def test_collect_receipt_replay_and_refusals(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    off = await ms.office(client, demo, 8)
    courier, other = off.couriers
    mine = await ms.visits(engine, demo, off, courier.id, 3, citizen_index=CITIZEN)
    theirs = await ms.visits(engine, demo, off, other.id, 1, citizen_index=CITIZEN)
    citizen = demo.citizens[CITIZEN]

    # Refusals first: each a 4xx problem with its code, and the ledger unchanged.
    before = await ms.ledger_snapshot(engine)
    for body, status, code in (
        (_collect(mine[0], -5), 422, "amount_out_of_range"),
        (_collect(mine[0], 0), 422, "amount_out_of_range"),
        (_collect(mine[0], 10**12), 422, "amount_out_of_range"),
        (_collect(mine[0], 45001), 422, "more_than_due"),
        (_collect(mine[0], 100, method="cheque"), 422, "bad_method"),
        (_collect(theirs[0], 45000), 403, "not_on_route"),
        (_collect(uuid.uuid4(), 45000), 404, "not_found"),
    ):
        r = await client.post("/api/v1/collections", json=body, headers=courier.headers)
        assert r.status_code == status and r.json()["code"] == code, (body, r.text)
    after = await ms.ledger_snapshot(engine)
    assert after[:2] == before[:2] and after[2] == 0

    # A pickup's full due, in cash: a receipt number of the office's year sequence, nothing left due.
    event = "dev-money-1"
    r = await client.post(
        "/api/v1/collections", json=_collect(mine[0], 45000, event=event), headers=courier.headers
    )
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["duplicate"] is False and first["outstanding_vnd"] == 0 and first["due_vnd"] == 45000
    assert re.fullmatch(rf"{off.code}-\d{{4}}-\d{{6}}", first["receipt_no"]), first
    # The replay: the same receipt, nothing new in the ledger.
    snap = await ms.ledger_snapshot(engine)
    r = await client.post(
        "/api/v1/collections", json=_collect(mine[0], 45000, event=event), headers=courier.headers
    )
    assert (
        r.status_code == 200
        and r.json()["duplicate"] is True
        and r.json()["receipt_no"] == first["receipt_no"]
    )
    assert await ms.ledger_snapshot(engine) == snap
    # Nothing is due any more: even 1 đồng is refused.
    r = await client.post("/api/v1/collections", json=_collect(mine[0], 1), headers=courier.headers)
    assert r.status_code == 422 and r.json()["code"] == "more_than_due"
    assert r.json()["outstanding_vnd"] == 0

    # Two part payments of the next visit, by transfer then cash: consecutive receipt numbers.
    r1 = await client.post(
        "/api/v1/collections", json=_collect(mine[1], 20000, "bank_transfer"), headers=courier.headers
    )
    r2 = await client.post("/api/v1/collections", json=_collect(mine[1], 25000), headers=courier.headers)
    assert r1.status_code == r2.status_code == 200, (r1.text, r2.text)
    n0, n1, n2 = (
        int(x.split("-")[-1]) for x in (first["receipt_no"], r1.json()["receipt_no"], r2.json()["receipt_no"])
    )
    assert n1 == n0 + 1 and n2 == n1 + 1
    assert r2.json()["outstanding_vnd"] == 0 and r2.json()["paid_vnd"] == 45000

    # Balances derived from the ledger.
    assert await ms.balance_of(engine, accounts.courier_cash(courier.id)) == 70000
    assert await ms.balance_of(engine, accounts.bank(off.code)) == 20000

    # The citizen's receipt: JSON for them, 404 for another citizen, the printable page through its token.
    me = await citizen_headers(client, citizen.phone)
    r = await client.get(f"/api/v1/receipts/{first['receipt_no']}", headers=me)
    assert r.status_code == 200, r.text
    receipt = r.json()
    assert (
        receipt["amount_vnd"] == 45000 and receipt["office"] == off.code and receipt["method"] == "cash_door"
    )
    assert sum(line["amount_vnd"] for line in receipt["lines"]) == 45000
    assert "phone" not in r.text and citizen.phone not in r.text
    stranger = await citizen_headers(client, demo.citizens[CITIZEN + 1].phone)
    assert (await client.get(f"/api/v1/receipts/{first['receipt_no']}", headers=stranger)).status_code == 404
    assert (
        await client.get(f"/api/v1/receipts/{first['receipt_no']}", headers=other.headers)
    ).status_code == 404
    assert (
        await client.get(f"/api/v1/receipts/{first['receipt_no']}", headers=off.dispatcher.headers)
    ).status_code == 200
    url = receipt["print_url"]
    path = url[url.index("/receipts/") :]
    page = await client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert first["receipt_no"] in page.text and "<svg" in page.text and "Biên lai" in page.text
    assert citizen.full_name not in page.text
    assert (await client.get(path.split("?")[0] + "?v=0000")).status_code == 404
    assert (await client.get(path.split("?")[0])).status_code == 404
    # ... and in the inbox.
    inbox = (await client.get("/api/v1/notifications", headers=me)).json()
    items = inbox["items"] if isinstance(inbox, dict) else inbox
    assert any(first["receipt_no"] in (n.get("title_vi") or "") for n in items), inbox


async def test_cancelled_visit_and_prepaid(client: httpx.AsyncClient, demo: Any, engine: AsyncEngine) -> None:
    off = await ms.office(client, demo, 8, couriers=1)
    (courier,) = off.couriers
    appt, prepaid = await ms.visits(engine, demo, off, courier.id, 2, citizen_index=CITIZEN + 2)
    me = await citizen_headers(client, demo.citizens[CITIZEN + 2].phone)
    r = await client.post(
        f"/api/v1/appointments/{appt}/cancel",
        json={"reason": "Bận / busy", "reason_code": "citizen_request"},
        headers=me,
    )
    assert r.status_code == 200, r.text
    before = await ms.ledger_snapshot(engine)
    r = await client.post("/api/v1/collections", json=_collect(appt, 45000), headers=courier.headers)
    assert r.status_code == 409 and r.json()["code"] == "appointment_cancelled", r.text
    assert (await ms.ledger_snapshot(engine))[:2] == before[:2]
    # "Already paid online": nothing collected; the answer says what is due.
    r = await client.post(
        "/api/v1/collections", json=_collect(prepaid, 45000, "online_vnpay"), headers=courier.headers
    )
    assert (
        r.status_code == 200 and r.json()["receipt_no"] is None and r.json()["outstanding_vnd"] in (0, 45000)
    )


async def test_cancelling_a_paid_visit_reverses_the_due_and_owes_the_money_back(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    off = await ms.office(client, demo, 8, couriers=1)
    (courier,) = off.couriers
    (appt,) = await ms.visits(engine, demo, off, courier.id, 1, citizen_index=CITIZEN + 5)
    citizen = demo.citizens[CITIZEN + 5]
    r = await client.post("/api/v1/collections", json=_collect(appt, 20000), headers=courier.headers)
    assert r.status_code == 200 and r.json()["outstanding_vnd"] == 25000, r.text
    me = await citizen_headers(client, citizen.phone)
    body = {"reason": "Đổi ý / changed my mind", "reason_code": "citizen_request"}
    r = await client.post(f"/api/v1/appointments/{appt}/cancel", json=body, headers=me)
    assert r.status_code == 200, r.text
    assert await ms.balance_of(engine, accounts.refund_pending(citizen.id)) == -20000
    async with __import__("backend.db", fromlist=["x"]).session_factory(engine)() as session:
        from backend.money import dues

        assert await dues.receivable_of(session, [appt]) == (0, 0)
    assert (await ms.ledger_snapshot(engine))[2] == 0


async def test_offline_batch_collects_once(client: httpx.AsyncClient, demo: Any, engine: AsyncEngine) -> None:
    off = await ms.office(client, demo, 8, couriers=1)
    (courier,) = off.couriers
    appt, other = await ms.visits(engine, demo, off, courier.id, 2, citizen_index=CITIZEN + 3)
    batch = {
        "collections": [
            {**_collect(appt, 45000, event="off-1"), "client_at": "2026-01-01T08:00:00+07:00"},
            _collect(other, 99999999, event="off-2"),
        ]
    }
    r = await client.post("/api/v1/events/batch", json=batch, headers=courier.headers)
    assert r.status_code in (200, 201), r.text
    res = r.json()["collections"]
    assert res[0]["accepted"] and not res[0]["duplicate"] and res[0]["receipt_no"]
    assert not res[1]["accepted"] and res[1]["error"] == "more_than_due"
    snap = await ms.ledger_snapshot(engine)
    again = (await client.post("/api/v1/events/batch", json=batch, headers=courier.headers)).json()[
        "collections"
    ]
    assert again[0]["duplicate"] and again[0]["receipt_no"] == res[0]["receipt_no"]
    assert await ms.ledger_snapshot(engine) == snap
    assert await ms.balance_of(engine, accounts.courier_cash(courier.id)) == 45000


async def test_cashup_signed_by_both_and_day_closes(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    off = await ms.office(client, demo, 7)  # no other test collects money at this office
    courier, idle = off.couriers
    assert off.dispatcher is not None
    disp = off.dispatcher.headers
    (appt,) = await ms.visits(engine, demo, off, courier.id, 1, citizen_index=CITIZEN + 4)
    r = await client.post("/api/v1/collections", json=_collect(appt, 45000), headers=courier.headers)
    assert r.status_code == 200, r.text
    url = f"/api/v1/post-offices/{off.code}/cashups"
    day = (await client.get(url, headers=disp)).json()
    assert day["closable"] is False
    row = next(c for c in day["couriers"] if c["courier_id"] == courier.id)
    assert row["cash_held_vnd"] == 45000 and row["collected_vnd"] == 45000 and row["cashup"] is None
    # Short by 5,000 đồng: a note is required; then signed by the courier, pending.
    r = await client.post(url, json={"counted_cash_vnd": 40000}, headers=courier.headers)
    assert (
        r.status_code == 422
        and r.json()["code"] == "cashup_mismatch"
        and r.json()["expected_cash_vnd"] == 45000
    )
    r = await client.post(
        url, json={"counted_cash_vnd": 40000, "note": "Thiếu tiền lẻ / short"}, headers=courier.headers
    )
    assert r.status_code == 201, r.text
    cu = r.json()
    assert cu["status"] == "pending" and cu["discrepancy_vnd"] == -5000
    r = await client.post(url, json={"counted_cash_vnd": 40000, "note": "lần hai"}, headers=courier.headers)
    assert r.status_code == 409 and r.json()["code"] == "cashup_exists"
    close = f"/api/v1/post-offices/{off.code}/cashups/close?day={cu['day']}"
    r = await client.post(close, headers=disp)
    assert (
        r.status_code == 409 and r.json()["code"] == "day_not_closable" and courier.id in r.json()["couriers"]
    )
    # Another office's dispatcher may not confirm; this office's does, once.
    other_disp = await ms.account(client, "dispatcher", demo.post_offices[9].code)
    confirm = f"/api/v1/cashups/{cu['id']}/confirm"
    r = await client.post(confirm, json={}, headers=other_disp.headers)
    assert r.status_code == 404
    r = await client.post(confirm, json={"note": "Đã đếm lại"}, headers=disp)
    assert r.status_code == 200 and r.json()["status"] == "confirmed" and r.json()["dispatcher_signed_at"]
    r = await client.post(confirm, json={}, headers=disp)
    assert r.status_code == 409 and r.json()["code"] == "already_confirmed"
    # The ledger moved the cash: courier 0, office +40,000, the shortfall on the courier's discrepancy.
    assert await ms.balance_of(engine, accounts.courier_cash(courier.id)) == 0
    assert await ms.balance_of(engine, accounts.courier_discrepancy(courier.id)) == 5000
    r = await client.post(close, headers=disp)
    assert r.status_code == 200 and r.json()["closable"] is True, r.text
    idle_row = next(c for c in r.json()["couriers"] if c["courier_id"] == idle.id)
    assert idle_row["cash_held_vnd"] == 0 and idle_row["cashup"] is None  # nothing to cash up
    # The close is stored with who and when; a second close, and any cash-up of the day after it: 409.
    closed = r.json()
    assert closed["closed_by"] == off.dispatcher.id and closed["closed_at"], closed
    r = await client.post(close, headers=disp)
    assert r.status_code == 409 and r.json()["code"] == "day_closed", r.text
    r = await client.post(url, json={"counted_cash_vnd": 0, "day": cu["day"]}, headers=idle.headers)
    assert r.status_code == 409 and r.json()["code"] == "day_closed", r.text
    day = (await client.get(url, params={"day": cu["day"]}, headers=disp)).json()
    assert day["closed_at"] == closed["closed_at"] and day["closed_by"] == off.dispatcher.id
    # Reports: the day's cash of the office, as JSON and CSV with a BOM.
    rep = await client.get("/api/v1/reports/money/cash", params={"day": cu["day"]}, headers=disp)
    assert rep.status_code == 200, rep.text
    assert any(row["courier_id"] == courier.id and row["cash_vnd"] == 45000 for row in rep.json()["rows"])
    csv = await client.get(
        "/api/v1/reports/money/cash", params={"day": cu["day"], "format": "csv"}, headers=disp
    )
    assert csv.status_code == 200 and csv.text.startswith("\ufeff") and "45000" in csv.text
