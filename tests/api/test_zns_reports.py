"""Zalo ZNS webhook events (issue 22): a message sent through the ZNS sender to a fake Zalo on 127.0.0.1
(bench/fakes/zns_server.py), then Zalo's signed events posted to the service: accepted, forged refused,
duplicates idempotent, out of order keeping the furthest status, each change an event row."""

import hashlib
import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.app import create_app
from backend.db import session_factory
from backend.notices.zns_setup import zns_sender
from backend.settings import Settings
from bench.fakes.zns_server import FakeZalo, Sent
from notifications.sms.base import Outcome
from notifications.zns import records
from schemas.channels import ChannelDelivery, DeliveryStatus, NoticeChannel
from schemas.notifications import Notification
from schemas.zns import ZnsEvent, ZnsMessage
from tests import openapi_check
from tests.conftest import lifespan

EVENTS = "/api/v1/zns/events"
TEMPLATE = "302145"


class World:
    def __init__(self, app: Litestar, zalo: FakeZalo, client: httpx.AsyncClient, engine: AsyncEngine) -> None:
        self.app, self.zalo, self.client, self.engine = app, zalo, client, engine

    async def send(self) -> tuple[uuid.UUID, Sent]:
        """One ZNS message as a channel sends it: recorded, sent through the configured sender, answer
        recorded."""
        z = self.zalo
        sender = zns_sender(self.engine, self.app.state.settings)  # as the channel dispatcher builds it
        phone = f"+8491{uuid.uuid4().int % 10_000_000:07d}"
        try:
            async with session_factory(self.engine)() as s:
                msg_id = await records.queue(
                    s, purpose="dossier.result_ready", phone=phone, template_id=TEMPLATE
                )
                await s.commit()
                result = await sender.send(phone, TEMPLATE, {"item_id": "BD1"}, request_id=msg_id.hex)
                assert result.outcome is Outcome.sent, result
                await records.record_result(s, msg_id, result, cost_vnd=300)
                await s.commit()
        finally:
            await sender.aclose()
        return msg_id, z.sent[-1]

    async def post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return await self.client.post(EVENTS, content=body, headers=headers)


@pytest_asyncio.fixture
async def world(engine: AsyncEngine) -> AsyncIterator[World]:
    zalo = FakeZalo(app_id=str(uuid.uuid4().int)[:19], templates={TEMPLATE: ("item_id",)}).start()
    settings = Settings(
        database_url=str(engine.url),
        zns_app_id=zalo.app_id,
        zns_secret_key=zalo.app_secret,
        zns_oa_secret_key=zalo.oa_secret,
        zns_refresh_token=zalo.refresh_token,
        zns_base_url=zalo.base_url,
        zns_oauth_url=zalo.base_url,
    )
    app = create_app(settings, engine=engine)
    try:
        async with lifespan(app):
            transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
            hooks = openapi_check.response_hooks(app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t", event_hooks=hooks) as c:
                yield World(app, zalo, c, engine)
    finally:
        zalo.stop()


async def _state(engine: AsyncEngine, msg_id: uuid.UUID) -> tuple[ZnsMessage, list[str]]:
    async with session_factory(engine)() as s:
        msg = (await s.execute(select(ZnsMessage).where(col(ZnsMessage.id) == msg_id))).scalars().one()
        events = (
            await s.execute(
                select(ZnsEvent.status).where(ZnsEvent.message_id == msg_id).order_by(col(ZnsEvent.at))
            )
        ).scalars()
        return msg, list(events)


async def test_a_signed_delivery_event_is_applied_once(world: World) -> None:
    msg_id, sent = await world.send()
    assert sent.tracking_id == msg_id.hex
    body, headers = world.zalo.event(sent)
    r = await world.post(body, headers)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "event_name": "user_received_message",
        "message_id": sent.msg_id,
        "status": "delivered",
        "changed": True,
    }
    again = await world.post(body, headers)  # Zalo posts again until it gets a 200 in time
    assert again.status_code == 200 and again.json()["changed"] is False
    msg, events = await _state(world.engine, msg_id)
    assert (msg.status, msg.cost_vnd, msg.provider_message_id) == ("delivered", 300, sent.msg_id)
    assert msg.delivered_at is not None and events == ["queued", "sent", "delivered"]


async def test_events_out_of_order_keep_the_furthest_status(world: World) -> None:
    msg_id, sent = await world.send()
    seen = await world.post(*world.zalo.event(sent, "user_seen_message"))
    assert seen.status_code == 200 and seen.json()["status"] == "seen" and seen.json()["changed"] is True
    late = await world.post(*world.zalo.event(sent))  # the delivery event arrives after the seen one
    assert late.status_code == 200 and late.json()["status"] == "seen" and late.json()["changed"] is False
    msg, events = await _state(world.engine, msg_id)
    assert msg.status == "seen" and events == ["queued", "sent", "seen"]


async def test_forged_events_are_refused(world: World) -> None:
    msg_id, sent = await world.send()
    body, headers = world.zalo.event(sent)
    attempts = [
        world.zalo.event(sent, secret="a guessed secret"),
        (body.replace(b"user_received_message", b"user_seen_message"), headers),  # tampered body
        (body, {"Content-Type": "application/json"}),  # no signature
        (body, {**headers, "X-ZEvent-Signature": "mac=" + "0" * 64}),
    ]
    for forged_body, forged_headers in attempts:
        r = await world.post(forged_body, forged_headers)
        assert r.status_code == 403 and r.json()["type"].endswith("/zns_event_refused"), r.text
    other = FakeZalo(app_id="999", oa_secret=world.zalo.oa_secret)  # another app signing with the same secret
    r = await world.post(*other.event(sent))
    assert r.status_code == 403
    msg, events = await _state(world.engine, msg_id)
    assert msg.status == "sent" and events == ["queued", "sent"]


