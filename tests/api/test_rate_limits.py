"""Sign-in rate limits (issue 17, item 15): per client IP and route group, per phone number and per username;
X-Forwarded-For believed only from TRUSTED_PROXIES; a 429 problem with Retry-After."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.app import create_app
from backend.settings import Settings
from tests import openapi_check
from tests.conftest import lifespan

LOGIN = "/api/v1/auth/staff/login"
VERIFY = "/api/v1/auth/citizen/verify"
SEND = "/api/v1/auth/citizen/otp"
WRONG_LOGIN = {"username": "admin", "password": "wrong"}


@asynccontextmanager
async def limited_app(engine: AsyncEngine, **limits: Any) -> AsyncIterator[Litestar]:
    settings = Settings(database_url=str(engine.url), **limits)
    app = create_app(settings, engine=engine)
    async with lifespan(app):
        yield app


async def post(
    app: Litestar, path: str, body: dict[str, Any], *, peer: str = "203.0.113.7", xff: str | None = None
) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))  # type: ignore[arg-type]
    headers = {"X-Forwarded-For": xff} if xff is not None else {}
    hooks = openapi_check.response_hooks(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", event_hooks=hooks) as c:
        return await c.post(path, json=body, headers=headers)


async def test_each_sign_in_route_has_its_own_bucket_per_ip(engine: AsyncEngine) -> None:
    async with limited_app(engine, auth_rate_per_minute=3, auth_account_rate_per_hour=1000) as app:
        statuses = [(await post(app, LOGIN, WRONG_LOGIN)).status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429]
        r = await post(app, LOGIN, WRONG_LOGIN)
        assert r.status_code == 429 and r.headers["content-type"].startswith("application/problem+json")
        assert 0 < int(r.headers["Retry-After"]) <= 60
        assert r.json()["type"].endswith("/rate_limited") and "/" in r.json()["detail"]
        # Exhausting login does not block a citizen's code check from the same address (it did: one bucket).
        ok = await post(app, VERIFY, {"phone": "+84900000001", "code": "123456"})
        assert ok.status_code == 200, ok.text
        # Another address has its own bucket.
        assert (await post(app, LOGIN, WRONG_LOGIN, peer="203.0.113.8")).status_code == 401


async def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(engine: AsyncEngine) -> None:
    async with limited_app(engine, auth_rate_per_minute=2, auth_account_rate_per_hour=1000) as app:
        # From loopback with no trusted proxies configured: a forged header changes nothing.
        statuses = [
            (await post(app, LOGIN, WRONG_LOGIN, peer="127.0.0.1", xff=f"198.51.100.{n}")).status_code
            for n in range(3)
        ]
        assert statuses == [401, 401, 429]


async def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(engine: AsyncEngine) -> None:
    limits = {"auth_rate_per_minute": 2, "auth_account_rate_per_hour": 1000, "trusted_proxies": "10.0.0.0/24"}
    async with limited_app(engine, **limits) as app:
        proxy = "10.0.0.5"

        async def login(xff: str) -> int:
            return (await post(app, LOGIN, WRONG_LOGIN, peer=proxy, xff=xff)).status_code

        # The client wrote the left part; the proxy appended the address it saw (the right-most untrusted).
        assert [await login("6.6.6.6, 198.51.100.1") for _ in range(2)] == [401, 401]
        assert await login("7.7.7.7, 198.51.100.1") == 429  # forging the left part does not help
        assert await login("198.51.100.2") == 401  # another client behind the same proxy
        # Two trusted hops: still the client before them.
        assert await login("198.51.100.1, 10.0.0.9") == 429
        # The proxy's own address is never the client's bucket.
        assert await login("198.51.100.3") == 401


async def test_staff_login_is_limited_per_username_from_any_address(engine: AsyncEngine) -> None:
    async with limited_app(engine, auth_rate_per_minute=1000, auth_account_rate_per_hour=3) as app:
        names = ["dispatcher02", "DISPATCHER02", " dispatcher02 ", "dispatcher02"]
        statuses = [
            (await post(app, LOGIN, {"username": n, "password": "wrong"}, peer=f"198.51.100.{i}")).status_code
            for i, n in enumerate(names)
        ]
        assert statuses == [401, 401, 401, 429]
        r = await post(app, LOGIN, {"username": "dispatcher02", "password": "demo1234"}, peer="198.51.100.99")
        assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= 3600
        other = await post(app, LOGIN, {"username": "dispatcher03", "password": "demo1234"})
        assert other.status_code == 200


async def test_code_checks_are_limited_per_phone_apart_from_sending(engine: AsyncEngine) -> None:
    async with limited_app(engine, auth_rate_per_minute=1000, auth_account_rate_per_hour=2) as app:
        phone = {"phone": "0900000002"}
        verify = [
            (await post(app, VERIFY, {**phone, "code": "000000"}, peer=f"198.51.100.{i}")).status_code
            for i in range(3)
        ]
        assert verify == [401, 401, 429]
        # The same number written another way is the same bucket.
        r = await post(app, VERIFY, {"phone": "+84900000002", "code": "123456"}, peer="198.51.100.50")
        assert r.status_code == 429
        # Sending a code has its own bucket; another number is not affected.
        assert (await post(app, SEND, phone)).status_code == 202
        assert (await post(app, VERIFY, {"phone": "0900000003", "code": "123456"})).status_code == 200
