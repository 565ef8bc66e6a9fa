"""FcmSender against the fake FCM server: the real firebase-admin code path, OAuth included, to
``https://fcm.googleapis.com`` through the loopback proxy (tests/notifications/conftest.py)."""

import socket
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
from firebase_admin import exceptions, messaging

from bench.fakes.fcm_server import (
    INTERNAL,
    INVALID_PAYLOAD,
    INVALID_TOKEN,
    QUOTA,
    SENDER_MISMATCH,
    UNAVAILABLE,
    UNREGISTERED,
    FakeFcm,
)
from bench.fakes.proxy import ConnectProxy
from notifications.push import (
    FcmSender,
    NullSender,
    Outcome,
    PushMessage,
    classify,
    make_sender,
    retry_after_seconds,
    webpush_topic,
)


def msg(token: str, **kw: object) -> PushMessage:
    base: dict[str, object] = {
        "token": token,
        "platform": "android",
        "notification_id": uuid.uuid4(),
        "template": "courier.on_the_way",
        "title_vi": "Bưu tá đang đến",
        "body_vi": "Bưu tá An đang trên đường đến, dự kiến lúc 01/03/2025 09:15.",
        "title_en": "Your courier is on the way",
        "body_en": "Courier An is on the way, expected at 01/03/2025 09:15.",
        "deep_link": "/appointments/42",
        "collapse_key": "eta-42",
        "priority": "high",
        "data_only": False,
    }
    base.update(kw)
    return PushMessage(**base)  # type: ignore[arg-type]


async def test_citizen_message_carries_link_collapse_key_and_priority(
    sender: FcmSender, fcm: FakeFcm, google_proxy: ConnectProxy
) -> None:
    m = msg("tok-citizen-1")
    [result] = await sender.send([m])
    assert result.outcome is Outcome.sent
    assert result.message_id == "projects/hoso-test/messages/0"

    # The SDK's own URL, over one tunnel, verified TLS and HTTP/2 as with the real FCM.
    assert google_proxy.tunnels == ["fcm.googleapis.com:443"]
    [req] = fcm.requests
    assert req.protocol == "HTTP/2"
    assert req.path == "/v1/projects/hoso-test/messages:send"
    assert req.headers["authorization"].startswith("Bearer ya29.fake-")
    body = req.message
    assert body["token"] == "tok-citizen-1"
    assert body["notification"] == {"title": m.title_vi, "body": m.body_vi}
    assert body["data"]["link"] == "/appointments/42"
    assert body["data"]["nid"] == str(m.notification_id)
    assert body["data"]["title_en"] == m.title_en
    assert body["android"]["collapse_key"] == "eta-42"
    assert body["android"]["priority"] == "high"
    assert body["android"]["notification"]["tag"] == "eta-42"
    assert body["apns"]["headers"]["apns-collapse-id"] == "eta-42"
    assert body["apns"]["headers"]["apns-priority"] == "10"
    assert body["webpush"]["headers"]["Topic"] == "eta-42"
    assert body["webpush"]["headers"]["Urgency"] == "high"
    assert body["webpush"]["fcm_options"]["link"] == "https://dichvu.example.vn/app/appointments/42"
    # One OAuth token fetched from the service account's token_uri, signed with its key, and accepted.
    assert fcm.token_requests == 1
    assert fcm.rejected_auth == 0


async def test_messages_without_collapse_key_use_the_notification_id(sender: FcmSender, fcm: FakeFcm) -> None:
    m = msg("tok-2", collapse_key=None, priority="normal")
    await sender.send([m])
    body = fcm.requests[0].message
    assert "collapse_key" not in body["android"]
    assert body["android"]["priority"] == "normal"
    assert body["android"]["notification"]["tag"] == str(m.notification_id)
    assert body["apns"]["headers"]["apns-collapse-id"] == str(m.notification_id)
    assert body["apns"]["headers"]["apns-priority"] == "5"
    # A UUID is longer than web push's 32-character Topic limit, so it is hashed to fit.
    topic = body["webpush"]["headers"]["Topic"]
    assert topic == webpush_topic(str(m.notification_id)) and len(topic) == 32


