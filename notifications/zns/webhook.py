"""Zalo's webhook events about ZNS messages: the signature and the fields the service reads.

Zalo posts each event as JSON to the app's webhook URL with the header ``X-ZEvent-Signature: mac=<hex>``,
where ``<hex>`` is SHA-256 of ``app_id + <the raw body> + timestamp + <OA secret key>``, ``timestamp`` being
the body's own field ("Webhook", https://developers.zalo.me/docs/official-account/webhook/tong-quan; the same
check explained at https://hainh.me/zalo-api-php-webhook-callback-official-account.html: the OA's secret key,
not the app's). Zalo expects 200 within a few seconds, else it posts the event again for up to 12 hours; so a
duplicate is normal, and events may come in any order.

ZNS delivery ("Webhook ZNS", https://developers.zalo.me/docs/zalo-notification-service/webhook-zns): event
``user_received_message`` with ``message.msg_id`` (the id the send answered), ``message.delivery_time`` (ms
since the epoch) and ``message.tracking_id`` (ours) when the message reached the user's device.
``user_seen_message`` is documented for OA messages with ``message.msg_ids`` (a list); the ZNS page is silent
on whether ZNS messages get it, so it is applied when it names a ZNS message we sent.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from schemas.zns import ZnsStatus

SIGNATURE_HEADER = "X-ZEvent-Signature"
STATUS_OF = {"user_received_message": ZnsStatus.delivered, "user_seen_message": ZnsStatus.seen}


class BadEvent(ValueError):
    """Not a Zalo webhook event (not a JSON object, or without ``event_name``, ``app_id`` or ``timestamp``)."""


@dataclass(frozen=True, slots=True)
class Event:
    name: str
    app_id: str
    timestamp: str
    msg_ids: tuple[str, ...]
    tracking_id: str | None
    delivered_at: datetime | None


def signature(app_id: str, body: bytes, timestamp: str, oa_secret: str) -> str:
    data = app_id.encode() + body + timestamp.encode() + oa_secret.encode()
    return "mac=" + hashlib.sha256(data).hexdigest()


def verify(header: str | None, event: Event, body: bytes, oa_secret: str) -> bool:
    if not header or not oa_secret:
        return False
    expected = signature(event.app_id, body, event.timestamp, oa_secret)
    given = header.strip()
    if not given.lower().startswith("mac="):
        given = "mac=" + given
    return hmac.compare_digest(given.lower().encode(), expected.encode())


def _ms(raw: object) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(str(raw)) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def parse(body: bytes) -> Event:
    try:
        raw = json.loads(body)
    except ValueError:
        raise BadEvent("not JSON") from None
    if not isinstance(raw, dict):
        raise BadEvent("not a JSON object")
    name, app_id, timestamp = raw.get("event_name"), raw.get("app_id"), raw.get("timestamp")
    if not isinstance(name, str) or not name or app_id is None or timestamp is None:
        raise BadEvent("event_name, app_id and timestamp are required")
    found = raw.get("message")
    message: dict[str, object] = found if isinstance(found, dict) else {}
    many = message.get("msg_ids")
    ids = [message.get("msg_id")] + (many if isinstance(many, list) else [])
    tracking = message.get("tracking_id")
    return Event(
        name=name,
        app_id=str(app_id),
        timestamp=str(timestamp),
        msg_ids=tuple(str(i) for i in ids if isinstance(i, str | int) and str(i)),
        tracking_id=str(tracking) if isinstance(tracking, str) and tracking else None,
        delivered_at=_ms(message.get("delivery_time")) if name == "user_received_message" else None,
    )
