"""Outbound webhooks for partner systems (issue 19, "Partners subscribe"): endpoints, the relay's cursors,
deliveries (an outbox per endpoint and event) and every delivery attempt.

A provincial portal or an agency's own system registers an HTTPS endpoint for the event kinds it wants; the
relay (``backend/partners/relay.py``) turns dossier and appointment event rows into deliveries, and the
delivery worker (``backend/partners/delivery.py``) POSTs them signed (Standard Webhooks' scheme).
"""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from schemas.base import json_field, new_id, utc_field
from schemas.booking import AppointmentEvent


class WebhookKind(StrEnum):
    dossier_status_changed = "dossier.status_changed"
    dossier_result_ready = "dossier.result_ready"
    appointment_changed = "appointment.changed"


PING = "webhook.ping"  # a test delivery asked for by the endpoint's admin, never a business event


class DeliveryStatus(StrEnum):
    pending = "pending"  # waiting for its first or next attempt
    sending = "sending"  # leased by a worker: a request is (or was, if the worker died) in flight
    delivered = "delivered"  # the receiver answered 2xx
    failed = "failed"  # refused for good (4xx other than 408/429) or given up after WEBHOOK_MAX_ATTEMPTS


CLAIMABLE = (DeliveryStatus.pending.value, DeliveryStatus.sending.value)


class WebhookEndpoint(SQLModel, table=True):
    """A partner's receiving URL, owned by one organisation: it gets events of that organisation's records only."""

    __tablename__ = "webhook_endpoint"
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)
    url: str = Field(max_length=500)
    kinds: list[str] = json_field(default_factory=list)
    description: str | None = Field(default=None, max_length=200)
    active: bool = True
    # Shown once, when made or rotated; the worker needs it in clear to sign (an HMAC key cannot be hashed).
    secret: str = Field(max_length=100)
    created_by: uuid.UUID | None = None
    created_at: datetime = utc_field(default_now=True)
    updated_at: datetime = utc_field(default_now=True)
    secret_rotated_at: datetime | None = utc_field(nullable=True)


class WebhookEndpointEvent(SQLModel, table=True):
    """One change to an endpoint (created, updated, secret_rotated, pinged, deleted): who, when, what changed.
    Not a foreign key: the record outlives a deleted endpoint. Never the secret."""

    __tablename__ = "webhook_endpoint_event"
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    endpoint_id: uuid.UUID = Field(index=True)
    org_id: uuid.UUID
    code: str = Field(max_length=20)
    actor_id: uuid.UUID | None = None
    at: datetime = utc_field(default_now=True)
    data: dict[str, Any] = json_field()


class WebhookCursor(SQLModel, table=True):
    """How far the relay has read one event table: the (``at``, ``id``) of the last event it turned into
    deliveries. The relay re-reads a short overlap behind it (late commits), deduped by delivery keys."""

    __tablename__ = "webhook_cursor"
    source: str = Field(primary_key=True, max_length=40)
    last_at: datetime = utc_field()
    last_id: uuid.UUID
    updated_at: datetime = utc_field(default_now=True)


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint: the outbox row the delivery worker leases, sends and settles. ``event_id``
    is the ``Webhook-Id`` the receiver dedupes by; one row per (endpoint, event), so a relay restart or a
    re-read never makes a second."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_delivery_event"),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_endpoint_created", "endpoint_id", "created_at"),
    )
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    endpoint_id: uuid.UUID = Field(foreign_key="webhook_endpoint.id", ondelete="CASCADE")
    event_id: uuid.UUID
    kind: str = Field(max_length=40)
    payload: dict[str, Any] = json_field()
    status: DeliveryStatus = Field(default=DeliveryStatus.pending, sa_type=String(20))
    attempts: int = 0
    next_attempt_at: datetime = utc_field()
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_until: datetime | None = utc_field(nullable=True)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = utc_field(default_now=True)
    delivered_at: datetime | None = utc_field(nullable=True)


class WebhookAttempt(SQLModel, table=True):
    """One POST of a delivery (or a lease that ran out with no answer): when, which worker, what came back."""

    __tablename__ = "webhook_attempt"
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    delivery_id: uuid.UUID = Field(foreign_key="webhook_delivery.id", index=True, ondelete="CASCADE")
    attempt: int
    at: datetime = utc_field(default_now=True)
    worker: str = Field(max_length=100)
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    duration_ms: int | None = None
    outcome: DeliveryStatus = Field(sa_type=String(20))


# The relay reads appointment events in (at, id) order: the booking table has no index on ``at``.
APPOINTMENT_EVENT_AT = Index(
    "ix_appointment_event_at_id",
    AppointmentEvent.__table__.c.at,  # type: ignore[attr-defined]
    AppointmentEvent.__table__.c.id,  # type: ignore[attr-defined]
)


# --- API shapes --------------------------------------------------------------------------------------------

URL_EXAMPLE = {"examples": ["https://dichvucong.dongthap.gov.vn/hooks/buudien"]}
KINDS_EXAMPLE = {"examples": [["dossier.status_changed", "dossier.result_ready"]]}


