"""Signing deliveries as Standard Webhooks 1.0 does (https://www.standardwebhooks.com/), so partners can verify
with its published libraries or a few lines of their own (docs/webhooks.md).

Signed content: ``{Webhook-Id}.{Webhook-Timestamp}.{raw body}`` (UTF-8 bytes), HMAC-SHA256 with the key that
is the secret's base64 part after ``whsec_``; the header is ``Webhook-Signature: v1,{base64 of the MAC}``.
The id is signed too, so a captured delivery cannot be replayed under another id to slip past a receiver's
deduplication; the timestamp lets receivers refuse old replays (5 minutes is the usual tolerance).
"""

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``Webhook-Signature`` header value for one request."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    mac = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Webhook-Id": msg_id,
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": signature(secret, msg_id, timestamp, body),
    }


def verify(secret: str, msg_id: str, timestamp: str, body: bytes, header: str) -> bool:
    """Whether one of the header's space-separated ``v1,…`` signatures is this body's (constant time)."""
    try:
        expected = signature(secret, msg_id, int(timestamp), body)
    except ValueError:
        return False
    return any(hmac.compare_digest(expected, candidate) for candidate in header.split())
