"""Zalo Notification Service (ZNS) messages and the Official Account's OAuth tokens (issue 22).

``zns_token``: one row per Zalo app, holding the OA access token and its single-use, rotating refresh token
(``notifications/zns/tokens.py``; ``version`` is the compare-and-swap counter, the lease lets exactly one
process spend the refresh token). ``zns_message``: one row per template message, its status moving forward only
(queued → sent → delivered → seen, or queued → failed); each change an ``zns_event`` row. The template's
parameters are never stored (they may hold personal data); the template id and our notification kind are.
"""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from schemas.base import new_id, utc_field


class ZnsStatus(StrEnum):
    queued = "queued"  # written, not yet taken by Zalo
    sent = "sent"  # Zalo answered error 0 with a msg_id
    delivered = "delivered"  # webhook user_received_message: on the recipient's device
    seen = "seen"  # webhook user_seen_message naming this msg_id
    failed = "failed"  # final: refused by Zalo (invalid phone, template, user blocks ZNS, …)


# Forward only: a late "received" after "seen" changes nothing; failed is final.
RANK = {
    ZnsStatus.queued: 0,
    ZnsStatus.sent: 1,
    ZnsStatus.delivered: 2,
    ZnsStatus.seen: 3,
    ZnsStatus.failed: 3,
}


class ZnsToken(SQLModel, table=True):
    """The OA's tokens for one Zalo app. Access tokens live ~25 h; each refresh token works once."""

    __tablename__ = "zns_token"
    app_id: str = Field(primary_key=True, max_length=32)
    access_token: str = Field(default="", max_length=2048)
    access_expires_at: datetime | None = utc_field(nullable=True)
    refresh_token: str = Field(max_length=2048)
    version: int = 0  # +1 at each refresh: the compare-and-swap guard
    lease_owner: str | None = Field(default=None, max_length=64)  # the process spending the refresh token
    lease_until: datetime | None = utc_field(nullable=True)
    last_error: str | None = Field(default=None, max_length=200)  # the last refresh refusal, for operators
    updated_at: datetime = utc_field(default_now=True)


class ZnsMessage(SQLModel, table=True):
    __tablename__ = "zns_message"
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)  # also the tracking_id sent to Zalo
    purpose: str = Field(max_length=40)  # our notification kind
    phone: str = Field(max_length=20, index=True)  # E.164
    template_id: str = Field(max_length=32)
    provider_message_id: str | None = Field(default=None, max_length=64, index=True)  # Zalo's msg_id
    status: str = Field(max_length=12)
    cost_vnd: int | None = None  # the configured price of a ZNS message when Zalo took it
    error: str | None = Field(default=None, max_length=200)
    delivered_at: datetime | None = utc_field(nullable=True)  # delivery_time of user_received_message
    created_at: datetime = utc_field(default_now=True)
    updated_at: datetime = utc_field(default_now=True)


class ZnsEvent(SQLModel, table=True):
    """A change of a ZNS message's status: its send (``source`` "send") or a webhook event ("webhook")."""

    __tablename__ = "zns_event"
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    message_id: uuid.UUID = Field(foreign_key="zns_message.id", index=True)
    status: str = Field(max_length=12)
    source: str = Field(max_length=10)
    detail: str | None = Field(default=None, max_length=200)
    at: datetime = utc_field(default_now=True)


class ZnsEventAck(BaseModel):
    """What the service answers a Zalo webhook event."""

    event_name: str = PydanticField(
        description="The event's `event_name` as Zalo sent it", examples=["user_received_message"]
    )
    message_id: str | None = PydanticField(
        default=None,
        description="Zalo's msg_id the event is about; null for events the service does not track",
        examples=["a8f0c1e2d3b4a5968778695a4b3c2d1e"],
    )
    status: ZnsStatus | None = PydanticField(
        default=None,
        description="The message's status after this event; null for events the service does not track",
        examples=[ZnsStatus.delivered],
    )
    changed: bool = PydanticField(
        description="False for a duplicate, late (out of order) or untracked event, which changes nothing",
        examples=[True],
    )


class ZnsWebhookEvent(BaseModel):
    """An event Zalo posts to the app's webhook (the fields the service reads; Zalo sends more, kept as is:
    the signature covers the raw body)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "app_id": "1234567890123456789",
                    "event_name": "user_received_message",
                    "sender": {"id": "579745863508352884"},
                    "recipient": {"id": "7304543021364826412"},
                    "message": {
                        "msg_id": "a8f0c1e2d3b4a5968778695a4b3c2d1e",
                        "delivery_time": "1765000000000",
                        "tracking_id": "0b9c4a5e8f7d4c3b9a1e2d3c4b5a6978",
                    },
                    "timestamp": "1765000000000",
                }
            ]
        },
    )
    app_id: str | int = PydanticField(description="The Zalo app the event is for")
    event_name: str = PydanticField(
        min_length=1, max_length=64, description="`user_received_message`, `user_seen_message`, …"
    )
    timestamp: str | int = PydanticField(description="When Zalo made the event (ms since the epoch)")
    message: dict[str, Any] | None = PydanticField(
        default=None, description="`msg_id` / `msg_ids`, `delivery_time`, `tracking_id`"
    )
