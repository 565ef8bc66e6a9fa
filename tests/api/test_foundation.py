"""The foundation: reference data, sign-in, roles, scoping, problem details, the schema page."""

import uuid
from typing import Any

import httpx

from tests import openapi_check
from tests.conftest import citizen_headers, staff_headers

Client = httpx.AsyncClient


async def test_units_after_2025_reform(client: Client) -> None:
    r = await client.get("/api/v1/units/provinces")
    assert r.status_code == 200
    provinces = r.json()
    assert len(provinces) == 34
    assert sum(p["commune_count"] for p in provinces) == 3321
    r = await client.get("/api/v1/units/communes", params={"limit": 1})
    assert r.json()["total"] == 3321
    r = await client.get("/api/v1/units/communes", params={"province": "82", "limit": 500})
    body = r.json()
    assert body["total"] == len(body["items"]) == 102
    assert all(-90 < c["lat"] < 90 and 100 < c["lon"] < 110 for c in body["items"])


async def test_organisations_by_kind_with_served_communes(client: Client, demo: Any) -> None:
    r = await client.get("/api/v1/organisations", params={"kind": "post_office", "province": "82"})
    assert r.status_code == 200
    body = r.json()
    # The demo's 12 offices, and any an admin created in an earlier test (tests/api/test_catalogue_edits.py).
    codes = {po["code"] for po in body["items"]}
    assert {po.code for po in demo.post_offices} <= codes and body["total"] == len(codes) >= 12
    served = [c for po in body["items"] for c in po["served_communes"]]
    assert len(served) == len(set(served)) == 102  # every commune served by exactly one post office
    one = body["items"][0]
    assert {"code", "kind", "name", "commune", "lat", "lon", "opening_hours"} <= one.keys()
    r = await client.get(f"/api/v1/organisations/{one['code']}")
    assert r.status_code == 200 and r.json()["code"] == one["code"]
    r = await client.get("/api/v1/organisations", params={"kind": "spaceship"})
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_staff_sign_in_and_me(client: Client) -> None:
    r = await client.post(
        "/api/v1/auth/staff/login", json={"username": "dispatcher01", "password": "demo1234"}
    )
    assert r.status_code == 200
    token = r.json()
    assert token["token_type"] == "bearer" and token["expires_in"] > 0
    assert token["user"]["role"] == "dispatcher" and token["user"]["organisation_code"].startswith("82-BD-")
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.status_code == 200 and me.json()["username"] == "dispatcher01"
    courier = await client.get("/api/v1/me", headers=await staff_headers(client, "courier01"))
    assert courier.json()["courier"]["vehicle"] == "motorbike"


async def test_wrong_password_and_bad_tokens_are_401_problems(client: Client) -> None:
    r = await client.post("/api/v1/auth/staff/login", json={"username": "admin", "password": "nope"})
    assert r.status_code == 401
    problem = r.json()
    assert problem["status"] == 401 and problem["title"] and problem["detail"]
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.post("/api/v1/auth/staff/login", json={"username": "ghost", "password": "demo1234"})
    assert r.status_code == 401
    r = await client.get("/api/v1/me", headers={"Authorization": "Bearer not.a.jwt"})
    assert r.status_code == 401
    r = await client.get("/api/v1/me")
    assert r.status_code == 401


