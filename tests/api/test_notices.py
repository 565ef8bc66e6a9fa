"""Push targets, the in-app inbox and the desk live feed through the API."""

import asyncio
import contextlib
import socket
from typing import Any

import httpx
import uvicorn
from litestar import Litestar

from tests.api.test_custody_journey import hand, pickup
from tests.conftest import citizen_headers, staff_headers


async def test_devices_register_refuse_and_remove(client: httpx.AsyncClient) -> None:
    alice = await citizen_headers(client, "+84900000031")
    bob = await citizen_headers(client, "+84900000032")
    token = "fcm-token-" + "a" * 40
    r = await client.post(
        "/api/v1/devices", json={"token": token, "platform": "android", "app_version": "1.2.0"}, headers=alice
    )
    assert r.status_code == 201, r.text
    assert r.json()["platform"] == "android"
    bad = await client.post("/api/v1/devices", json={"token": token, "platform": "symbian"}, headers=alice)
    assert bad.status_code == 400
    assert (
        await client.post("/api/v1/devices", json={"token": token, "platform": "android"})
    ).status_code == 401
    # Bob cannot take Alice's token (tests/api/test_device_tokens.py); once Alice signs out there, he may.
    r = await client.post("/api/v1/devices", json={"token": token, "platform": "android"}, headers=bob)
    assert r.status_code == 409
    assert (await client.delete(f"/api/v1/devices/{token}", headers=bob)).status_code == 404
    assert (await client.delete(f"/api/v1/devices/{token}", headers=alice)).status_code == 204
    r = await client.post("/api/v1/devices", json={"token": token, "platform": "android"}, headers=bob)
    assert r.status_code == 201
    assert (await client.delete(f"/api/v1/devices/{token}", headers=alice)).status_code == 404
    assert (await client.delete(f"/api/v1/devices/{token}", headers=bob)).status_code == 204
    assert (await client.delete(f"/api/v1/devices/{token}", headers=bob)).status_code == 404


async def test_inbox_shows_what_happened_and_marks_read(client: httpx.AsyncClient) -> None:
    phone = "+84900000033"
    citizen = await citizen_headers(client, phone)
    await pickup(client, phone)  # the courier collects a dossier: the citizen is told
    r = await client.get("/api/v1/notifications", headers=citizen)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] >= 1 and body["unread"] >= 1
    first = body["items"][0]
    assert first["title_vi"] and first["title_en"] and first["read_at"] is None
    assert first["created_at"].endswith("+07:00")
    r = await client.post("/api/v1/notifications/read", json={"ids": [first["id"]]}, headers=citizen)
    assert r.json() == {"marked": 1}
    again = (await client.get("/api/v1/notifications", params={"unread": "true"}, headers=citizen)).json()
    assert first["id"] not in {i["id"] for i in again["items"]}
    # Someone else's inbox is not reachable: marking their ids touches nothing.
    other = await citizen_headers(client, "+84900000034")
    r = await client.post("/api/v1/notifications/read", json={"ids": [first["id"]]}, headers=other)
    assert r.json() == {"marked": 0}
    r = await client.post("/api/v1/notifications/read", json={"ids": ["nope"]}, headers=citizen)
    assert r.status_code == 422
    assert (await client.get("/api/v1/notifications/failed", headers=citizen)).status_code == 403
    assert (
        await client.get("/api/v1/notifications/failed", headers=await staff_headers(client, "admin"))
    ).status_code == 200


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_desk_feed_receives_an_incoming_handover(
    client: httpx.AsyncClient, app: Litestar, demo: Any
) -> None:
    po = demo.post_offices[0]
    desk = demo.commune_desks[po.commune_code]
    clerk = (await staff_headers(client, "desk02"))["Authorization"].split()[1]
    # Access rules first (through the in-process client).
    assert (await client.get(f"/api/v1/desks/{desk.code}/feed")).status_code == 401
    other = await staff_headers(client, "desk01")
    assert (await client.get(f"/api/v1/desks/{desk.code}/feed", headers=other)).status_code == 403
    assert (await client.get("/api/v1/desks/82-NOPE/feed", headers=other)).status_code == 404

    # A real HTTP server for the stream (the in-process transport buffers whole responses).
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(400):  # bounded wait for uvicorn to listen
            if server.started:
                break
            await asyncio.sleep(0.05)
        assert server.started
        item = (await pickup(client, "+84900000035"))["item_id"]
        await hand(client, "courier01", "dispatcher01", po.code, [item])
        events: list[str] = []
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            r = await client.post(
                f"/api/v1/desks/{desk.code}/feed-ticket", headers={"Authorization": f"Bearer {clerk}"}
            )
            assert r.status_code == 201, r.text
            url = f"/api/v1/desks/{desk.code}/feed?ticket={r.json()['ticket']}"
            async with http.stream("GET", url) as stream:
                assert stream.status_code == 200
                assert stream.headers["content-type"].startswith("text/event-stream")
                lines = stream.aiter_lines()
                async with asyncio.timeout(30):
                    async for line in lines:
                        if line.startswith("event: ready"):
                            r = await client.post(
                                "/api/v1/handovers",
                                json={"to": desk.code, "items": [item]},
                                headers=await staff_headers(client, "dispatcher01"),
                            )
                            assert r.status_code == 201, r.text
                        if line.startswith("data:") and item in line:
                            events.append(line)
                            break
        assert events, "the desk feed did not announce the incoming handover"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await serving
