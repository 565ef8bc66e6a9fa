"""Zalo ZNS through the documented OpenAPI against a fake Zalo on 127.0.0.1 (bench/fakes/zns_server.py): the
request the sender builds, the rotating single-use refresh token shared by several processes through the
database (SQLite and PostgreSQL), each class of Zalo error, HTTP 429 with Retry-After, Zalo down then up, and
the webhook signature."""

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.fakes.zns_server import FakeZalo
from notifications.sms.base import Outcome
from notifications.zns import OAuthConfig, TokenStore, ZnsConfig, ZnsSender, codes, webhook
from schemas.zns import ZnsEvent, ZnsMessage, ZnsToken
from tests.notifications.dbfixtures import table_databases
from tests.notifications.support import make_engine

TABLES = [ZnsToken.__table__, ZnsMessage.__table__, ZnsEvent.__table__]  # type: ignore[attr-defined]
TEMPLATE = "302145"
PHONE = "+84912345678"


pg_zns_url, zns_url = table_databases("zns", TABLES, "TRUNCATE zns_event, zns_message, zns_token")


@pytest_asyncio.fixture
async def zdb(zns_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(zns_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def zalo() -> Iterator[FakeZalo]:
    fake = FakeZalo(templates={TEMPLATE: ("ma_ho_so",), "302146": ("ma_ho_so",)}, pending={"302146"}).start()
    yield fake
    fake.stop()


def _store(engine: AsyncEngine, fake: FakeZalo, refresh_token: str | None = None, **kw: object) -> TokenStore:
    config = OAuthConfig(fake.app_id, fake.app_secret, oauth_url=fake.base_url, timeout_s=5)
    return TokenStore(engine, config, refresh_token or fake.refresh_token, **kw)  # type: ignore[arg-type]


@pytest_asyncio.fixture
async def sender(zdb: AsyncEngine, zalo: FakeZalo) -> AsyncIterator[ZnsSender]:
    tokens = _store(zdb, zalo)
    s = ZnsSender(ZnsConfig(base_url=zalo.base_url), tokens)
    yield s
    await s.aclose()
    await tokens.aclose()


async def _row(engine: AsyncEngine) -> ZnsToken:
    async with engine.connect() as conn:
        row = (await conn.execute(select(ZnsToken.__table__))).one()  # type: ignore[attr-defined]
    return ZnsToken(**row._mapping)


# --- the request, and the token shared by several processes -------------------------------------------


async def test_a_message_is_taken_with_the_documented_request(sender: ZnsSender, zalo: FakeZalo) -> None:
    result = await sender.send(PHONE, TEMPLATE, {"ma_ho_so": "BD0000001VN"}, request_id="a" * 32)
    assert result.outcome is Outcome.sent and result.provider == "zns"
    [sent] = zalo.sent
    assert result.message_id == sent.msg_id
    assert (sent.phone, sent.template_id, sent.template_data, sent.tracking_id) == (
        "84912345678",
        TEMPLATE,
        {"ma_ho_so": "BD0000001VN"},
        "a" * 32,
    )
    assert zalo.refreshes == 1  # the first send brought the first access token


async def test_two_processes_refresh_the_single_use_token_once(zns_url: str, zalo: FakeZalo) -> None:
    """Two processes (two engines, two stores) need a token at once: one refresh reaches Zalo, both use its
    token, and the new refresh token is what the database keeps."""
    zalo.refresh_delay_s = 0.3
    engines = [make_engine(zns_url), make_engine(zns_url)]
    stores = [_store(e, zalo) for e in engines]
    try:
        first, second = await asyncio.gather(*(s.current() for s in stores))
        assert zalo.refreshes == 1
        assert first.access_token == second.access_token and first.version == second.version == 1
        row = await _row(engines[0])
        assert row.refresh_token == zalo.refresh_token and row.version == 1 and row.lease_owner is None
        # Many more at once, each its own process's view, after Zalo expired the token: still one refresh.
        zalo.expire_access_tokens()
        again = await asyncio.gather(*(s.refresh(first) for s in stores), *(s.refresh(first) for s in stores))
        assert zalo.refreshes == 2 and len({t.access_token for t in again}) == 1
    finally:
        for s in stores:
            await s.aclose()
        for e in engines:
            await e.dispose()


async def test_an_expired_token_is_refreshed_and_the_message_sent(
    sender: ZnsSender, zalo: FakeZalo, zdb: AsyncEngine
) -> None:
    assert (await sender.send(PHONE, TEMPLATE, {"ma_ho_so": "X1"}, request_id="r1")).outcome is Outcome.sent
    zalo.expire_access_tokens()  # Zalo says -124 before our clock says expired
    result = await sender.send(PHONE, TEMPLATE, {"ma_ho_so": "X2"}, request_id="r2")
    assert result.outcome is Outcome.sent and zalo.refreshes == 2 and len(zalo.sent) == 2
    assert (await _row(zdb)).version == 2


async def test_a_token_near_its_expiry_is_refreshed_before_use(zdb: AsyncEngine, zalo: FakeZalo) -> None:
    now = [datetime.now(UTC)]
    tokens = _store(zdb, zalo, clock=lambda: now[0])
    sender = ZnsSender(ZnsConfig(base_url=zalo.base_url), tokens)
    try:
        assert (
            await sender.send(PHONE, TEMPLATE, {"ma_ho_so": "1"}, request_id="e1")
        ).outcome is Outcome.sent
        now[0] += timedelta(hours=25)  # expires_in 90000 s
        assert (
            await sender.send(PHONE, TEMPLATE, {"ma_ho_so": "2"}, request_id="e2")
        ).outcome is Outcome.sent
        assert zalo.refreshes == 2
    finally:
        await sender.aclose()
        await tokens.aclose()


async def test_a_spent_refresh_token_is_refused_and_fatal(zdb: AsyncEngine, zalo: FakeZalo) -> None:
    spent = zalo.refresh_token
    first = _store(zdb, zalo)
    await first.current()  # spends it
    await first.aclose()
    async with zdb.begin() as conn:
        await conn.execute(text("DELETE FROM zns_token"))
    tokens = _store(zdb, zalo, refresh_token=spent)  # an operator's stale ZNS_REFRESH_TOKEN
    sender = ZnsSender(ZnsConfig(base_url=zalo.base_url), tokens)
    try:
        result = await sender.send(PHONE, TEMPLATE, {"ma_ho_so": "1"}, request_id="s1")
        again = await sender.send(PHONE, TEMPLATE, {"ma_ho_so": "1"}, request_id="s2")
    finally:
        await sender.aclose()
        await tokens.aclose()
    assert result.outcome is Outcome.fatal and result.error and "-14014" in result.error
    assert again.outcome is Outcome.fatal and zalo.refused == 1  # not asked again for every message
    row = await _row(zdb)
    assert row.last_error and "-14014" in row.last_error and row.lease_owner is None and not zalo.sent


async def test_an_operator_recovers_with_a_new_refresh_token(zdb: AsyncEngine, zalo: FakeZalo) -> None:
    """The token in the database was lost (Zalo no longer takes it); the operator authorises the OA again, sets
    the new ZNS_REFRESH_TOKEN and restarts: the first refresh falls back to it once, and rotation goes on."""
    old = _store(zdb, zalo)
    await old.current()
    await old.aclose()
    zalo.refresh_token = "rt-reauthorised"  # the OA authorised again: the stored token is dead
    zalo.expire_access_tokens()
    tokens = _store(zdb, zalo, refresh_token="rt-reauthorised")
    sender = ZnsSender(ZnsConfig(base_url=zalo.base_url), tokens)
    try:
        result = await sender.send(PHONE, TEMPLATE, {"ma_ho_so": "1"}, request_id="o1")
    finally:
        await sender.aclose()
        await tokens.aclose()
    assert result.outcome is Outcome.sent and zalo.refused == 1 and zalo.refreshes == 2
    row = await _row(zdb)
    assert row.refresh_token == zalo.refresh_token != "rt-reauthorised" and row.version == 2


async def test_zalo_oauth_down_is_retried_and_releases_the_lease(zdb: AsyncEngine, zalo: FakeZalo) -> None:
    zalo.down_for(30)
    tokens = _store(zdb, zalo)
    sender = ZnsSender(ZnsConfig(base_url=zalo.base_url), tokens)
    try:
        down = await sender.send(PHONE, TEMPLATE, {"ma_ho_so": "1"}, request_id="d1")
        assert down.outcome is Outcome.retry and down.retry_after_s
        assert (await _row(zdb)).lease_owner is None  # the next attempt may take it at once
        zalo.down_until = 0.0  # up again
        assert (
            await sender.send(PHONE, TEMPLATE, {"ma_ho_so": "1"}, request_id="d1")
        ).outcome is Outcome.sent
    finally:
        await sender.aclose()
        await tokens.aclose()


# --- Zalo's answers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "template", "params", "code"),
    [
        ("+8412345", TEMPLATE, {"ma_ho_so": "1"}, "-108"),  # not a mobile number
        (PHONE, "999999", {"ma_ho_so": "1"}, "-109"),  # unknown template
        (PHONE, "302146", {"ma_ho_so": "1"}, "-131"),  # not approved yet
        (PHONE, TEMPLATE, {"other": "1"}, "-112"),  # a declared parameter missing
        ("+84987654321", TEMPLATE, {"ma_ho_so": "1"}, "-114"),  # the user refuses ZNS
    ],
)
async def test_refusals_are_fatal(
    sender: ZnsSender, zalo: FakeZalo, phone: str, template: str, params: dict[str, str], code: str
) -> None:
    zalo.blocked.add("84987654321")
    result = await sender.send(phone, template, params, request_id="f1")
    assert result.outcome is Outcome.fatal and result.error is not None and result.error.startswith(code)
    assert not zalo.sent


@pytest.mark.parametrize(
    ("answer", "wait"),
    [
        ({"error": -115, "message": "Out of quota"}, 3600.0),
        ({"error": -100, "message": "Unknown error"}, 30.0),
    ],
)
async def test_quota_and_unknown_errors_wait(
    sender: ZnsSender, zalo: FakeZalo, answer: dict[str, object], wait: float
) -> None:
    await sender.tokens.current()
    zalo.script.append((200, {}, answer))
    result = await sender.send(PHONE, TEMPLATE, {"ma_ho_so": "1"}, request_id="q1")
    assert result.outcome is Outcome.retry and result.retry_after_s == wait
    assert (await sender.send(PHONE, TEMPLATE, {"ma_ho_so": "1"}, request_id="q1")).outcome is Outcome.sent


async def test_undocumented_codes_fail_closed(sender: ZnsSender, zalo: FakeZalo) -> None:
    await sender.tokens.current()
    zalo.script.append((200, {}, {"error": -999, "message": "new"}))
    result = await sender.send(PHONE, TEMPLATE, {"ma_ho_so": "1"}, request_id="u1")
    assert result.outcome is Outcome.fatal and result.error == "-999: new"


def test_the_night_rule_waits_for_six_in_the_morning() -> None:
    at_23 = datetime(2026, 12, 6, 16, 0, tzinfo=UTC)  # 23:00 in Vietnam
    assert codes.wait_for(codes.NIGHT, at_23) == 7 * 3600
    assert codes.wait_for(-144, at_23) == 3600  # daily quota: until Vietnam's midnight
    assert codes.rule(-124).action is codes.Action.refresh and codes.rule(-12345).action is codes.Action.fatal


@pytest.mark.parametrize(
    ("status", "headers", "wait"),
    [(429, {"Retry-After": "17"}, 17.0), (429, {}, 30.0), (503, {"Retry-After": "5"}, 5.0), (500, {}, 30.0)],
)
async def test_rate_limits_and_server_errors_are_retried(
    sender: ZnsSender, zalo: FakeZalo, status: int, headers: dict[str, str], wait: float
) -> None:
    await sender.tokens.current()
    zalo.script.append((status, headers, None))
    result = await sender.send(PHONE, TEMPLATE, {"ma_ho_so": "1"}, request_id="h1")
    assert result.outcome is Outcome.retry and result.retry_after_s == wait and not zalo.sent
    assert (await sender.send(PHONE, TEMPLATE, {"ma_ho_so": "1"}, request_id="h1")).outcome is Outcome.sent


async def test_zalo_down_then_up(sender: ZnsSender, zalo: FakeZalo) -> None:
    await sender.tokens.current()
    zalo.down_for(1.0)
    outcomes = []
    started = time.monotonic()
    while time.monotonic() - started < 10:
        result = await sender.send(PHONE, TEMPLATE, {"ma_ho_so": "1"}, request_id="w1")
        outcomes.append(result.outcome)
        if result.outcome is Outcome.sent:
            break
        await asyncio.sleep(0.1)
    assert outcomes[0] is Outcome.retry and outcomes[-1] is Outcome.sent and len(zalo.sent) == 1


async def test_connection_refused_is_retried(zdb: AsyncEngine, zalo: FakeZalo) -> None:
    tokens = _store(zdb, zalo)
    await tokens.current()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    sender = ZnsSender(ZnsConfig(base_url=f"http://127.0.0.1:{port}"), tokens)
    try:
        result = await sender.send(PHONE, TEMPLATE, {"ma_ho_so": "1"}, request_id="c1")
    finally:
        await sender.aclose()
        await tokens.aclose()
    assert result.outcome is Outcome.retry and result.retry_after_s


# --- the webhook's signature ---------------------------------------------------------------------------


def test_webhook_signature(zalo: FakeZalo) -> None:
    from bench.fakes.zns_server import Sent

    sent = Sent("m1", "84912345678", TEMPLATE, {}, "t" * 32)
    body, headers = zalo.event(sent)
    event = webhook.parse(body)
    assert (event.name, event.msg_ids, event.tracking_id) == ("user_received_message", ("m1",), "t" * 32)
    assert event.delivered_at is not None and event.delivered_at.tzinfo is not None
    assert webhook.verify(headers["X-ZEvent-Signature"], event, body, zalo.oa_secret)
    assert not webhook.verify(headers["X-ZEvent-Signature"], event, body + b" ", zalo.oa_secret)
    assert not webhook.verify(headers["X-ZEvent-Signature"], event, body, "another secret")
    forged_body, forged = zalo.event(sent, secret="guessed")
    assert not webhook.verify(
        forged["X-ZEvent-Signature"], webhook.parse(forged_body), forged_body, zalo.oa_secret
    )
    assert not webhook.verify(None, event, body, zalo.oa_secret)
    seen = webhook.parse(zalo.event(sent, "user_seen_message")[0])
    assert seen.msg_ids == ("m1",) and seen.delivered_at is None
    for bad in (b"[]", b"not json", b'{"event_name": "x"}'):
        with pytest.raises(webhook.BadEvent):
            webhook.parse(bad)
