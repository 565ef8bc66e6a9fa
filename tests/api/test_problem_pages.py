"""A problem's ``type`` is a page of this service that explains its ``code`` (issue 19, RFC 9457 §3.1.1)."""

import httpx
import pytest
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.lib.problem_codes import ProblemCode

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_an_error_type_resolves_to_its_page(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/appointments")  # anonymous
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "not_authenticated"
    assert body["type"] == "http://testserver/problems/not_authenticated", body
    page = await client.get(body["type"].removeprefix("http://testserver"))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "public, max-age=86400"
    text = page.text
    assert '<html lang="vi">' in text and "not_authenticated" in text
    assert text.index("Cần đăng nhập") < text.index("Sign-in required"), "Vietnamese comes first"


async def test_litestar_own_errors_get_a_code_too(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/no-such-thing")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = await client.delete("/api/v1/procedures")
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed", r.text
    assert (await client.get("/problems/method_not_allowed")).status_code == 200


async def test_every_code_has_a_page_and_the_index_lists_them(client: httpx.AsyncClient) -> None:
    index = await client.get("/problems")
    assert index.status_code == 200
    for code in ProblemCode:
        assert f'href="problems/{code.value}"' in index.text
    for code in (ProblemCode.window_full, ProblemCode.handover_code_locked, ProblemCode.validation):
        page = await client.get(f"/problems/{code.value}")
        assert page.status_code == 200 and f"HTTP {code.status}" in page.text


async def test_an_unknown_code_is_a_404_problem(client: httpx.AsyncClient) -> None:
    r = await client.get("/problems/no_such_code")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = await client.get("/problems/%3Cscript%3E")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")


async def test_public_base_url_sets_the_type_uri(app: Litestar, engine: AsyncEngine) -> None:
    from backend.app import create_app

    settings = app.state.settings
    other = create_app(
        type(settings)(database_url=settings.database_url, public_base_url="https://api.example.vn/hoso"),
        engine=engine,
    )
    transport = httpx.ASGITransport(app=other)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://internal:8000") as c:
        r = await c.get("/api/v1/no-such-thing")
    assert r.json()["type"] == "https://api.example.vn/hoso/problems/not_found"