async def test_unknown_messages_and_bad_bodies(world: World) -> None:
    unknown = Sent(uuid.uuid4().hex, "84912345678", TEMPLATE, {}, None)
    r = await world.post(*world.zalo.event(unknown))
    assert r.status_code == 404, r.text
    r = await world.post(b'{"event_name": "user_received_message"}', {"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    r = await world.post(b"not json", {"Content-Type": "application/json"})
    assert r.status_code == 400, r.text


async def test_other_signed_events_are_acknowledged(world: World) -> None:
    _, sent = await world.send()
    body, headers = world.zalo.event(sent)
    follow = body.replace(b"user_received_message", b"follow")
    ts = json.loads(follow)["timestamp"]
    mac = hashlib.sha256(
        world.zalo.app_id.encode() + follow + ts.encode() + world.zalo.oa_secret.encode()
    ).hexdigest()
    r = await world.post(follow, {**headers, "X-ZEvent-Signature": f"mac={mac}"})
    assert r.status_code == 200 and r.json() == {
        "event_name": "follow",
        "message_id": None,
        "status": None,
        "changed": False,
    }


async def test_events_are_refused_when_zns_is_not_configured(world: World, engine: AsyncEngine) -> None:
    _, sent = await world.send()
    app = create_app(Settings(database_url=str(engine.url)), engine=engine)
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            body, headers = world.zalo.event(sent)
            r = await c.post(EVENTS, content=body, headers=headers)
    assert r.status_code == 403


async def test_events_about_a_notice_move_its_channel_delivery(world: World) -> None:
    """A notice sent by the channel dispatcher has no ``zns_message`` row: the event moves its
    ``channel_delivery`` (found by Zalo's msg_id), forward only."""
    citizen = uuid.uuid4()
    async with session_factory(world.engine)() as s:
        notice = Notification(
            recipient_kind="citizen",
            recipient_id=citizen,
            template="dossier.result_ready",
            params={"item_id": "BD1"},
            title_vi="t",
            body_vi="b",
            title_en="t",
            body_en="b",
            status="sent",
        )
        s.add(notice)
        await s.flush()
        delivery = ChannelDelivery(
            notification_id=notice.id,
            channel=NoticeChannel.zns,
            recipient_id=citizen,
            template="dossier.result_ready",
            status=DeliveryStatus.sending,
        )
        s.add(delivery)
        await s.commit()
        delivery_id = delivery.id
    sender = zns_sender(world.engine, world.app.state.settings)
    try:
        result = await sender.send("+84912340000", TEMPLATE, {"item_id": "BD1"}, request_id=delivery_id.hex)
    finally:
        await sender.aclose()
    assert result.outcome is Outcome.sent
    async with session_factory(world.engine)() as s:
        row = (
            (await s.execute(select(ChannelDelivery).where(col(ChannelDelivery.id) == delivery_id)))
            .scalars()
            .one()
        )
        row.status, row.provider, row.provider_message_id = DeliveryStatus.sent, "zns", result.message_id
        await s.commit()
    sent = world.zalo.sent[-1]
    r = await world.post(*world.zalo.event(sent))
    assert r.status_code == 200 and r.json()["status"] == "delivered" and r.json()["changed"] is True, r.text
    late = await world.post(*world.zalo.event(sent, "user_seen_message"))
    assert late.json() == {
        "event_name": "user_seen_message",
        "message_id": sent.msg_id,
        "status": "delivered",
        "changed": False,
    }
    async with session_factory(world.engine)() as s:
        row = (
            (await s.execute(select(ChannelDelivery).where(col(ChannelDelivery.id) == delivery_id)))
            .scalars()
            .one()
        )
        assert row.status == DeliveryStatus.delivered


def _signed(zalo: FakeZalo, event: dict[str, object]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    ts = str(event.get("timestamp", ""))
    app = str(event.get("app_id", ""))
    mac = hashlib.sha256(app.encode() + body + ts.encode() + zalo.oa_secret.encode()).hexdigest()
    return body, {"X-ZEvent-Signature": f"mac={mac}", "Content-Type": "application/json"}


async def test_odd_signed_events_are_never_a_server_error(world: World) -> None:
    """Signed by Zalo yet odd (ids of another type or far too long, a delivery time out of range, msg_ids not a
    list): a 4xx or an acknowledgement, never a 500, and nothing changes."""
    base = {"app_id": world.zalo.app_id, "event_name": "user_received_message", "timestamp": "1765000000000"}
    messages: list[object] = [
        {"msg_id": "x" * 5000},
        {"msg_id": 12345678901234567890, "delivery_time": "9" * 40},
        {"msg_ids": "not-a-list", "tracking_id": "not-hex"},
        {"msg_ids": [None, {"a": 1}, "y" * 300], "tracking_id": "f" * 32},
        {"delivery_time": -1},
        None,
        [],
    ]
    for message in messages:
        r = await world.post(*_signed(world.zalo, {**base, "message": message}))
        assert r.status_code < 500 and r.status_code in (200, 400, 404), (message, r.text)
    r = await world.post(*_signed(world.zalo, {**base, "app_id": int(world.zalo.app_id), "message": {}}))
    assert r.status_code == 404, r.text  # a numeric app_id is the same app; no message named
