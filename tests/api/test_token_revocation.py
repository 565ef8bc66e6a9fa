"""Revoking tokens (a per-account token version, claim ``ver``) and the desk feed's single-use tickets
(issue 17: items 2 and 11, tokens never in URLs)."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from litestar import Litestar
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.settings import get_settings
from schemas.accounts import Citizen, StaffUser, StreamTicket
from schemas.base import utcnow
from tests.api.test_notices import _free_port
from tests.conftest import staff_headers
from tests.support.listener import account_checks_follow_others

PASSWORD = "mat-khau-dai-1"
TICKETS = StreamTicket.__table__  # type: ignore[attr-defined]


async def _new_staff(client: httpx.AsyncClient, role: str, org: str) -> dict[str, Any]:
    """A fresh account (revoking a shared demo account's tokens would break other tests' cached tokens)."""
    body = {
        "username": f"{role}-rev-{uuid.uuid4().hex[:8]}",
        "full_name": "Trần Thị Thu Hồi",
        "role": role,
        "organisation": org,
        "password": PASSWORD,
    }
    r = await client.post("/api/v1/staff", json=body, headers=await staff_headers(client, "admin"))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _login(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = await client.post("/api/v1/auth/staff/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def _citizen(client: httpx.AsyncClient, phone: str) -> dict[str, str]:
    r = await client.post("/api/v1/auth/citizen/verify", json={"phone": phone, "code": "123456"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def _patch(client: httpx.AsyncClient, user_id: str, body: dict[str, Any]) -> httpx.Response:
    return await client.patch(
        f"/api/v1/staff/{user_id}", json=body, headers=await staff_headers(client, "admin")
    )


def _revoked(r: httpx.Response) -> bool:
    return r.status_code == 401 and str(r.json()["type"]).endswith("account_changed")


async def test_a_new_password_revokes_the_accounts_tokens(client: httpx.AsyncClient, demo: Any) -> None:
    user = await _new_staff(client, "courier", demo.post_offices[3].code)
    old = await _login(client, user["username"])
    assert (await client.get("/api/v1/me", headers=old)).status_code == 200
    assert (await _patch(client, user["id"], {"password": "mat-khau-moi-2"})).status_code == 200
    assert _revoked(await client.get("/api/v1/me", headers=old))
    fresh = await _login(client, user["username"], "mat-khau-moi-2")
    assert (await client.get("/api/v1/me", headers=fresh)).status_code == 200
    # Changing only the name ends nothing.
    assert (await _patch(client, user["id"], {"full_name": "Trần Thị Mới"})).status_code == 200
    assert (await client.get("/api/v1/me", headers=fresh)).status_code == 200


async def test_a_role_or_organisation_change_revokes_the_accounts_tokens(
    client: httpx.AsyncClient, demo: Any
) -> None:
    po, other = demo.post_offices[3], demo.post_offices[4]
    user = await _new_staff(client, "courier", po.code)
    old = await _login(client, user["username"])
    r = await _patch(client, user["id"], {"role": "dispatcher"})
    assert r.status_code == 200 and r.json()["role"] == "dispatcher", r.text
    assert r.json()["organisation_code"] == po.code
    assert _revoked(await client.get("/api/v1/me", headers=old))
    as_dispatcher = await _login(client, user["username"])
    assert (await client.get("/api/v1/me", headers=as_dispatcher)).json()["role"] == "dispatcher"
    # A role that does not fit the organisation is refused, and revokes nothing.
    bad = await _patch(client, user["id"], {"role": "desk"})
    assert bad.status_code == 422 and bad.json()["type"].endswith("role_org_mismatch")
    assert (await client.get("/api/v1/me", headers=as_dispatcher)).status_code == 200
    # Moved to another post office: the token issued for the first one stops working.
    assert (await _patch(client, user["id"], {"organisation": other.code})).status_code == 200
    assert _revoked(await client.get("/api/v1/me", headers=as_dispatcher))
    # An admin cannot change their own role.
    admin_id = (await client.get("/api/v1/me", headers=await staff_headers(client, "admin"))).json()["id"]
    r = await _patch(client, admin_id, {"role": "desk"})
    assert r.status_code == 422 and r.json()["type"].endswith("self_role")


async def test_an_admin_revokes_a_staff_accounts_sessions(client: httpx.AsyncClient, demo: Any) -> None:
    user = await _new_staff(client, "courier", demo.post_offices[3].code)
    first, second = await _login(client, user["username"]), await _login(client, user["username"])
    url = f"/api/v1/staff/{user['id']}/revoke-sessions"
    assert (await client.post(url, headers=first)).status_code == 403
    assert (await client.post(url, headers=await staff_headers(client, "dispatcher04"))).status_code == 403
    assert (await client.post(url, headers=await staff_headers(client, "admin"))).status_code == 204
    assert _revoked(await client.get("/api/v1/me", headers=first))
    assert _revoked(await client.get("/api/v1/me", headers=second))
    assert (await client.get("/api/v1/me", headers=await _login(client, user["username"]))).status_code == 200
    missing = f"/api/v1/staff/{uuid.uuid4()}/revoke-sessions"
    assert (await client.post(missing, headers=await staff_headers(client, "admin"))).status_code == 404


async def test_a_citizen_signs_out_everywhere(client: httpx.AsyncClient) -> None:
    phone = "+84900000093"
    phone_a, phone_b = await _citizen(client, phone), await _citizen(client, phone)
    assert (await client.get("/api/v1/me", headers=phone_a)).status_code == 200
    assert (await client.post("/api/v1/auth/logout-all")).status_code == 401
    assert (await client.post("/api/v1/auth/logout-all", headers=phone_a)).status_code == 204
    assert _revoked(await client.get("/api/v1/me", headers=phone_a))
    assert _revoked(await client.get("/api/v1/me", headers=phone_b))
    again = await _citizen(client, phone)
    assert (await client.get("/api/v1/me", headers=again)).status_code == 200
    # Another citizen is untouched.
    assert (await client.get("/api/v1/me", headers=await _citizen(client, "+84900000094"))).status_code == 200


async def test_a_token_without_a_version_is_refused(client: httpx.AsyncClient, demo: Any) -> None:
    me = await client.get("/api/v1/me", headers=await staff_headers(client, "admin"))
    now = utcnow()
    claims: dict[str, Any] = {
        "sub": me.json()["id"],
        "role": "admin",
        "org": None,
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "iss": "hoso-buudien",
    }
    secret = get_settings().secret_key
    for extra, status in (({}, 401), ({"ver": "0"}, 401), ({"ver": True}, 401), ({"ver": 0}, 200)):
        token = jwt.encode({**claims, **extra}, secret, algorithm="HS256")
        r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == status, (extra, r.text)


# --- the desk feed's tickets ------------------------------------------------------------------------------


async def _ticket(client: httpx.AsyncClient, desk: str, headers: dict[str, str]) -> httpx.Response:
    return await client.post(f"/api/v1/desks/{desk}/feed-ticket", headers=headers)


@contextlib.asynccontextmanager
async def _served(app: Litestar) -> AsyncIterator[str]:
    """The app behind a real HTTP server (the in-process transport buffers a whole stream)."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(400):
            if server.started:
                break
            await asyncio.sleep(0.05)
        assert server.started
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await serving


