"""Reference data caches well (issue 19): a strong ETag and Cache-Control, 304 on a current If-None-Match."""

import httpx
import pytest

from backend.lib.etag import entity_tag, matches
from tests.conftest import staff_headers

pytestmark = pytest.mark.asyncio(loop_scope="session")

REFERENCE = [
    "/api/v1/units/provinces",
    "/api/v1/units/communes?limit=5",
    "/api/v1/organisations?limit=5",
    "/api/v1/procedures?limit=5",
    "/api/v1/calendar?year=2026",
]


@pytest.mark.parametrize("url", REFERENCE)
async def test_tagged_and_revalidated(client: httpx.AsyncClient, url: str) -> None:
    first = await client.get(url)
    assert first.status_code == 200, first.text
    tag = first.headers["etag"]
    assert tag.startswith('"') and not tag.startswith("W/"), "a strong tag"
    assert tag == entity_tag(first.content)
    assert first.headers["cache-control"] == "public, max-age=3600"
    again = await client.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag and again.headers["cache-control"] == "public, max-age=3600"
    stale = await client.get(url, headers={"If-None-Match": '"0000", W/"1111"'})
    assert stale.status_code == 200 and stale.content == first.content


async def test_one_tag_per_answer(client: httpx.AsyncClient) -> None:
    a = await client.get("/api/v1/procedures?limit=5")
    b = await client.get("/api/v1/procedures?limit=5&offset=5")
    assert a.headers["etag"] != b.headers["etag"]
    one = (await client.get("/api/v1/procedures?limit=1")).json()["items"][0]
    r = await client.get(f"/api/v1/procedures/{one['code']}")
    assert r.status_code == 200 and "etag" in r.headers
    assert (
        await client.get(f"/api/v1/procedures/{one['code']}", headers={"If-None-Match": "*"})
    ).status_code == 304


async def test_a_change_gives_a_new_tag(client: httpx.AsyncClient) -> None:
    """An admin's calendar decision changes the year's answer: the client's old copy is no longer current."""
    admin = await staff_headers(client, "admin")
    year = 2031
    before = await client.get(f"/api/v1/calendar?year={year}")
    tag = before.headers["etag"]
    r = await client.put(
        f"/api/v1/calendar/overrides/{year}-03-14",
        json={"kind": "off", "source": "Quyết định thử nghiệm / test decision"},
        headers=admin,
    )
    assert r.status_code in (200, 201), r.text
    try:
        after = await client.get(f"/api/v1/calendar?year={year}", headers={"If-None-Match": tag})
        assert after.status_code == 200 and after.headers["etag"] != tag
    finally:
        await client.delete(f"/api/v1/calendar/overrides/{year}-03-14", headers=admin)
    back = await client.get(f"/api/v1/calendar?year={year}", headers={"If-None-Match": tag})
    assert back.status_code == 304, "the same data gives the same tag again"


async def test_errors_and_other_operations_are_not_tagged(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/procedures/no-such-procedure")
    assert r.status_code == 404 and "etag" not in r.headers
    r = await client.get("/api/v1/calendar?year=1900")
    assert r.status_code == 400 and "etag" not in r.headers
    assert "etag" not in (await client.get("/health")).headers


async def test_if_none_match_comparison() -> None:
    tag = entity_tag(b"{}")
    assert (
        matches(tag, tag) and matches(f'"x", {tag}', tag) and matches(f"W/{tag}", tag) and matches("*", tag)
    )
    assert not matches("", tag) and not matches('"x"', tag) and not matches(tag[:-2] + '"', tag)
