"""``PrivateReadMiddleware`` on a small app of its own: a stored answer is sent only to a caller the handler's guards
admit, only when it is a private entry, only for GET, and the handler answers everything else."""

import uuid
from typing import Any

import pytest
from litestar import Litestar, Request, get
from litestar.middleware import ASGIMiddleware
from litestar.testing import AsyncTestClient
from litestar.types import ASGIApp, Receive, Scope, Send

from backend.lib import answer_cache
from backend.lib.auth import Principal, requires
from backend.lib.private_reads import OPT, PrivateReadMiddleware
from backend.lib.problems import EXCEPTION_HANDLERS
from schemas.enums import Role
from tests.support.answers import entry

STORED = b'{"stored":true}'


class _SignedIn(ASGIMiddleware):
    """Stands for the bearer middleware: the caller's role from a header, none without it."""

    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        role = dict(scope["headers"]).get(b"x-role")
        scope["user"] = Principal(uuid.uuid4(), Role(role.decode())) if role else None
        await next_app(scope, receive, send)


def _stored(request: Request[Any, Any, Any], principal: Principal) -> answer_cache.Entry | None:
    kind = request.query_params.get("kind")
    return (
        None
        if kind == "none"
        else entry(STORED, private=kind != "shared", policy="private, no-cache", etag='"s"')
    )


@get("/r", guards=[requires(Role.courier)], opt={OPT: _stored}, sync_to_thread=False)
def handler() -> dict[str, bool]:
    return {"handler": True}


@pytest.fixture
def app() -> Litestar:
    return Litestar(
        [handler], middleware=[_SignedIn(), PrivateReadMiddleware()], exception_handlers=EXCEPTION_HANDLERS
    )


@pytest.mark.parametrize(
    ("role", "query", "status", "body"),
    [
        ("courier", "", 200, STORED),  # admitted, a private entry: sent by the middleware
        ("courier", "?kind=none", 200, b'{"handler":true}'),  # nothing stored: the handler
        ("courier", "?kind=shared", 200, b'{"handler":true}'),  # not a private entry: never sent from here
        ("citizen", "", 403, None),  # the guard refuses before anything stored is looked at
        ("leadership", "", 403, None),
        (None, "", 401, None),  # not signed in: the handler's guard answers
    ],
)
async def test_stored_answers_go_only_to_callers_the_guards_admit(
    app: Litestar, role: str | None, query: str, status: int, body: bytes | None
) -> None:
    headers = {"x-role": role} if role else {}
    async with AsyncTestClient(app) as client:
        r = await client.get(f"/r{query}", headers=headers)
    assert r.status_code == status, r.text
    if body is not None:
        assert r.content == body
    else:
        assert b"stored" not in r.content


async def test_a_304_when_the_tag_matches_and_the_headers_of_a_stored_answer(app: Litestar) -> None:
    async with AsyncTestClient(app) as client:
        sent = await client.get("/r", headers={"x-role": "courier"})
        again = await client.get("/r", headers={"x-role": "courier", "If-None-Match": '"s"'})
    assert sent.headers["etag"] == '"s"' and sent.headers["cache-control"] == "private, no-cache"
    assert sent.headers["content-length"] == str(len(STORED))
    assert again.status_code == 304 and again.content == b""
