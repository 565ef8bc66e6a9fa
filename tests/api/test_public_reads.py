"""Public reads served from rendered answers (issue 24, backend/lib/answer_cache.py): a change made through the
API is seen by the very next read (the tracking of a dossier, the procedures), ETags and 304, a repeated read
answered from the store, and the per-client limit (429 problem with Retry-After while other clients are served).

Own phone numbers +84920000093, 094 and courier23 / dispatcher12 of 82-BD-12.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, cast

import httpx
import pytest
import pytest_asyncio
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.app import create_app
from backend.lib import answer_cache
from backend.settings import Settings
from tests import openapi_check
from tests.api.test_custody_journey import hand, pickup
from tests.conftest import lifespan, staff_headers
from tests.support.two_services import two_services

COURIER, DISPATCHER, OFFICE = "courier23", "dispatcher12", "82-BD-12"


async def test_tracking_shows_a_handover_at_once_and_revalidates(
    client: httpx.AsyncClient, app: Litestar
) -> None:
    item = (await pickup(client, "+84920000093", courier=COURIER))["item_id"]
    url = f"/api/v1/track/{item}"
    first = await client.get(url)
    assert first.status_code == 200, first.text
    tag = first.headers["etag"]
    assert first.headers["cache-control"] == answer_cache.NO_CACHE
    key = ("public", url, b"")
    assert answer_cache.lookup(answer_cache.db_of(app), key) is not None, "the answer is stored"
    again = await client.get(url)
    assert again.content == first.content and again.headers["etag"] == tag
    same = await client.get(url, headers={"If-None-Match": tag})
    assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == tag

    await hand(client, COURIER, DISPATCHER, OFFICE, [item])
    after = await client.get(url, headers={"If-None-Match": tag})
    assert after.status_code == 200, "the handover's commit dropped the stored answer"
    assert after.headers["etag"] != tag
    assert len(after.json()["timeline"]) > len(first.json()["timeline"])
    body = after.text
    for private in ("+8492", "0920000093", "SEAL-0001", "tại nhà công dân"):
        assert private not in body, private


async def test_a_new_procedure_is_listed_by_the_next_read(client: httpx.AsyncClient) -> None:
    code = "H4.PUBLIC.READS"
    url = f"/api/v1/procedures?q={code}"
    before = await client.get(url)
    assert before.status_code == 200 and before.json()["total"] == 0
    admin = await staff_headers(client, "admin")
    body = {
        "code": code,
        "name": "Thủ tục thử nghiệm đọc công khai",
        "name_en": "Public reads test procedure",
        "field": "Thử nghiệm",
        "level": "commune",
        "processing_days": 3,
        "documents": [{"id": "don", "name": "Đơn đề nghị", "original": True}],
        "fee_vnd": 0,
        "charge_vnd": 0,
        "basis": "Thử nghiệm / test",
        "effective_from": datetime.now(UTC).isoformat(),
    }
    r = await client.post("/api/v1/catalogue/procedures", json=body, headers=admin)
    assert r.status_code == 201, r.text
    after = await client.get(url, headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.json()["total"] == 1
    one = await client.get(f"/api/v1/procedures/{code}")
    assert one.status_code == 200 and one.json()["code"] == code


async def _get(app: Litestar, path: str, peer: str, headers: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))  # type: ignore[arg-type]
    hooks = openapi_check.response_hooks(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", event_hooks=hooks) as c:
        return await c.get(path, headers=headers or {})


async def test_one_client_over_the_limit_gets_429_while_others_are_served(engine: AsyncEngine) -> None:
    settings = Settings(database_url=str(engine.url), public_rate_per_s=0.01, public_rate_burst=3)  # type: ignore[call-arg]
    app = create_app(settings, engine=engine)
    async with lifespan(app):
        path = "/api/v1/procedures?limit=2"
        seen = [(await _get(app, path, "198.51.100.71")).status_code for _ in range(4)]
        assert seen == [200, 200, 200, 429], seen
        r = await _get(app, path, "198.51.100.71")
        assert r.status_code == 429
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "rate_limited" and int(r.headers["retry-after"]) >= 1
        tracked = await _get(app, "/api/v1/track/HS000000000VN", "198.51.100.71")
        assert tracked.status_code == 429, "every public read counts"
        assert (await _get(app, path, "198.51.100.72")).status_code == 200, "another client is served"
        signed = await _get(app, "/health", "198.51.100.71")
        assert signed.status_code == 200, "operations that are not public reads are not limited here"


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_bucket(engine: AsyncEngine) -> None:
    limits = {"public_rate_per_s": 0.01, "public_rate_burst": 2, "trusted_proxies": "10.0.0.0/24"}
    app = create_app(Settings(database_url=str(engine.url), **limits), engine=engine)  # type: ignore[arg-type]
    async with lifespan(app):
        path = "/api/v1/units/provinces"
        one = {"X-Forwarded-For": "198.51.100.81"}
        seen = [(await _get(app, path, "10.0.0.1", one)).status_code for _ in range(3)]
        assert seen == [200, 200, 429], seen
        other = await _get(app, path, "10.0.0.1", {"X-Forwarded-For": "198.51.100.82"})
        assert other.status_code == 200, "the proxy's other client is not limited with the first"


async def test_private_answers_need_a_key_naming_the_caller(client: httpx.AsyncClient, app: Litestar) -> None:
    from litestar import Request

    request: Request[Any, Any, Any] = Request(cast(Any, {"type": "http", "app": app, "path": "/x"}))

    async def load() -> tuple[Any, list[str]]:
        return {}, []

    try:
        await answer_cache.serve(request, load, private=True)
    except ValueError:
        pass
    else:
        raise AssertionError("a private answer under the shared key was accepted")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def two(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[httpx.AsyncClient, ...]]:
    """Two services (``python -m backend serve``, one process each) on one fresh PostgreSQL database."""
    async with two_services(tmp_path_factory.mktemp("reads"), citizens=100) as services:
        yield services.clients


async def test_a_change_through_one_instance_is_tracked_at_the_other_within_milliseconds(
    two: tuple[httpx.AsyncClient, ...],
) -> None:
    """The answer stored at A is dropped by PostgreSQL's NOTIFY of B's commit: seen well before the 1.5 s an
    answer lives when nobody listens (the read is made just before the change, so only the NOTIFY explains
    it)."""
    a, b = two
    item = (await pickup(b, "+84920000094", courier=COURIER))["item_id"]
    r = await b.post(
        "/api/v1/handovers", json={"to": OFFICE, "items": [item]}, headers=await staff_headers(b, COURIER)
    )
    assert r.status_code == 201, r.text
    confirm = f"/api/v1/handovers/{r.json()['id']}/confirm"
    dispatcher = await staff_headers(b, DISPATCHER)
    url = f"/api/v1/track/{item}"
    before = await a.get(url)
    assert before.status_code == 200 and (await a.get(url)).content == before.content
    r = await b.post(confirm, json={"scanned": [item]}, headers=dispatcher)
    assert r.status_code == 200, r.text
    changed = time.monotonic()
    while True:
        after = await a.get(url)
        if after.headers["etag"] != before.headers["etag"]:
            break
        assert time.monotonic() - changed < answer_cache.SHORT_TTL_S / 2, (
            "A still answers the stored tracking"
        )
        await asyncio.sleep(0.01)
    assert len(after.json()["timeline"]) > len(before.json()["timeline"])
