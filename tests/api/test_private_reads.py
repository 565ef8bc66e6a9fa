"""Private stored answers sent before the handler runs (issue 24, ``backend.lib.private_reads``): the courier's route
and a caller's inbox, repeated, are answered by the middleware right after the token is verified, with the same
status, bytes and headers the handler gives; never to a revoked token, another account or a caller the guards
refuse; never when the personal-data audit must first record the read; and a query the middleware does not read
plainly goes to the handler (whose validation answers it).

Office 82-BD-02 on days no other test plans there (50 and 56 days ahead); citizens +84920000095, +84920000097 and +84920000098 are used by no other test
(its token is signed out below, so it is made here, not taken from the shared token cache).
"""

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import session_factory
from backend.lib import answer_cache, private_reads
from backend.notices import inbox_answer
from backend.planning import courier, route_answer
from notifications import inbox
from notifications.outbox import enqueue
from tests.api.planning_support import H, next_weekday
from tests.conftest import citizen_headers, staff_headers
from tests.support.route_reads import COURIERS, DISPATCHER, audit_rows, published_courier

PHONE = "+84920000097"
ROUTE = "/api/v1/couriers/me/route"
INBOX = "/api/v1/notifications"
SAME = ("content-type", "content-length", "etag", "cache-control")


@pytest.fixture(autouse=True)
def _answers_live_their_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without a NOTIFY listener (SQLite) a stored answer lives 1.5 s, and the inbox trusts a version 1 s: the
    # repeats below must meet them alive on a loaded machine too.
    monkeypatch.setattr(answer_cache, "SHORT_TTL_S", route_answer.MAX_AGE_S)
    monkeypatch.setattr(inbox_answer, "TRUST_S", 60.0)


