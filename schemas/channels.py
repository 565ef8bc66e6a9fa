"""Notification channels beside push (issue 22): one delivery row per (notification, channel), its status
changes, the citizens' channel choices and the channels' shared send rate.

Push's own state stays on the ``notification`` row (status, attempts, lease) with its per-token log in
``notification_delivery``; that table's name was taken before channels existed, so the per-channel rows are
``channel_delivery``: one per (notification, channel) other than push, each sent at most once (unique
constraint), with its own lease, attempts, provider, provider message id, cost in VND and last error. Every
change of its status is a ``channel_delivery_event`` row written in the same transaction.
"""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from schemas.base import new_id, utc_field


class NoticeChannel(StrEnum):
    push = "push"
    sms = "sms"
    zns = "zns"  # Zalo Notification Service template messages


class DeliveryStatus(StrEnum):
    pending = "pending"  # waiting for its time (quiet hours, backoff, the rate)
    sending = "sending"  # claimed by a dispatcher until claimed_until (a lease)
    sent = "sent"  # the provider took it; its delivery report says the rest
    delivered = "delivered"  # final: the provider reports the phone got it
    failed = "failed"  # final: refused, reported undelivered, or gave up after N attempts
    skipped = "skipped"  # final: not sent (channel not configured, no phone number)
    suppressed = "suppressed"  # final: the citizen opted out of the channel before it was sent


CLAIMABLE_DELIVERY = (DeliveryStatus.pending.value, DeliveryStatus.sending.value)
# Statuses after which the channel is no use for this message, so the next fallback channel may be tried.
GAVE_UP = frozenset({DeliveryStatus.failed, DeliveryStatus.skipped, DeliveryStatus.suppressed})
# A report moves a delivery only forward along these ranks: a late "sent" after "delivered" changes nothing.
RANK = {
    DeliveryStatus.pending: 0,
    DeliveryStatus.sending: 1,
    DeliveryStatus.sent: 2,
    DeliveryStatus.delivered: 3,
    DeliveryStatus.failed: 3,
    DeliveryStatus.skipped: 3,
    DeliveryStatus.suppressed: 3,
}
_CLAIMABLE_SQL = "status IN ('pending', 'sending')"
_STATUSES_SQL = "status IN ('pending', 'sending', 'sent', 'delivered', 'failed', 'skipped', 'suppressed')"


class ChannelDelivery(SQLModel, table=True):
    __tablename__ = "channel_delivery"
    __table_args__ = (
        UniqueConstraint("notification_id", "channel", name="uq_channel_delivery"),
        Index(
            "ix_channel_delivery_due",
            "next_attempt_at",
            postgresql_where=text(_CLAIMABLE_SQL),
            sqlite_where=text(_CLAIMABLE_SQL),
        ),
        Index("ix_channel_delivery_recipient", "recipient_id", "channel", "status"),
        Index("ix_channel_delivery_provider_id", "provider", "provider_message_id"),
        CheckConstraint(_STATUSES_SQL, name="ck_channel_delivery_status"),
        CheckConstraint("channel IN ('push', 'sms', 'zns')", name="ck_channel_delivery_channel"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)  # also the provider's request id
    notification_id: uuid.UUID = Field(foreign_key="notification.id", ondelete="CASCADE")
    channel: NoticeChannel = Field(sa_type=String(8))
    recipient_id: uuid.UUID  # the citizen (denormalised: an opt-out finds their rows without a join)
    template: str = Field(max_length=64)
    status: DeliveryStatus = Field(default=DeliveryStatus.pending, sa_type=String(12))
    attempts: int = 0
    next_attempt_at: datetime = utc_field(default_now=True)
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_until: datetime | None = utc_field(nullable=True)
    provider: str | None = Field(default=None, max_length=20)
    provider_message_id: str | None = Field(default=None, max_length=100)
    segments: int | None = None
    cost_vnd: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = utc_field(default_now=True)
    sent_at: datetime | None = utc_field(nullable=True)
    updated_at: datetime = utc_field(default_now=True)


class ChannelDeliveryEvent(SQLModel, table=True):
    """A change of a delivery's status. Who: ``actor`` is the dispatcher's worker id, the provider's name for a
    delivery report, or ``citizen:<id>`` for an opt-out; where: ``source`` (dispatch, report, opt_out, plan)."""

    __tablename__ = "channel_delivery_event"
    __table_args__ = (Index("ix_channel_delivery_event_delivery", "delivery_id", "at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    delivery_id: uuid.UUID = Field(foreign_key="channel_delivery.id", ondelete="CASCADE")
    status: str = Field(max_length=12)
    source: str = Field(max_length=10)
    actor: str | None = Field(default=None, max_length=120)
    detail: str | None = Field(default=None, max_length=300)
    at: datetime = utc_field(default_now=True)


class ChannelPreference(SQLModel, table=True):
    """A citizen's choice for one channel; no row means the channel is on (the policy's default)."""

    __tablename__ = "channel_preference"
    __table_args__ = (
        UniqueConstraint("citizen_id", "channel", name="uq_channel_preference"),
        CheckConstraint("channel IN ('push', 'sms', 'zns')", name="ck_channel_preference_channel"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    citizen_id: uuid.UUID = Field(foreign_key="citizen.id", ondelete="CASCADE")
    channel: NoticeChannel = Field(sa_type=String(8))
    enabled: bool = True
    updated_at: datetime = utc_field(default_now=True)


class ChannelRate(SQLModel, table=True):
    """One row per channel, shared by every dispatcher: ``next_slot_at`` is the GCRA's theoretical arrival time
    (the earliest a new message may go at the configured rate), ``paused_until`` a provider's Retry-After."""

    __tablename__ = "channel_rate"

    channel: str = Field(primary_key=True, max_length=8)
    next_slot_at: datetime = utc_field(default_now=True)
    paused_until: datetime | None = utc_field(nullable=True)


CHANNEL_TABLES = (
    ChannelDelivery.__table__,  # type: ignore[attr-defined]
    ChannelDeliveryEvent.__table__,  # type: ignore[attr-defined]
    ChannelPreference.__table__,  # type: ignore[attr-defined]
    ChannelRate.__table__,  # type: ignore[attr-defined]
)


# API shapes -----------------------------------------------------------------------------------------------


class ChannelChoice(SQLModel):
    channel: NoticeChannel = Field(schema_extra={"examples": ["sms"]})
    enabled: bool = Field(schema_extra={"examples": [False]})


class ChannelSettings(SQLModel):
    """The caller's channels: each on or off, and what the service does with them."""

    channels: list[ChannelChoice] = Field(
        schema_extra={
            "examples": [
                [
                    {"channel": "push", "enabled": True},
                    {"channel": "sms", "enabled": False},
                    {"channel": "zns", "enabled": True},
                ]
            ]
        }
    )
    note_vi: str = Field(
        schema_extra={"examples": ["Thông báo gửi qua ứng dụng trước; tin nhắn SMS/Zalo khi cần."]}
    )
    note_en: str = Field(schema_extra={"examples": ["Notices go to the app first; SMS/Zalo when needed."]})


class ChannelSettingsIn(SQLModel):
    """Channels to switch on or off; channels not listed keep their setting. Sign-in codes always go by SMS."""

    # Not named ``channels``: a body field of that name is taken for Litestar's channels plugin's dependency, and
    # its validation errors answered 500.
    choices: list[ChannelChoice] = Field(
        description="each channel's new setting; a channel listed twice takes its last, an empty list changes nothing",
        schema_extra={"examples": [[{"channel": "sms", "enabled": False}]]},
    )
