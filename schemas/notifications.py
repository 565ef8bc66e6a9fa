"""Notification outbox / in-app inbox, push targets and the per-target delivery log.

One ``Notification`` row is both the outbox entry the dispatcher sends and the inbox item the apps list:
it is written in the same transaction as the business event that caused it (transactional outbox), with
its text already rendered so the inbox never changes when templates do.
"""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from schemas.base import json_field, new_id, utc_field


class RecipientKind(StrEnum):
    citizen = "citizen"
    staff = "staff"  # couriers, desk clerks, dispatchers, agency officers


class NotificationStatus(StrEnum):
    pending = "pending"  # waiting for its time (not_before / retry backoff)
    sending = "sending"  # claimed by a dispatcher until claimed_until (a lease)
    sent = "sent"  # pushed to at least one device
    failed = "failed"  # gave up; last_error says why
    skipped = "skipped"  # nothing pushed (push off, or no working device); still in the inbox


class Priority(StrEnum):
    normal = "normal"
    high = "high"


class Platform(StrEnum):
    android = "android"
    ios = "ios"
    web = "web"


# Enum-typed columns are stored as plain strings (sa_type=String) rather than database ENUM types, so
# adding a value needs no type migration and no name can clash with another module's enum type.

# Rows a dispatcher may claim: the partial index below holds only these, so it stays small while sent
# rows pile up in the inbox.
CLAIMABLE = (NotificationStatus.pending.value, NotificationStatus.sending.value)
_CLAIMABLE_SQL = "status IN ('pending', 'sending')"


