"""SMS sent by the service (issue 22): one row per message, one event row per change of its status.

The text is never stored (a sign-in code is in it); the provider's message id lets its delivery report find the
row. Statuses only move forward: queued → sent → delivered | failed (final), or queued → failed.
"""

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from schemas.base import new_id, utc_field


class SmsStatus(StrEnum):
    queued = "queued"  # written, not yet taken by the provider
    sent = "sent"  # taken by the provider; no delivery report yet (or only an interim one)
    delivered = "delivered"  # final: the provider reports the phone got it
    failed = "failed"  # final: refused by the provider, or reported undelivered


FINAL = frozenset({SmsStatus.delivered, SmsStatus.failed})
RANK = {SmsStatus.queued: 0, SmsStatus.sent: 1, SmsStatus.delivered: 2, SmsStatus.failed: 2}


class SmsMessage(SQLModel, table=True):
    __tablename__ = "sms_message"
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    purpose: str = Field(max_length=20)  # "sign_in" for now; notification kinds later
    phone: str = Field(max_length=20, index=True)
    provider: str = Field(max_length=20)
    provider_message_id: str | None = Field(default=None, max_length=64, index=True)
    status: str = Field(max_length=12)
    encoding: str = Field(max_length=8)
    segments: int
    cost_vnd: int | None = None
    error: str | None = Field(default=None, max_length=200)
    created_at: datetime = utc_field(default_now=True)
    updated_at: datetime = utc_field(default_now=True)


class SmsEvent(SQLModel, table=True):
    """A change of an SMS's status: its send (``source`` "send") or a delivery report ("report")."""

    __tablename__ = "sms_event"
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    message_id: uuid.UUID = Field(foreign_key="sms_message.id", index=True)
    status: str = Field(max_length=12)
    source: str = Field(max_length=10)
    detail: str | None = Field(default=None, max_length=200)
    at: datetime = utc_field(default_now=True)


class SmsReportAck(BaseModel):
    """What the service answers a provider's delivery report: the message's status after it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"message_id": "d8e0f1f0702544b2acb456ca9ccfd111250", "status": "delivered", "changed": True}
            ]
        }
    )
    message_id: str = PydanticField(
        description="The provider's message id (eSMS: SMSID)",
        examples=["d8e0f1f0702544b2acb456ca9ccfd111250"],
    )
    status: SmsStatus = PydanticField(
        description="The message's status after this report", examples=[SmsStatus.delivered]
    )
    changed: bool = PydanticField(
        description="False for a duplicate or late report, which changes nothing", examples=[True]
    )