async def test_malformed_bodies_are_400_not_500(client: Client) -> None:
    for body in ({}, {"username": 3}, {"username": "", "password": ""}):
        r = await client.post("/api/v1/auth/staff/login", json=body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["status"] == 400
    r = await client.post(
        "/api/v1/auth/staff/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400


async def test_citizen_sign_in_with_test_number(client: Client) -> None:
    r = await client.post("/api/v1/auth/citizen/verify", json={"phone": "0900000007", "code": "123456"})
    assert r.status_code == 200
    assert r.json()["user"]["phone"] == "+84900000007"
    r = await client.post("/api/v1/auth/citizen/verify", json={"phone": "+84900000007", "code": "000000"})
    assert r.status_code == 401
    r = await client.post("/api/v1/auth/citizen/verify", json={"phone": "12345", "code": "123456"})
    assert r.status_code in (400, 422)


async def test_citizen_otp_flow_with_logged_code(client: Client, caplog: object) -> None:
    import logging

    phone = f"+8497{uuid.uuid4().int % 10_000_000:07d}"
    assert isinstance(caplog, __import__("_pytest.logging", fromlist=["LogCaptureFixture"]).LogCaptureFixture)
    with caplog.at_level(logging.WARNING, logger="backend.otp"):
        r = await client.post("/api/v1/auth/citizen/otp", json={"phone": phone})
    assert r.status_code == 202
    code = next(
        rec.getMessage().split(": ")[1].split()[0] for rec in caplog.records if phone in rec.getMessage()
    )
    bad = await client.post(
        "/api/v1/auth/citizen/verify",
        json={"phone": phone, "code": "999999" if code != "999999" else "111111"},
    )
    assert bad.status_code == 401
    ok = await client.post("/api/v1/auth/citizen/verify", json={"phone": phone, "code": code})
    assert ok.status_code == 200, ok.text
    again = await client.post("/api/v1/auth/citizen/verify", json={"phone": phone, "code": code})
    assert again.status_code == 401  # a code is used once


async def test_otp_requests_are_limited_per_phone(client: Client) -> None:
    phone = f"+8496{uuid.uuid4().int % 10_000_000:07d}"
    statuses = [
        (await client.post("/api/v1/auth/citizen/otp", json={"phone": phone})).status_code for _ in range(7)
    ]
    assert statuses[:5] == [202] * 5
    assert statuses[5:] == [429, 429]


async def test_citizen_cannot_read_another_citizen(client: Client) -> None:
    alice = await citizen_headers(client, "+84900000011")
    bob = await citizen_headers(client, "+84900000012")
    alice_id = (await client.get("/api/v1/me", headers=alice)).json()["id"]
    assert (await client.get(f"/api/v1/citizens/{alice_id}", headers=alice)).status_code == 200
    r = await client.get(f"/api/v1/citizens/{alice_id}", headers=bob)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    # Staff with no task for Alice learn nothing, not even that she exists (tests/api/test_privacy_scoping.py).
    r = await client.get(f"/api/v1/citizens/{alice_id}", headers=await staff_headers(client, "courier01"))
    assert r.status_code == 404
    r = await client.get(f"/api/v1/citizens/{alice_id}", headers=await staff_headers(client, "desk01"))
    assert r.status_code == 404
    r = await client.get(f"/api/v1/citizens/{alice_id}", headers=await staff_headers(client, "admin"))
    assert r.status_code == 200 and r.json()["phone"] == "+84900000011"
    r = await client.get("/api/v1/citizens/not-a-uuid", headers=alice)
    assert r.status_code in (400, 404)


async def test_openapi_and_offline_docs(client: Client) -> None:
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path in ("/api/v1/auth/staff/login", "/api/v1/me", "/api/v1/units/provinces", "/api/v1/procedures"):
        assert path in paths
    page = await client.get("/schema")
    assert page.status_code == 200
    html = page.text
    assert "swagger-ui-bundle.js" in html
    assert "cdn." not in html and "unpkg" not in html  # loads with no internet
    asset = await client.get("/schema-assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.content) > 100_000


async def test_health(client: Client) -> None:
    r = await client.get("/health")
    assert r.status_code == 200 and r.json() == {
        "status": "ok",
        "demo_history": {
            "state": "absent",
            "dossiers_written": 0,
            "dossiers_planned": 0,
        },  # no demo history here
    }


async def test_login_endpoints_are_rate_limited(engine: object) -> None:
    from backend.app import create_app
    from backend.settings import Settings
    from tests.conftest import lifespan

    app = create_app(Settings(database_url=str(engine.url), auth_rate_per_minute=5), engine=engine)  # type: ignore[attr-defined]
    async with (
        lifespan(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://t",
            event_hooks=openapi_check.response_hooks(app),
        ) as c,
    ):  # type: ignore[arg-type]
        body = {"username": "admin", "password": "wrong"}
        statuses = [(await c.post("/api/v1/auth/staff/login", json=body)).status_code for _ in range(7)]
        assert statuses[:5] == [401] * 5
        assert statuses[5] == 429
        r = await c.post("/api/v1/auth/staff/login", json=body)
        assert r.status_code == 429 and r.headers["content-type"].startswith("application/problem+json")
        # Each sign-in route has its own bucket (tests/api/test_rate_limits.py).
        r = await c.post("/api/v1/auth/citizen/verify", json={"phone": "+84900000001", "code": "123456"})
        assert r.status_code == 200
        # other endpoints are not throttled
        assert (await c.get("/api/v1/units/provinces")).status_code == 200


async def test_times_are_shown_in_vietnam_time(client: Client, demo: object) -> None:
    from backend.lib.responses import localise

    r = await client.get("/api/v1/me", headers=await staff_headers(client, "admin"))
    assert r.status_code == 200
    import datetime as dt

    instant = dt.datetime(2026, 2, 16, 1, 30, tzinfo=dt.UTC)
    shown = localise({"a": [instant], "b": {"c": instant}})
    assert shown["a"][0].isoformat() == "2026-02-16T08:30:00+07:00" == shown["b"]["c"].isoformat()
    po = demo.post_offices[0]  # type: ignore[attr-defined]
    slots = await client.get("/api/v1/slots", params={"kind": "pickup", "lat": po.lat, "lon": po.lon})
    assert slots.status_code == 200, slots.text
    assert slots.json()["items"] and all(s["start"].endswith("+07:00") for s in slots.json()["items"])


async def test_citizen_saves_addresses_in_served_communes(client: Client, demo: object) -> None:
    alice = await citizen_headers(client, "+84900000021")
    commune = demo.communes[5]  # type: ignore[attr-defined]
    body = {"address": "Số 12 đường Ấp Bắc", "lat": commune.lat, "lon": commune.lon}
    r = await client.post("/api/v1/me/addresses", json=body, headers=alice)
    assert r.status_code == 201, r.text
    saved = r.json()
    assert saved["commune_code"] == commune.code and saved["is_default"]
    me = (await client.get("/api/v1/me", headers=alice)).json()
    assert saved["id"] in {a["id"] for a in me["addresses"]}
    far = await client.post("/api/v1/me/addresses", json={**body, "lat": 21.03, "lon": 105.85}, headers=alice)
    assert far.status_code == 422
    bad = await client.post("/api/v1/me/addresses", json={**body, "lat": 123}, headers=alice)
    assert bad.status_code == 400
    bob = await citizen_headers(client, "+84900000022")
    assert (await client.delete(f"/api/v1/me/addresses/{saved['id']}", headers=bob)).status_code == 404
    assert (await client.delete(f"/api/v1/me/addresses/{saved['id']}", headers=alice)).status_code == 204
    staff = await staff_headers(client, "desk01")
    assert (await client.post("/api/v1/me/addresses", json=body, headers=staff)).status_code == 403


async def test_absurd_paging_and_dates_are_4xx(client: Client) -> None:
    """Found by fuzzing the OpenAPI schema: values past a 64-bit integer or the year range were 500s."""
    staff = await staff_headers(client, "dispatcher01")
    for path in ("/api/v1/procedures", "/api/v1/organisations", "/api/v1/notifications", "/api/v1/dossiers"):
        r = await client.get(path, params={"offset": 18446744073709551617}, headers=staff)
        assert r.status_code == 400, (path, r.status_code)
    r = await client.get(
        "/api/v1/appointments", params={"from": "0001-01-01", "to": "0008-01-06"}, headers=staff
    )
    assert r.status_code == 422 and r.json()["status"] == 422
    # Found by tests/api/test_schema_fuzz.py: the month before the last day of year 9999 overflowed (500).
    admin = await staff_headers(client, "admin")
    r = await client.get("/api/v1/reports/dossiers", params={"to": "9999-12-31"}, headers=admin)
    assert r.status_code == 422 and r.json()["type"].endswith("/date_out_of_range")


async def test_rate_limit_is_shared_through_redis(engine: object) -> None:
    """Two service instances behind a load balancer count sign-in attempts together when REDIS_URL is set."""
    import uuid

    from backend.app import create_app
    from backend.settings import Settings
    from tests.conftest import lifespan

    url = "redis://127.0.0.1:6379/15"
    settings = Settings(database_url=str(engine.url), auth_rate_per_minute=4, redis_url=url)  # type: ignore[attr-defined]
    apps = [create_app(settings, engine=engine) for _ in range(2)]  # type: ignore[arg-type]
    client_ip = f"10.9.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"  # a fresh key in Redis per run
    statuses = []
    async with lifespan(apps[0]), lifespan(apps[1]):
        for i in range(6):
            transport = httpx.ASGITransport(app=apps[i % 2], client=(client_ip, 1234))  # type: ignore[arg-type]
            hooks = openapi_check.response_hooks(apps[i % 2])
            async with httpx.AsyncClient(transport=transport, base_url="http://t", event_hooks=hooks) as c:
                r = await c.post("/api/v1/auth/staff/login", json={"username": "admin", "password": "x"})
                statuses.append(r.status_code)
    assert statuses[:4] == [401] * 4
    assert statuses[4:] == [429, 429]
