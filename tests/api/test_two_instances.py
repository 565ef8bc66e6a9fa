"""A stateless web tier (issue 24): two API instances (``python -m backend serve``, one process each, on two
ports) against one PostgreSQL database and one Redis; a change made through one is seen through the other at
once: a token ended (sign-out everywhere), sign-in attempts counted (rate limits), an office's booking rules
(the per-process booking caches, kept coherent by PostgreSQL's LISTEN/NOTIFY), and a desk's live feed (Redis
channels: the handover is made through one instance, the clerk listens on the other).

Its own PostgreSQL database (whatever TEST_DATABASES says: the instances share it) and Redis db 12, emptied
first.
"""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from tests.api.test_custody_journey import hand, pickup
from tests.conftest import DEMO_PASSWORD, staff_headers
from tests.support.two_services import ACCOUNT_LIMIT, REDIS_URL, two_services


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, Any]]:
    r = aioredis.from_url(REDIS_URL)
    await r.flushdb()
    await r.aclose()
    async with two_services(tmp_path_factory.mktemp("two"), citizens=120) as two:
        a, b = two.clients
        yield {"a": a, "b": b, "demo": two.demo, "log": two.log}


async def _login(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    r = await client.post("/api/v1/auth/staff/login", json={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_a_sign_out_through_one_instance_ends_the_token_at_the_other(world: dict[str, Any]) -> None:
    a, b = world["a"], world["b"]
    token = await _login(a, "dispatcher03")
    assert (await b.get("/api/v1/me", headers=token)).status_code == 200
    assert (await a.get("/api/v1/me", headers=token)).status_code == 200  # cached at A now
    r = await b.post("/api/v1/auth/logout-all", headers=token)
    assert r.status_code in (200, 204), r.text
    assert (await a.get("/api/v1/me", headers=token)).status_code == 401
    assert (await b.get("/api/v1/me", headers=token)).status_code == 401


async def test_sign_in_attempts_are_counted_across_instances(world: dict[str, Any]) -> None:
    a, b = world["a"], world["b"]
    seen = []
    for i in range(ACCOUNT_LIMIT + 2):
        r = await (a, b)[i % 2].post(
            "/api/v1/auth/staff/login", json={"username": "agency09", "password": "x"}
        )
        seen.append(r.status_code)
    assert seen == [401] * ACCOUNT_LIMIT + [429, 429], seen


async def test_booking_rules_changed_through_one_instance_apply_at_the_other_at_once(
    world: dict[str, Any],
) -> None:
    a, b, demo = world["a"], world["b"], world["demo"]
    po = demo.post_offices[3]
    place = next(c for c in demo.communes if c.code in demo.served[po.id])
    query = {"lat": place.lat, "lon": place.lon, "kind": "pickup"}

    async def last_day(client: httpx.AsyncClient) -> str:
        r = await client.get("/api/v1/slots", params=query)
        assert r.status_code == 200, r.text
        body = r.json()
        days = [w["start"][:10] for w in body["items"]]
        assert days, body
        return max(days)

    before = await last_day(b)  # B's caches warm
    admin = await _login(a, "admin")
    url = f"/api/v1/post-offices/{po.code}/booking-settings"
    rules = (await a.get(url, headers=admin)).json()
    fields = ("window_minutes", "min_notice_minutes", "horizon_days", "cutoff_minutes", "travel_minutes")
    body = {k: rules[k] for k in (*fields, "service_minutes")}
    body["horizon_days"] = 3
    r = await a.put(url, json=body, headers=admin)
    assert r.status_code == 200, r.text
    after = await last_day(b)
    assert after < before, (before, after)
    assert (await b.get(url, headers=admin)).json()["horizon_days"] == 3


async def test_a_desk_feed_on_one_instance_hears_a_handover_made_through_the_other(
    world: dict[str, Any],
) -> None:
    a, b, demo = world["a"], world["b"], world["demo"]
    po = demo.post_offices[0]
    desk = demo.commune_desks[po.commune_code]
    item = (await pickup(b, "+84900000041"))["item_id"]
    await hand(b, "courier01", "dispatcher01", po.code, [item])
    clerk = await staff_headers(a, "desk02")
    r = await a.post(f"/api/v1/desks/{desk.code}/feed-ticket", headers=clerk)
    assert r.status_code == 201, r.text
    found = False
    async with a.stream("GET", f"/api/v1/desks/{desk.code}/feed?ticket={r.json()['ticket']}") as stream:
        assert stream.status_code == 200
        async with asyncio.timeout(30):
            async for line in stream.aiter_lines():
                if line.startswith("event: ready"):
                    r = await b.post(
                        "/api/v1/handovers",
                        json={"to": desk.code, "items": [item]},
                        headers=await staff_headers(b, "dispatcher01"),
                    )
                    assert r.status_code == 201, r.text
                if line.startswith("data:") and item in line:
                    found = True
                    break
    assert found, "the desk feed on A did not hear the handover made through B"


async def test_a_booking_through_one_instance_changes_the_slots_the_other_keeps(
    world: dict[str, Any],
) -> None:
    """``GET /slots`` answers from rendered bytes kept per process (issue 24): a booking through A reaches B's
    stored answer through the ledger's NOTIFY (migration 0002), delivered at A's commit, before A answers."""
    a, b, demo = world["a"], world["b"], world["demo"]
    po = demo.post_offices[5]
    place = next(c for c in demo.communes if c.code in demo.served[po.id])
    query = {"lat": place.lat, "lon": place.lon, "kind": "pickup"}
    first = await b.get("/api/v1/slots", params=query)
    assert first.status_code == 200, first.text
    tag = first.headers["etag"]
    assert (await b.get("/api/v1/slots", params=query, headers={"If-None-Match": tag})).status_code == 304
    window = next(w for w in first.json()["items"] if w["remaining"] > 0)
    r = await a.post("/api/v1/auth/citizen/verify", json={"phone": "+84920000081", "code": "123456"})
    assert r.status_code == 200, r.text
    body = {
        "kind": "pickup",
        "lat": place.lat,
        "lon": place.lon,
        "procedure": "1.004859",
        "start": window["start"],
    }
    booked = await a.post(
        "/api/v1/appointments", json=body, headers={"Authorization": f"Bearer {r.json()['access_token']}"}
    )
    assert booked.status_code == 201, booked.text
    after = await b.get("/api/v1/slots", params=query, headers={"If-None-Match": tag})
    assert after.status_code == 200, "B's stored answer outlived the booking made through A"
    left = {w["start"]: w["remaining"] for w in after.json()["items"]}
    assert left[window["start"]] < window["remaining"], (window, left)