async def test_a_feed_ticket_opens_the_feed_once(client: httpx.AsyncClient, app: Litestar, demo: Any) -> None:
    desk = demo.commune_desks[demo.post_offices[5].commune_code]
    clerk = await _login(client, (await _new_staff(client, "desk", desk.code))["username"])
    assert (await _ticket(client, desk.code, {})).status_code == 401
    r = await _ticket(client, desk.code, clerk)
    assert r.status_code == 201, r.text
    assert r.json()["expires_in"] == 60
    ticket = r.json()["ticket"]
    assert len(ticket) >= 40
    url = f"/api/v1/desks/{desk.code}/feed?ticket={ticket}"
    async with _served(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
        async with http.stream("GET", url) as stream:
            assert stream.status_code == 200
            async with asyncio.timeout(20):
                async for line in stream.aiter_lines():
                    if line.startswith("event: ready"):
                        break
        second = await http.get(url)
        assert second.status_code == 401 and second.json()["type"].endswith("invalid_ticket")
    assert (await client.get(f"/api/v1/desks/{desk.code}/feed?ticket=nonsense")).status_code == 401


async def test_a_feed_ticket_used_concurrently_opens_one_feed(
    client: httpx.AsyncClient, app: Litestar, demo: Any
) -> None:
    """Redeeming is one statement (DELETE … RETURNING): of several requests racing with one ticket, exactly
    one gets the stream (on PostgreSQL, each on its own connection)."""
    desk = demo.commune_desks[demo.post_offices[5].commune_code]
    clerk = await _login(client, (await _new_staff(client, "desk", desk.code))["username"])
    ticket = (await _ticket(client, desk.code, clerk)).json()["ticket"]
    url = f"/api/v1/desks/{desk.code}/feed?ticket={ticket}"
    async with _served(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:

        async def attempt() -> int:
            response = await http.send(http.build_request("GET", url), stream=True)
            await response.aclose()
            return response.status_code

        statuses = await asyncio.gather(*(attempt() for _ in range(6)))
    assert sorted(statuses) == [200] + [401] * 5, statuses


async def test_feed_tickets_expire_and_check_the_account(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    desk = demo.commune_desks[demo.post_offices[5].commune_code]
    other = demo.commune_desks[demo.post_offices[6].commune_code]
    user = await _new_staff(client, "desk", desk.code)
    clerk = await _login(client, user["username"])
    feed = f"/api/v1/desks/{desk.code}/feed"

    # A token in the URL is refused outright, valid or not.
    token = clerk["Authorization"].split()[1]
    r = await client.get(f"{feed}?access_token={token}")
    assert r.status_code == 400 and r.json()["type"].endswith("token_in_url")

    # Expired.
    ticket = (await _ticket(client, desk.code, clerk)).json()["ticket"]
    async with engine.begin() as conn:
        await conn.execute(
            update(TICKETS)
            .where(TICKETS.c.user_id == uuid.UUID(user["id"]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    r = await client.get(f"{feed}?ticket={ticket}")
    assert r.status_code == 401 and r.json()["type"].endswith("invalid_ticket")

    # Another desk's feed: no ticket for it; a ticket for one desk does not open another's.
    assert (await _ticket(client, other.code, clerk)).status_code == 403
    assert (await _ticket(client, "82-NOPE", clerk)).status_code == 404
    admin = await staff_headers(client, "admin")
    admins = (await _ticket(client, desk.code, admin)).json()["ticket"]
    assert (await client.get(f"/api/v1/desks/{other.code}/feed?ticket={admins}")).status_code == 403

    # Issued, then the account is disabled before it is used.
    ticket = (await _ticket(client, desk.code, clerk)).json()["ticket"]
    assert (await _patch(client, user["id"], {"active": False})).status_code == 200
    assert _revoked(await client.get(f"{feed}?ticket={ticket}"))
    assert _revoked(await _ticket(client, desk.code, clerk))


async def test_an_open_feed_ends_when_the_clerk_is_disabled(
    client: httpx.AsyncClient, app: Litestar, demo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backend.notices import controllers

    monkeypatch.setattr(controllers, "FEED_CHECK_S", 0.2)
    desk = demo.commune_desks[demo.post_offices[5].commune_code]
    user = await _new_staff(client, "desk", desk.code)
    clerk = await _login(client, user["username"])
    ticket = (await _ticket(client, desk.code, clerk)).json()["ticket"]
    seen: list[str] = []
    url = f"/api/v1/desks/{desk.code}/feed?ticket={ticket}"
    async with (
        _served(app) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as http,
        http.stream("GET", url) as stream,
    ):
        assert stream.status_code == 200
        async with asyncio.timeout(10):  # the server closes the stream well before
            async for line in stream.aiter_lines():
                seen.append(line)
                if line.startswith("event: ready"):
                    assert (await _patch(client, user["id"], {"active": False})).status_code == 200
    assert "event: revoked" in seen, seen


async def test_a_revocation_made_by_another_process_is_seen_at_once(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process (here: another engine) bumps a citizen's and a staff account's version. PostgreSQL:
    this process's cached checks are dropped by NOTIFY (triggers of migrations 0002 and 0005), long before
    STAFF_CHECK_TTL_S. SQLite has no NOTIFY: the cached check expires instead (its TTL shortened to 1 s here so
    the test stays short; the mechanism is the same at 30 s)."""
    from backend.db import make_engine

    await account_checks_follow_others(engine, monkeypatch)
    citizen = await _citizen(client, "+84900000095")
    staff = await _new_staff(client, "courier", demo.post_offices[3].code)
    clerk = await _login(client, staff["username"])
    citizen_id = (await client.get("/api/v1/me", headers=citizen)).json()["id"]  # cached from here on
    assert (await client.get("/api/v1/me", headers=clerk)).status_code == 200
    elsewhere = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        async with elsewhere.begin() as conn:
            for model, id_ in ((Citizen, citizen_id), (StaffUser, staff["id"])):
                table = model.__table__  # type: ignore[attr-defined]
                await conn.execute(
                    table.update()
                    .where(table.c.id == uuid.UUID(id_))
                    .values(token_version=table.c.token_version + 1)
                )
    finally:
        await elsewhere.dispose()
    for headers in (citizen, clerk):
        for _ in range(100):  # 5 s, far below the 30 s the cache would otherwise keep the old answer
            r = await client.get("/api/v1/me", headers=headers)
            if r.status_code != 200:
                break
            await asyncio.sleep(0.05)
        assert _revoked(r), r.text