def _counted(monkeypatch: pytest.MonkeyPatch, module: Any) -> Callable[[], int]:
    """Counts the calls of ``module.answer`` (what the handler calls) from now on."""
    calls = [0]
    real = module.answer

    async def counting(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return await real(*args, **kwargs)

    monkeypatch.setattr(module, "answer", counting)
    return lambda: calls[0]


def _same_answer(fast: httpx.Response, slow: httpx.Response) -> None:
    assert fast.status_code == slow.status_code and fast.content == slow.content
    assert {h: fast.headers.get(h) for h in SAME} == {h: slow.headers.get(h) for h in SAME}


async def _audit_rows(engine: AsyncEngine, staff_id: uuid.UUID) -> int:
    return len(await audit_rows(engine, staff_id))


async def test_a_repeated_route_read_is_sent_before_the_handler_and_recorded_once(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = next_weekday(56)
    windows = [("pickup", 8 * H, 10 * H), ("pickup", 9 * H, 11 * H), ("pickup", 13 * H, 15 * H)]
    username = await published_courier(client, engine, demo, day, windows)
    other = next(u for u in COURIERS if u != username)
    dispatcher = await staff_headers(client, DISPATCHER)
    me, staff_id = await staff_headers(client, username), demo.staff[username].id
    handled = _counted(monkeypatch, route_answer)
    url = f"{ROUTE}?date={day.isoformat()}"

    first = await client.get(url, headers=me)
    assert first.status_code == 200 and len(first.json()["stops"]) == 3, first.text
    assert handled() == 1
    rows = await _audit_rows(engine, staff_id)

    # The same answer to the same account, address and purpose: the middleware's, the same bytes and headers.
    again = await client.get(url, headers=me)
    _same_answer(again, first)
    unchanged = await client.get(url, headers={**me, "If-None-Match": first.headers["etag"]})
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged.headers["etag"] == first.headers["etag"]
    assert handled() == 1, "a repeat went through the handler"
    assert await _audit_rows(engine, staff_id) == rows

    # Another purpose is another disclosure: the handler answers and records it; its repeat is the middleware's.
    why = await client.get(url, headers={**me, "X-Purpose": "goi-lai"})
    _same_answer(why, first)
    assert handled() == 2 and await _audit_rows(engine, staff_id) == rows + 3
    await client.get(url, headers={**me, "X-Purpose": "goi-lai"})
    assert handled() == 2

    # Another courier asking with this answer's tag gets their own route, never this one or a 304 for it.
    theirs = await client.get(
        url, headers={**await staff_headers(client, other), "If-None-Match": first.headers["etag"]}
    )
    assert theirs.status_code == 200 and theirs.headers["etag"] != first.headers["etag"]
    assert handled() == 3

    # A dispatcher is refused by the route's guard, not answered.
    refused = await client.get(url, headers=dispatcher)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden_role"

    # A query the middleware does not read plainly goes to the handler: its validation, or its answer.
    assert (await client.get(f"{ROUTE}?date=not-a-day", headers=me)).status_code == 400
    extra = await client.get(f"{url}&x=1", headers=me)
    _same_answer(extra, first)
    assert handled() == 4  # the 400 is Litestar's parameter validation, before the handler's body runs

    # A stop changes: the stored answer is dropped, the handler answers (and records) the new route.
    r = await client.post(f"/api/v1/couriers/me/stops/{first.json()['stops'][0]['id']}/start", headers=me)
    assert r.status_code == 200, r.text
    changed = await client.get(url, headers={**me, "If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200 and changed.headers["etag"] != first.headers["etag"]
    assert handled() == 5


async def _me(client: httpx.AsyncClient, headers: dict[str, str]) -> uuid.UUID:
    return uuid.UUID((await client.get("/api/v1/citizens/me", headers=headers)).json()["id"])


async def _notify(engine: AsyncEngine, citizen_id: uuid.UUID) -> None:
    params = {
        "appointment_id": str(uuid.uuid4()),
        "start": "2026-12-07T08:00:00+07:00",
        "end": "2026-12-07T10:00:00+07:00",
        "post_office": "x",
    }
    async with session_factory(engine)() as session:
        enqueue(
            session,
            recipient_kind="citizen",
            recipient_id=citizen_id,
            template="appointment.booked",
            params=params,
        )
        await session.commit()


async def test_a_repeated_inbox_read_is_sent_before_the_handler_and_never_after_sign_out(
    client: httpx.AsyncClient, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = await client.post("/api/v1/auth/citizen/verify", json={"phone": PHONE, "code": "123456"})
    assert r.status_code == 200, r.text
    mine = {"Authorization": f"Bearer {r.json()['access_token']}"}
    await _notify(engine, await _me(client, mine))  # an inbox no other account's equals
    handled = _counted(monkeypatch, inbox_answer)

    first = await client.get(INBOX, headers=mine)
    assert first.status_code == 200, first.text
    again = await client.get(INBOX, headers=mine)
    _same_answer(again, first)
    tagged = await client.get(INBOX, headers={**mine, "If-None-Match": first.headers["etag"]})
    assert tagged.status_code == 304
    assert handled() == 1, "a repeat went through the handler"
    # The same page named in the plain forms the apps send is the same stored page.
    assert (
        await client.get(f"{INBOX}?limit=50&offset=0&unread=false", headers=mine)
    ).content == first.content
    assert handled() == 1

    # Another page, a spelling the middleware does not read, or a value out of bounds: the handler's.
    assert (await client.get(f"{INBOX}?unread=true", headers=mine)).status_code == 200
    assert (await client.get(f"{INBOX}?unread=1", headers=mine)).status_code == 200
    assert (await client.get(f"{INBOX}?limit=0", headers=mine)).status_code == 400
    assert (await client.get(f"{INBOX}?limit=10&limit=20", headers=mine)).status_code in (200, 400)
    assert handled() == 4  # limit=0 is refused by Litestar's parameter validation, before the handler's body

    # Another account never gets this page, even asking with its tag.
    other = await citizen_headers(client, "+84920000098")
    theirs = await client.get(INBOX, headers={**other, "If-None-Match": first.headers["etag"]})
    assert theirs.status_code == 200 and handled() == 5

    # A new notice drops the stored page: the handler answers the new one.
    await _notify(engine, await _me(client, mine))
    newer = await client.get(INBOX, headers={**mine, "If-None-Match": first.headers["etag"]})
    assert newer.status_code == 200 and newer.json()["total"] == first.json()["total"] + 1
    assert handled() == 6

    # Signed out: the token is refused before any stored answer is looked at.
    assert (await client.post("/api/v1/auth/logout-all", headers=mine)).status_code == 204
    gone = await client.get(INBOX, headers={**mine, "If-None-Match": newer.headers["etag"]})
    assert gone.status_code == 401 and "items" not in gone.text
    assert handled() == 6


@pytest.mark.parametrize(
    ("query", "names", "expected"),
    [
        (b"", ("date",), {}),
        (b"date=2026-12-07", ("date",), {"date": "2026-12-07"}),
        (b"date=2026-12-07&purpose=x", ("date", "purpose"), {"date": "2026-12-07", "purpose": "x"}),
        (b"date=2026-12-07&date=2026-12-08", ("date",), None),  # twice: the handler decides
        (b"x=1", ("date",), None),  # unknown name
        (b"date", ("date",), None),  # no "=": not strictly formed
        (b"date=%FF", ("date",), {"date": "\ufffd"}),
        (b"\xff=1", ("date",), None),  # not ASCII
        (b"a=1&&b=2", ("a", "b"), None),  # not strictly formed
    ],
)
def test_plain_query(query: bytes, names: tuple[str, ...], expected: dict[str, str] | None) -> None:
    assert private_reads.plain_query({"query_string": query}, names) == expected  # type: ignore[arg-type]


def test_plain_values() -> None:
    assert private_reads.plain_day("2026-12-07") is not None
    for text in ("20261207", "2026-W49-1", "2026-02-30", "2026-12-07T00:00", " 2026-12-07", "٢٠٢٦-١٢-٠٧"):
        assert private_reads.plain_day(text) is None, text
    assert private_reads.plain_count(None, 50, 1, 500) == 50
    assert private_reads.plain_count("500", 50, 1, 500) == 500
    for text in ("0", "501", "-1", "+5", "1e3", "٥", " 5", "5 "):
        assert private_reads.plain_count(text, 50, 1, 500) is None, text
    assert [private_reads.plain_flag(t) for t in (None, "false", "true")] == [False, False, True]
    for text in ("1", "0", "True", "yes", ""):
        assert private_reads.plain_flag(text) is None, text


async def test_concurrent_misses_of_one_route_share_one_load_and_one_record(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = next_weekday(50)
    windows = [("pickup", 8 * H, 10 * H), ("pickup", 13 * H, 15 * H)]
    username = await published_courier(client, engine, demo, day, windows)
    me, staff_id = await staff_headers(client, username), demo.staff[username].id
    loads = _counted_loads(monkeypatch)
    rows = await _audit_rows(engine, staff_id)
    url = f"{ROUTE}?date={day.isoformat()}"
    answers = await asyncio.gather(*(client.get(url, headers=me) for _ in range(12)))
    assert {r.status_code for r in answers} == {200} and len({r.content for r in answers}) == 1
    assert loads() == 1, "each concurrent miss loaded the route itself"
    assert await _audit_rows(engine, staff_id) == rows + len(answers[0].json()["stops"])


def _counted_loads(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """Counts the loads of a route (``courier.my_route``), each held a moment so that misses overlap."""
    calls = [0]
    real = courier.my_route

    async def counting(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        await asyncio.sleep(0.05)
        return await real(*args, **kwargs)

    monkeypatch.setattr(courier, "my_route", counting)
    return lambda: calls[0]


def _counted_versions(
    monkeypatch: pytest.MonkeyPatch, during: Callable[[], None] = lambda: None
) -> Callable[[], int]:
    """Counts the reads of an inbox's version, each held a moment (``during`` runs meanwhile)."""
    calls = [0]
    real = inbox.version

    async def counting(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        version = await real(*args, **kwargs)
        await asyncio.sleep(0.05)
        during()
        return version

    monkeypatch.setattr(inbox, "version", counting)
    return lambda: calls[0]


async def test_concurrent_inbox_reads_share_one_version_read(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = await citizen_headers(client, "+84920000095")
    assert (await client.get(INBOX, headers=mine)).status_code == 200
    monkeypatch.setattr(inbox_answer, "TRUST_S", 0.0)  # every request must know the version
    versions = _counted_versions(monkeypatch)
    answers = await asyncio.gather(*(client.get(INBOX, headers=mine) for _ in range(12)))
    assert {r.status_code for r in answers} == {200} and len({r.content for r in answers}) == 1
    assert versions() == 1, "each concurrent request read the version itself"


async def test_a_version_read_while_a_write_ends_the_trust_is_not_trusted(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = await citizen_headers(client, "+84920000095")
    monkeypatch.setattr(inbox_answer, "_probed", {})  # nothing trusted yet
    versions = _counted_versions(monkeypatch, during=inbox_answer._end_trust)  # a write commits meanwhile
    assert (await client.get(INBOX, headers=mine)).status_code == 200
    assert (await client.get(INBOX, headers=mine)).status_code == 200
    assert versions() == 2, "a version read before a write was trusted after it"