async def test_courier_messages_are_data_only_high_priority(sender: FcmSender, fcm: FakeFcm) -> None:
    m = msg("tok-courier", template="courier.route_updated", data_only=True, collapse_key="route")
    [result] = await sender.send([m])
    assert result.outcome is Outcome.sent
    body = fcm.requests[0].message
    assert "notification" not in body
    assert body["data"]["title_vi"] == m.title_vi and body["data"]["link"] == "/appointments/42"
    assert body["android"]["priority"] == "high"
    assert "notification" not in body["android"]
    assert body["apns"]["headers"]["apns-push-type"] == "background"
    assert body["apns"]["headers"]["apns-priority"] == "5"
    assert body["apns"]["payload"]["aps"]["content-available"] == 1


async def test_errors_are_mapped_per_token(sender: FcmSender, fcm: FakeFcm) -> None:
    """Also pins firebase-admin's own retry, which the outbox's retry builds on (FcmSender's docstring): a
    500 or 503 is sent five times in all within one call, a 429 and every other error once."""
    fcm.script("dead", UNREGISTERED)
    fcm.script("mismatch", SENDER_MISMATCH)
    fcm.script("badtoken", INVALID_TOKEN)
    fcm.script("badpayload", INVALID_PAYLOAD)
    fcm.script("quota", QUOTA(retry_after=90))
    fcm.script("down", UNAVAILABLE)
    fcm.script("oops", INTERNAL)
    tokens = ["ok", "dead", "mismatch", "badtoken", "badpayload", "quota", "down", "oops"]
    results = await sender.send([msg(t) for t in tokens])
    got = {r.token: r for r in results}
    assert [r.token for r in results] == tokens
    assert got["ok"].outcome is Outcome.sent
    assert got["dead"].outcome is Outcome.dead and "UnregisteredError" in (got["dead"].error or "")
    assert got["mismatch"].outcome is Outcome.dead and "SenderIdMismatchError" in (
        got["mismatch"].error or ""
    )
    assert got["badtoken"].outcome is Outcome.dead
    assert got["badpayload"].outcome is Outcome.fatal
    assert got["quota"].outcome is Outcome.retry and got["quota"].retry_after == 90.0
    assert "QuotaExceededError" in (got["quota"].error or "")
    assert got["down"].outcome is Outcome.retry and got["down"].retry_after is None
    assert got["oops"].outcome is Outcome.retry
    sent_times = {t: len(fcm.for_token(t)) for t in tokens}
    assert sent_times == {t: 5 if t in ("down", "oops") else 1 for t in tokens}


async def test_more_than_500_messages_are_split_into_batches(sender: FcmSender, fcm: FakeFcm) -> None:
    # firebase-admin refuses lists longer than 500; all 501 arriving proves the split.
    results = await sender.send([msg(f"bulk-{i}") for i in range(501)])
    assert all(r.outcome is Outcome.sent for r in results)
    assert sorted(r.token for r in fcm.requests) == sorted(f"bulk-{i}" for i in range(501))


async def test_unreachable_fcm_means_retry_not_loss(
    fcm: FakeFcm, service_account: Path, google_proxy: ConnectProxy
) -> None:
    # The proxy tunnels FCM's name to a port nothing listens on (we bound and closed it): every message
    # must come back as retry.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    saved = dict(google_proxy.routes)
    google_proxy.routes["fcm.googleapis.com:443"] = port
    s2 = FcmSender(str(service_account))
    try:
        results = await s2.send([msg("a"), msg("b")])
    finally:
        google_proxy.routes.update(saved)
        await s2.aclose()
    assert [r.outcome for r in results] == [Outcome.retry, Outcome.retry]
    assert fcm.requests == [] and "fcm.googleapis.com:443" in google_proxy.tunnels


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    secs = exceptions.UnavailableError("x", http_response=httpx.Response(503, headers={"Retry-After": "30"}))
    assert retry_after_seconds(secs, now=now) == 30.0
    date_form = format_datetime(now + timedelta(minutes=2), usegmt=True)
    dated = exceptions.UnavailableError(
        "x", http_response=httpx.Response(503, headers={"Retry-After": date_form})
    )
    assert retry_after_seconds(dated, now=now) == 120.0
    assert retry_after_seconds(exceptions.UnavailableError("x")) is None
    quota = messaging.QuotaExceededError("q", http_response=httpx.Response(429, headers={"Retry-After": "7"}))
    assert classify("t", quota).retry_after == 7.0


async def test_without_credentials_push_is_off() -> None:
    s = make_sender(None)
    assert isinstance(s, NullSender) and not s.enabled
    [r] = await s.send([msg("x")])
    assert r.outcome is Outcome.fatal
