"""Staff of a deactivated organisation (issue 23): their sign-in is refused with 403 ``organisation_inactive``
(the right password only: a wrong one stays the same 401), their tokens already issued are refused the same way
from the next request, in the process that deactivated it at once and in another through NOTIFY (PostgreSQL) or
the account check's TTL (SQLite); the organisation's public shape says ``active``, public lists still hide it,
the admins' list (``GET /catalogue/organisations``) shows it.

Each test makes its own organisation and account (deactivating a demo office would break other tests)."""

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import make_engine
from schemas.orgs import Organisation
from tests.api.test_catalogue_edits import BASIS, at
from tests.conftest import staff_headers
from tests.support.listener import account_checks_follow_others

PASSWORD = "mat-khau-don-vi-1"


async def _office_with_dispatcher(client: httpx.AsyncClient, demo: Any) -> tuple[str, str, dict[str, str]]:
    """A new post office, a dispatcher of it signed in: (office code, username, headers)."""
    admin = await staff_headers(client, "admin")
    commune = demo.communes[5]
    code = "82-BD-D" + uuid.uuid4().hex[:5].upper()
    body = {
        "code": code,
        "kind": "post_office",
        "name": "Bưu cục thử ngừng hoạt động",
        "commune_code": commune.code,
        "lat": commune.lat,
        "lon": commune.lon,
    }
    r = await client.post("/api/v1/catalogue/organisations", json=body, headers=admin)
    assert r.status_code == 201, r.text
    username = f"dp-off-{uuid.uuid4().hex[:8]}"
    staff = {"username": username, "full_name": "Lê Văn Ngừng", "role": "dispatcher", "organisation": code}
    r = await client.post("/api/v1/staff", json={**staff, "password": PASSWORD}, headers=admin)
    assert r.status_code == 201, r.text
    return code, username, await _login_ok(client, username)


async def _login(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/v1/auth/staff/login", json={"username": username, "password": password})


async def _login_ok(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    r = await _login(client, username)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _inactive(r: httpx.Response) -> bool:
    return (
        r.status_code == 403
        and r.headers["content-type"].startswith("application/problem+json")
        and r.json()["code"] == "organisation_inactive"
        and r.json()["detail"].index("/") > 0  # Vietnamese, then English
    )


async def test_deactivated_organisation_refuses_sign_in_and_existing_tokens(
    client: httpx.AsyncClient, demo: Any
) -> None:
    code, username, token = await _office_with_dispatcher(client, demo)
    assert (await client.get("/api/v1/me", headers=token)).status_code == 200  # its check cached from here
    r = await client.get(f"/api/v1/organisations/{code}")
    assert r.status_code == 200 and r.json()["active"] is True
    listed = (await client.get("/api/v1/organisations", params={"limit": 200})).json()["items"]
    assert listed and all(o["active"] is True for o in listed)

    admin = await staff_headers(client, "admin")
    change = {"active": False, "basis": BASIS, "effective_from": at(timedelta(0))}
    r = await client.post(f"/api/v1/catalogue/organisations/{code}/changes", json=change, headers=admin)
    assert r.status_code == 201, r.text

    # the token issued before: refused at its next request, on a staff route and on a public one alike
    r = await client.get("/api/v1/me", headers=token)
    assert _inactive(r), r.text
    assert _inactive(await client.get("/api/v1/organisations", headers=token))
    # signing in again: refused, with the reason, for the right password only
    assert _inactive(await _login(client, username))
    r = await _login(client, username, "sai-mat-khau-1")
    assert r.status_code == 401 and r.json()["code"] == "bad_credentials"
    # other staff keep working; the organisation answers by its code, marked, and lists hide it
    assert (await client.get("/api/v1/me", headers=admin)).status_code == 200
    r = await client.get(f"/api/v1/organisations/{code}")
    assert r.status_code == 200 and r.json()["active"] is False
    listed = (await client.get("/api/v1/organisations", params={"kind": "post_office", "limit": 200})).json()
    assert code not in {o["code"] for o in listed["items"]}
    # admins list it, marked; only the deactivated ones with active=false; other staff may not
    url = "/api/v1/catalogue/organisations"
    post_offices: dict[str, str | int] = {"kind": "post_office", "limit": 200}
    everything = (await client.get(url, params=post_offices, headers=admin)).json()["items"]
    assert {o["code"]: o["active"] for o in everything}[code] is False
    assert any(o["active"] for o in everything)
    out = (await client.get(url, params={**post_offices, "active": "false"}, headers=admin)).json()["items"]
    assert code in {o["code"] for o in out} and not any(o["active"] for o in out)
    dispatcher = await staff_headers(client, "dispatcher01")
    assert (await client.get(url, headers=dispatcher)).status_code == 403

    # active again: the token issued before stays revoked (deactivating revoked its staff's sessions); a new
    # sign-in works
    change = {"active": True, "basis": BASIS, "effective_from": at(timedelta(0))}
    r = await client.post(f"/api/v1/catalogue/organisations/{code}/changes", json=change, headers=admin)
    assert r.status_code == 201, r.text
    r = await client.get("/api/v1/me", headers=token)
    assert r.status_code == 401 and r.json()["code"] == "account_changed", r.text
    assert (await client.get("/api/v1/me", headers=await _login_ok(client, username))).status_code == 200


async def test_a_deactivation_made_by_another_process_refuses_tokens(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process (here: another engine, no app code) sets ``organisation.active`` false, as the sweep
    of another instance does. PostgreSQL: the table's NOTIFY (migration 0002) drops this process's cached
    checks at once. SQLite has no NOTIFY: the cached check expires (TTL shortened to 1 s here, 30 s in
    service)."""
    await account_checks_follow_others(engine, monkeypatch)
    code, username, token = await _office_with_dispatcher(client, demo)
    assert (await client.get("/api/v1/me", headers=token)).status_code == 200  # cached
    elsewhere = make_engine(engine.url.render_as_string(hide_password=False))
    table = Organisation.__table__  # type: ignore[attr-defined]
    try:
        async with elsewhere.begin() as conn:
            await conn.execute(table.update().where(table.c.code == code).values(active=False))
    finally:
        await elsewhere.dispose()
    r = None
    for _ in range(100):  # 5 s, far below the 30 s the cache would otherwise keep the old answer
        r = await client.get("/api/v1/me", headers=token)
        if r.status_code != 200:
            break
        await asyncio.sleep(0.05)
    assert r is not None and _inactive(r), r.text if r is not None else None
    assert _inactive(await _login(client, username))