class WebhookEndpointCreate(SQLModel):
    organisation: str | None = Field(
        default=None,
        max_length=32,
        description="the owning organisation's code; only for an admin with no organisation of their own",
        schema_extra={"examples": ["82-TTPVHCC"]},
    )
    url: str = Field(
        max_length=500,
        description="HTTPS; plain http only to localhost outside production",
        schema_extra=URL_EXAMPLE,
    )
    kinds: list[WebhookKind] = Field(min_length=1, max_length=3, schema_extra=KINDS_EXAMPLE)
    description: str | None = Field(
        default=None, max_length=200, schema_extra={"examples": ["Cổng dịch vụ công tỉnh Đồng Tháp"]}
    )


class WebhookEndpointUpdate(SQLModel):
    url: str | None = Field(default=None, max_length=500, schema_extra=URL_EXAMPLE)
    kinds: list[WebhookKind] | None = Field(
        default=None, min_length=1, max_length=3, schema_extra=KINDS_EXAMPLE
    )
    active: bool | None = Field(default=None, schema_extra={"examples": [False]})
    description: str | None = Field(
        default=None, max_length=200, schema_extra={"examples": ["Hệ thống một cửa điện tử của Sở Tư pháp"]}
    )


class WebhookEndpointPublic(SQLModel):
    id: uuid.UUID
    organisation: str = Field(schema_extra={"examples": ["82-TTPVHCC"]})
    url: str = Field(schema_extra=URL_EXAMPLE)
    kinds: list[WebhookKind] = Field(schema_extra=KINDS_EXAMPLE)
    description: str | None = Field(
        default=None, schema_extra={"examples": ["Cổng dịch vụ công tỉnh Đồng Tháp"]}
    )
    active: bool
    created_at: datetime = Field(schema_extra={"examples": ["2026-12-05T09:30:00+07:00"]})
    updated_at: datetime = Field(schema_extra={"examples": ["2026-12-05T09:30:00+07:00"]})
    secret_rotated_at: datetime | None = None


class WebhookEndpointWithSecret(WebhookEndpointPublic):
    """The endpoint with its signing secret: answered once, when made or rotated; never again."""

    secret: str = Field(
        description="the HMAC-SHA256 key (Standard Webhooks' ``whsec_`` form, base64 after the prefix); keep it",
        schema_extra={"examples": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]},
    )


class WebhookEndpointPage(SQLModel):
    items: list[WebhookEndpointPublic]
    total: int
    limit: int
    offset: int


class WebhookAttemptPublic(SQLModel):
    attempt: int = Field(schema_extra={"examples": [1]})
    at: datetime = Field(schema_extra={"examples": ["2026-12-05T09:31:02+07:00"]})
    status_code: int | None = Field(default=None, schema_extra={"examples": [503]})
    error: str | None = Field(default=None, schema_extra={"examples": ["HTTP 503"]})
    duration_ms: int | None = Field(default=None, schema_extra={"examples": [184]})
    outcome: DeliveryStatus


class WebhookDeliveryPublic(SQLModel):
    id: uuid.UUID
    event_id: uuid.UUID = Field(description="the Webhook-Id header and the body's id")
    type: str = Field(schema_extra={"examples": ["dossier.status_changed"]})
    status: DeliveryStatus
    attempts: int = Field(schema_extra={"examples": [2]})
    next_attempt_at: datetime | None = None
    last_status_code: int | None = Field(default=None, schema_extra={"examples": [200]})
    last_error: str | None = None
    created_at: datetime = Field(schema_extra={"examples": ["2026-12-05T09:31:00+07:00"]})
    delivered_at: datetime | None = None
    history: list[WebhookAttemptPublic]


class WebhookDeliveryPage(SQLModel):
    items: list[WebhookDeliveryPublic]
    total: int
    limit: int
    offset: int


# --- what partners receive (the document's ``webhooks``) ---------------------------------------------------


class DossierStatusData(BaseModel):
    """A dossier's step, as a partner needs it: no citizen name, phone or address (Decree 13/2023/NĐ-CP)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "item_id": "HS123456785VN",
                    "procedure": "1.001193",
                    "code": "TNH",
                    "status": "at_desk",
                    "portal_status": 2,
                    "at": "2026-12-05T09:30:00+07:00",
                    "organisation": "82-TTPVHCC",
                    "desk": "82-TTPVHCC",
                    "agency": "82-STP",
                    "post_office": "82-BD-01",
                    "due_at": "2026-12-19T17:00:00+07:00",
                    "outcome": None,
                }
            ]
        }
    )
    item_id: str
    procedure: str | None
    code: str
    status: str
    portal_status: int
    at: str
    organisation: str | None
    desk: str | None
    agency: str | None
    post_office: str | None
    due_at: str | None
    outcome: str | None


class AppointmentChangedData(BaseModel):
    """A home appointment's change: the window and the office, never the citizen's address or phone."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "appointment_id": "0b6f1c2e-2d0a-4f7e-9a51-3f0c5b1f9a10",
                    "change": "booked",
                    "kind": "pickup",
                    "status": "booked",
                    "start": "2026-12-07T08:00:00+07:00",
                    "end": "2026-12-07T10:00:00+07:00",
                    "post_office": "82-BD-01",
                    "procedure": "1.001193",
                    "dossier_item_id": None,
                    "reason_code": None,
                    "at": "2026-12-05T09:30:00+07:00",
                }
            ]
        }
    )
    appointment_id: str
    change: str
    kind: str
    status: str
    start: str
    end: str
    post_office: str | None
    procedure: str | None
    dossier_item_id: str | None
    reason_code: str | None
    at: str
