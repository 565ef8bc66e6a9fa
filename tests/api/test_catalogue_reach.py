"""Catalogue edits reach the public reads at once (issue 23): a province's postal eligibility in the slot listing
as in booking (preview and booking agree), a procedure's fee in the next quote, deactivated organisations out
of listings, booking and routing, and (on PostgreSQL) a change made by another process."""

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx

from tests.api.test_booking_flow import place_of
from tests.api.test_catalogue_edits import BASIS, at, book, create, new_code
from tests.conftest import staff_headers

PO = 7  # read-only here: no booking of these tests succeeds at it


async def _slots(client: httpx.AsyncClient, lat: float, lon: float, **q: Any) -> httpx.Response:
    return await client.get("/api/v1/slots", params={"kind": "pickup", "lat": lat, "lon": lon, **q})


async def _eligibility(
    client: httpx.AsyncClient, admin: dict[str, str], code: str, province: str, pickup: bool, start: str
) -> None:
    body = {
        "province_code": province,
        "postal_pickup": pickup,
        "postal_return": True,
        "basis": BASIS,
        "effective_from": start,
    }
    r = await client.post(f"/api/v1/catalogue/procedures/{code}/eligibility", json=body, headers=admin)
    assert r.status_code == 201, r.text


async def test_slots_follow_the_provinces_postal_list_as_booking_does(
    client: httpx.AsyncClient, demo: Any
) -> None:
    admin = await staff_headers(client, "admin")
    code = new_code()
    await create(client, admin, code)
    lat, lon = place_of(demo, PO)
    province = demo.post_offices[PO].province_code
    r = await _slots(client, lat, lon, procedure=code)
    assert r.status_code == 200, r.text
    windows = [s["start"] for s in r.json()["items"] if s["remaining"] > 0]
    assert len(windows) >= 3

    # not by post in this province from now: the listing is the booking's 422, with the same code
    await _eligibility(client, admin, code, province, False, at(timedelta(0)))
    r = await _slots(client, lat, lon, procedure=code)
    assert r.status_code == 422 and r.json()["code"] == "procedure_not_postal", r.text
    assert r.json()["province"] == province
    r = await book(client, "+84920000030", lat, lon, windows[0], code)
    assert r.status_code == 422 and r.json()["code"] == "procedure_not_postal", r.text

    # allowed again a moment later, then not from a later window on: the listing offers none from then,
    # booking refuses that window
    await _eligibility(client, admin, code, province, True, at(timedelta(seconds=1)))
    await asyncio.sleep(1.2)
    cut = datetime.fromisoformat(windows[-1]) - timedelta(minutes=1)
    await _eligibility(client, admin, code, province, False, cut.isoformat())
    items = (await _slots(client, lat, lon, procedure=code)).json()["items"]
    late = [s for s in items if datetime.fromisoformat(s["start"]) >= cut]
    early = [s for s in items if s["start"] == windows[0]]
    assert late and all(s["remaining"] == 0 for s in late)
    assert early and early[0]["remaining"] > 0
    r = await book(client, "+84920000030", lat, lon, windows[-1], code)
    assert r.status_code == 422 and r.json()["code"] == "procedure_not_postal", r.text

    # a listing without a procedure, or for a delivery, is not the procedure's business
    assert (await _slots(client, lat, lon)).status_code == 200
    r = await client.get(
        "/api/v1/slots", params={"kind": "delivery", "lat": lat, "lon": lon, "procedure": code}
    )
    assert r.status_code == 200, r.text