class Notification(SQLModel, table=True):
    __tablename__ = "notification"
    __table_args__ = (
        # The same business event never yields two rows for one recipient (NULL keys never clash).
        UniqueConstraint("recipient_kind", "recipient_id", "dedupe_key", name="uq_notification_dedupe"),
        # The claim query: due rows in order of due time.
        Index(
            "ix_notification_due",
            "next_attempt_at",
            postgresql_where=text(_CLAIMABLE_SQL),
            sqlite_where=text(_CLAIMABLE_SQL),
        ),
        # The inbox: one recipient's rows, newest first.
        Index("ix_notification_inbox", "recipient_id", "recipient_kind", "created_at"),
        # The channel planner's scan of recent notices (notifications/channels/planner.py; migration 0025).
        Index("ix_notification_created", "created_at"),
        CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'skipped')", name="ck_notification_status"
        ),
        CheckConstraint("recipient_kind IN ('citizen', 'staff')", name="ck_notification_recipient_kind"),
        CheckConstraint("priority IN ('normal', 'high')", name="ck_notification_priority"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    recipient_kind: RecipientKind = Field(sa_type=String(16))
    recipient_id: uuid.UUID
    template: str = Field(max_length=64)
    params: dict[str, Any] = json_field()
    title_vi: str
    body_vi: str
    title_en: str
    body_en: str
    deep_link: str | None = Field(default=None, max_length=500)
    collapse_key: str | None = Field(default=None, max_length=120)
    priority: Priority = Field(default=Priority.normal, sa_type=String(8))
    data_only: bool = False
    dedupe_key: str | None = Field(default=None, max_length=200)
    not_before: datetime | None = utc_field(nullable=True)
    status: NotificationStatus = Field(default=NotificationStatus.pending, sa_type=String(10))
    attempts: int = 0
    # When a dispatcher should next look at the row: the scheduled time or retry time while pending, the
    # lease expiry while sending (so a row whose worker died becomes due again by itself).
    next_attempt_at: datetime = utc_field(default_now=True)
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_until: datetime | None = utc_field(nullable=True)
    last_error: str | None = Field(default=None, max_length=1000)
    sent_at: datetime | None = utc_field(nullable=True)
    read_at: datetime | None = utc_field(nullable=True)
    created_at: datetime = utc_field(default_now=True)


class DeviceTarget(SQLModel, table=True):
    """A push registration token of one app install, owned by a citizen or a staff member."""

    __tablename__ = "device_target"
    __table_args__ = (
        Index("ix_device_target_owner", "owner_id", "owner_kind"),
        CheckConstraint("owner_kind IN ('citizen', 'staff')", name="ck_device_target_owner_kind"),
        CheckConstraint("platform IN ('android', 'ios', 'web')", name="ck_device_target_platform"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    owner_kind: RecipientKind = Field(sa_type=String(16))
    owner_id: uuid.UUID
    token: str = Field(unique=True, max_length=512)
    platform: Platform = Field(sa_type=String(10))
    app_version: str | None = Field(default=None, max_length=40)
    created_at: datetime = utc_field(default_now=True)
    last_seen_at: datetime = utc_field(default_now=True)


class NotificationDelivery(SQLModel, table=True):
    """FCM accepted this notification for this token. A retry skips tokens listed here, so a working
    device is not sent the same notification twice when only another of the owner's devices failed."""

    __tablename__ = "notification_delivery"
    __table_args__ = (UniqueConstraint("notification_id", "token", name="uq_notification_delivery"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    notification_id: uuid.UUID = Field(foreign_key="notification.id", ondelete="CASCADE")
    token: str = Field(max_length=512)
    message_id: str | None = Field(default=None, max_length=200)
    delivered_at: datetime = utc_field(default_now=True)


NOTIFICATION_TABLES = (Notification.__table__, DeviceTarget.__table__, NotificationDelivery.__table__)  # type: ignore[attr-defined]


# API shapes -----------------------------------------------------------------------------------------------


# Examples for the OpenAPI document (Litestar renders per-field examples only).
FCM_TOKEN = {"examples": ["fcm-token-dQw4w9WgXcQ:APA91bH..."]}
TEMPLATE = {"examples": ["appointment_booked"]}


class InboxItem(SQLModel):
    """One inbox entry as the apps see it (both languages; the app picks)."""

    id: uuid.UUID
    template: str = Field(schema_extra=TEMPLATE)
    title_vi: str = Field(schema_extra={"examples": ["Đã đặt lịch hẹn"]})
    body_vi: str = Field(schema_extra={"examples": ["Bưu tá sẽ đến nhận hồ sơ 08:00–10:00 ngày 07/12/2026."]})
    title_en: str = Field(schema_extra={"examples": ["Appointment booked"]})
    body_en: str = Field(
        schema_extra={"examples": ["A courier will collect your dossier 08:00–10:00 on 07/12/2026."]}
    )
    deep_link: str | None = Field(
        default=None, schema_extra={"examples": ["/appointments/3f0c0d6e-2b1a-4c55-9d0e-6a1f2b3c4d5e"]}
    )
    created_at: datetime = Field(schema_extra={"examples": ["2026-12-05T14:02:11+07:00"]})
    read_at: datetime | None = None


class InboxPage(SQLModel):
    """A page of the caller's inbox, newest first; ``unread`` counts every unread entry, not only this page's."""

    items: list[InboxItem]
    total: int
    limit: int
    offset: int
    unread: int = Field(schema_extra={"examples": [3]})


class MarkReadIn(SQLModel):
    """Which inbox entries to mark read: their ids, or none given (``null``) for all of them."""

    ids: list[str] | None = Field(
        default=None,
        description="notification ids (UUIDs); null or absent marks every entry read",
        schema_extra={"examples": [["3f0c0d6e-2b1a-4c55-9d0e-6a1f2b3c4d5e"]]},
    )


class MarkedRead(SQLModel):
    marked: int = Field(description="entries newly marked read", schema_extra={"examples": [1]})


class FailedNotification(SQLModel):
    """A notification the dispatcher gave up on, with the last error."""

    id: uuid.UUID
    template: str = Field(schema_extra=TEMPLATE)
    recipient_kind: RecipientKind
    recipient_id: uuid.UUID
    attempts: int = Field(schema_extra={"examples": [8]})
    last_error: str | None = Field(
        default=None, schema_extra={"examples": ["UNREGISTERED: token no longer valid"]}
    )
    created_at: datetime = Field(schema_extra={"examples": ["2026-12-05T14:02:11+07:00"]})


class FailedNotificationPage(SQLModel):
    """A page of failed notifications, newest first."""

    items: list[FailedNotification]
    total: int
    limit: int
    offset: int


class FeedTicket(SQLModel):
    """Opens a desk's live feed once (``?ticket=``) within ``expires_in`` seconds."""

    ticket: str = Field(schema_extra={"examples": ["k3J9xQ2vT7mWb1LzR8pN4sYc"]})
    expires_in: int = Field(schema_extra={"examples": [60]})


class DeviceRegistration(SQLModel):
    token: str = Field(min_length=10, max_length=512, schema_extra=FCM_TOKEN)
    platform: Platform = Field(schema_extra={"examples": ["android"]})
    app_version: str | None = Field(default=None, max_length=40, schema_extra={"examples": ["2.3.1"]})


class DevicePublic(SQLModel):
    """A registered push target of the caller."""

    token: str = Field(schema_extra=FCM_TOKEN)
    platform: Platform = Field(schema_extra={"examples": ["android"]})
    app_version: str | None = Field(default=None, schema_extra={"examples": ["2.3.1"]})
    last_seen_at: datetime = Field(schema_extra={"examples": ["2026-12-05T14:02:11+07:00"]})
