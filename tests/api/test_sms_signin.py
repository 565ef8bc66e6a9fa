"""Sign-in codes by SMS through eSMS.vn's documented API, against a gateway on 127.0.0.1
(bench/fakes/esms_server.py): the code a citizen signs in with is the one the gateway received; provider errors
are a 503 with Retry-After and leave no usable code; landlines are refused; delivery reports update the record
forward only (issue 22)."""

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.app import create_app
from backend.db import session_factory
from backend.settings import Settings
from bench.fakes.esms_server import FakeEsms
from schemas.accounts import OtpChallenge
from schemas.sms import SmsEvent, SmsMessage
from tests import openapi_check
from tests.conftest import lifespan

TOKEN = "t" * 16 + uuid.uuid4().hex  # the secret in the callback URL
SEND = "/api/v1/auth/citizen/otp"
VERIFY = "/api/v1/auth/citizen/verify"
REPORTS = "/api/v1/sms/reports/esms"


class World:
    def __init__(self, app: Litestar, gateway: FakeEsms, client: httpx.AsyncClient) -> None:
        self.app, self.gateway, self.client = app, gateway, client


@pytest_asyncio.fixture
async def world(engine: AsyncEngine) -> AsyncIterator[World]:
    gateway = FakeEsms().start()
    settings = Settings(
        database_url=str(engine.url),
        sms_provider="esms",
        sms_esms_api_key=gateway.api_key,
        sms_esms_secret_key=gateway.secret_key,
        sms_brandname=gateway.brandname,
        sms_esms_base_url=gateway.base_url,
        sms_callback_token=TOKEN,
        public_base_url="https://api.example.vn",
    )
    app = create_app(settings, engine=engine)
    try:
        async with lifespan(app):
            transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
            hooks = openapi_check.response_hooks(app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t", event_hooks=hooks) as c:
                yield World(app, gateway, c)
    finally:
        gateway.stop()


def _fresh_mobile() -> str:
    return f"+8498{uuid.uuid4().int % 10_000_000:07d}"


async def _message(engine: AsyncEngine, phone: str) -> tuple[SmsMessage, list[str]]:
    async with session_factory(engine)() as s:
        msg = (await s.execute(select(SmsMessage).where(SmsMessage.phone == phone))).scalars().one()
        events = (
            await s.execute(
                select(SmsEvent.status).where(SmsEvent.message_id == msg.id).order_by(col(SmsEvent.at))
            )
        ).scalars()
        return msg, list(events)


async def test_a_citizen_signs_in_with_the_code_the_gateway_received(
    world: World, engine: AsyncEngine
) -> None:
    phone = _fresh_mobile()
    r = await world.client.post(SEND, json={"phone": "0" + phone[3:6] + " " + phone[6:9] + " " + phone[9:]})
    assert r.status_code == 202, r.text
    [sent] = [s for s in world.gateway.sent if s.phone == "0" + phone[3:]]
    code = sent.content.split()[0]
    assert len(code) == 6 and code.isdigit()
    assert sent.content.isascii() and "la ma dang nhap" in sent.content and sent.unicode == "0"
    assert sent.callback_url == f"https://api.example.vn{REPORTS}/{TOKEN}"
    msg, events = await _message(engine, phone)
    assert (msg.status, msg.provider, msg.provider_message_id) == ("sent", "esms", sent.sms_id)
    assert (msg.encoding, msg.segments, msg.purpose) == ("gsm7", 1, "sign_in")
    assert sent.request_id == msg.id.hex and events == ["queued", "sent"]
    wrong = await world.client.post(VERIFY, json={"phone": phone, "code": f"{(int(code) + 1) % 10**6:06d}"})
    assert wrong.status_code == 401
    ok = await world.client.post(VERIFY, json={"phone": phone, "code": code})
    assert ok.status_code == 200, ok.text
    assert ok.json()["user"]["phone"] == phone


@pytest.mark.parametrize(
    ("setup", "retry_after", "error"),
    [
        ("credentials", "600", "101"),
        ("brandname", "600", "104"),
        ("rate_limited", "42", "HTTP 429"),
        ("down", "30", "HTTP 500"),
    ],
)
async def test_provider_errors_are_503_and_the_code_is_dead(
    world: World, engine: AsyncEngine, setup: str, retry_after: str, error: str
) -> None:
    gw = world.gateway
    if setup == "credentials":
        gw.secret_key = "rotated-at-esms"  # ours no longer matches
    elif setup == "brandname":
        gw.brandname = "OTHER"
    elif setup == "rate_limited":
        gw.script.append((429, {"Retry-After": "42"}))
    else:
        gw.script.append((500, {}))
    phone = _fresh_mobile()
    r = await world.client.post(SEND, json={"phone": phone})
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == retry_after
    assert r.json()["type"].endswith("/sms_unavailable") and r.json()["detail"].startswith("Chưa gửi được")
    assert not gw.sent
    msg, events = await _message(engine, phone)
    assert msg.status == "failed" and (msg.error or "").startswith(error) and events == ["queued", "failed"]
    async with session_factory(engine)() as s:
        challenge = (await s.execute(select(OtpChallenge).where(OtpChallenge.phone == phone))).scalars().one()
    assert challenge.used_at is not None  # nobody may use a code that was never sent
    r = await world.client.post(VERIFY, json={"phone": phone, "code": "000000"})
    assert r.status_code == 401 and r.json()["type"].endswith("/otp_expired")


@pytest.mark.parametrize("raw", ["024 3825 1234", "+842838291234", "0111234567"])
async def test_landlines_get_no_code(world: World, raw: str) -> None:
    r = await world.client.post(SEND, json={"phone": raw})
    assert r.status_code == 422, r.text
    assert r.json()["type"].endswith("/phone_not_mobile")
    assert r.json()["detail"].startswith("Số điện thoại cố định")
    assert not world.gateway.sent


async def _send(world: World) -> tuple[str, str, str]:
    phone = _fresh_mobile()
    assert (await world.client.post(SEND, json={"phone": phone})).status_code == 202
    sent = world.gateway.sent[-1]
    return phone, sent.sms_id, sent.request_id


async def _report(world: World, token: str = TOKEN, **query: str) -> httpx.Response:
    return await world.client.get(f"{REPORTS}/{token}", params=query)


async def test_delivery_reports_move_forward_only(world: World, engine: AsyncEngine) -> None:
    phone, sms_id, request_id = await _send(world)
    interim = await _report(world, SMSID=sms_id, RequestId=request_id, SendStatus="7")
    assert interim.status_code == 200 and interim.json() == {
        "message_id": sms_id,
        "status": "sent",
        "changed": False,
    }
    done = {
        "SMSID": sms_id,
        "RequestId": request_id,
        "SendStatus": "5",
        "SendSuccess": "1",
        "SendFailed": "0",
    }
    r = await _report(world, **done, Totalprice="800", TypeId="2", telcoid="1", phonenumber="0" + phone[3:])
    assert r.status_code == 200 and r.json() == {"message_id": sms_id, "status": "delivered", "changed": True}
    again = await _report(world, **done, Totalprice="800")  # eSMS retries a report up to 5 times
    assert again.json() == {"message_id": sms_id, "status": "delivered", "changed": False}
    late = await _report(
        world, SMSID=sms_id, SendStatus="7"
    )  # an interim report arriving after the final one
    assert late.json() == {"message_id": sms_id, "status": "delivered", "changed": False}
    failed_late = await _report(world, SMSID=sms_id, SendStatus="4")
    assert failed_late.json()["status"] == "delivered"  # a final status is never replaced
    msg, events = await _message(engine, phone)
    assert (msg.status, msg.cost_vnd) == ("delivered", 800) and events == ["queued", "sent", "delivered"]


async def test_a_failed_delivery_is_final(world: World, engine: AsyncEngine) -> None:
    phone, sms_id, _ = await _send(world)
    r = await _report(world, SMSID=sms_id, SendStatus="5", SendSuccess="0", SendFailed="1")
    assert r.json() == {"message_id": sms_id, "status": "failed", "changed": True}
    r = await _report(world, SMSID=sms_id, SendStatus="5", SendSuccess="1", SendFailed="0")
    assert r.json() == {"message_id": sms_id, "status": "failed", "changed": False}
    msg, events = await _message(engine, phone)
    assert msg.status == "failed" and events == ["queued", "sent", "failed"]


async def test_a_report_is_found_by_our_request_id(world: World) -> None:
    """A report that races the send's answer finds the row by the RequestId eSMS echoes."""
    _, _, request_id = await _send(world)
    r = await _report(world, SMSID="not-yet-recorded", RequestId=request_id, SendStatus="4")
    assert r.status_code == 200 and r.json()["status"] == "failed"


async def test_reports_need_the_secret_and_a_known_message(world: World) -> None:
    _, sms_id, _ = await _send(world)
    for token in ("x" * len(TOKEN), TOKEN[:-1], TOKEN + "x"):
        r = await _report(world, token=token, SMSID=sms_id, SendStatus="5", SendSuccess="1")
        assert r.status_code == 403 and r.json()["type"].endswith("/sms_report_refused"), r.text
    r = await _report(world, SMSID="unknown-sms-id", SendStatus="5", SendSuccess="1")
    assert r.status_code == 404
    r = await world.client.get(f"{REPORTS}/{TOKEN}")  # no SMSID
    assert r.status_code == 400


async def test_reports_are_refused_when_no_secret_is_configured(engine: AsyncEngine) -> None:
    app = create_app(Settings(database_url=str(engine.url)), engine=engine)
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.get(f"{REPORTS}/anything", params={"SMSID": "x", "SendStatus": "5"})
    assert r.status_code == 403
