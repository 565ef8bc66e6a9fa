"""Hostile or careless input gets a 4xx problem, never a 500 (issue 17, item 13)."""

import uuid

import httpx
import pytest

from schemas.base import utcnow
from tests.conftest import staff_headers

LOGIN = "/api/v1/auth/staff/login"


def nested(levels: int) -> bytes:
    return b'{"username":' + b"[" * levels + b"]" * levels + b',"password":"x"}'


async def test_a_time_without_offset_is_a_422_naming_the_field(client: httpx.AsyncClient) -> None:
    courier = await staff_headers(client, "courier18")
    r = await client.post(
        f"/api/v1/couriers/me/stops/{uuid.uuid4()}/start", json={"at": "2026-12-05T08:00:00"}, headers=courier
    )
    assert r.status_code == 422, r.text
    assert r.json()["type"].endswith("/naive_time") and r.json()["errors"][0]["key"] == "at"
    # One naive client_at among aware ones: sorting the batch by time compared them (a 500).
    aware = utcnow().isoformat()
    events = [
        {"client_event_id": f"e{i}", "item_id": "HS123456785VN", "code": "EMA", "client_at": at}
        for i, at in enumerate([aware, "2026-12-05T08:00:00", aware])
    ]
    r = await client.post("/api/v1/events/batch", json={"events": events}, headers=courier)
    assert r.status_code == 422, r.text
    assert r.json()["type"].endswith("/naive_time")
    assert [e["key"] for e in r.json()["errors"]] == ["events.1.client_at"]
    # Naive and other mistakes together: the usual 400 listing them all.
    events[0]["code"] = "X"
    r = await client.post("/api/v1/events/batch", json={"events": events}, headers=courier)
    assert r.status_code == 400 and r.json()["type"].endswith("/validation"), r.text
    # A query instant without an offset.
    desk = await staff_headers(client, "desk01")
    r = await client.get("/api/v1/dossiers", params={"due_before": "2026-12-05T08:00:00"}, headers=desk)
    assert r.status_code == 422 and r.json()["type"].endswith("/naive_time"), r.text


@pytest.mark.parametrize("levels", [1000, 100_000])
@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None])
async def test_deeply_nested_json_is_a_400(
    client: httpx.AsyncClient, levels: int, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    r = await client.post(LOGIN, content=nested(levels), headers=headers)
    assert r.status_code == 400, r.text
    assert r.json()["type"].endswith("/json_too_deep")
    courier = await staff_headers(client, "courier18")
    r = await client.post(
        "/api/v1/events/batch", content=b'{"events":' + b"[" * levels, headers={**headers, **courier}
    )
    assert r.status_code == 400 and r.json()["type"].endswith("/json_too_deep"), r.text


async def test_normal_and_moderately_nested_bodies_are_unaffected(client: httpx.AsyncClient) -> None:
    r = await client.post(LOGIN, json={"username": "courier18", "password": "demo1234"})
    assert r.status_code == 200, r.text
    r = await client.post(LOGIN, content=nested(20), headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["type"].endswith("/validation"), r.text
    # Brackets inside strings do not count.
    r = await client.post(LOGIN, json={"username": "[" * 5000, "password": "{" * 100})
    assert r.status_code in (400, 401, 422) and not r.json()["type"].endswith("/json_too_deep"), r.text


async def test_a_csv_cell_past_128_kib_is_a_422_naming_its_line(client: httpx.AsyncClient) -> None:
    header = "code,procedure_code,agency_code,channel,postal_pickup,postal_return,received_at,due_at,resolved_at,returned_at"
    lines = [header, "A-1,1.001193,82-STP,direct,0,0,2024-05-06 09:00,,,", f'A-2,"{"x" * 140_000}",,,,,,,,']
    admin = await staff_headers(client, "admin")
    files = {"file": ("big.csv", "\n".join(lines).encode(), "text/csv")}
    r = await client.post("/api/v1/reports/imports", files=files, headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["type"].endswith("/import_rejected")
    assert [(e["line"], "128 KiB" in e["reason"]) for e in r.json()["errors"]] == [(3, True)]
