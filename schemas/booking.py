"""At-home appointments (lịch hẹn tại nhà): the booking, its events, window capacity, idempotency and the
per-post-office booking rules.

Home pickup and delivery around administrative procedures is the public postal service of Decision
45/2016/QĐ-TTg; home pickup as a value-added service is Circular 17/2017/TT-BTTTT art. 5.
"""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from schemas.base import Instant, json_field, new_id, utc_field


class AppointmentKind(StrEnum):
    pickup = "pickup"  # collect a dossier at home (nhận hồ sơ tại nhà)
    delivery = "delivery"  # bring a result home (trả kết quả tại nhà)
    assisted = "assisted"  # help the citizen fill in and file at home, then collect


class AppointmentStatus(StrEnum):
    booked = "booked"
    cancelled = "cancelled"
    no_show = "no_show"  # the citizen was not there
    failed = "failed"  # the visit happened but could not be completed (documents missing, refused...)
    completed = "completed"  # set by the custody domain when the courier scans the pickup / delivery


class BookingChannel(StrEnum):
    app = "app"  # the citizen's app
    desk = "desk"  # a one-stop desk clerk on the citizen's behalf
    phone = "phone"  # a post-office dispatcher taking a phone call
    system = "system"  # automatic (demo, jobs)


# Reason codes a courier or dispatcher gives for a visit that did not work out.
NO_SHOW_REASONS: dict[str, tuple[str, str]] = {
    "citizen_absent": ("Người dân vắng nhà", "Citizen not at home"),
    "unreachable": ("Không liên lạc được qua điện thoại", "Could not be reached by phone"),
    "wrong_address": ("Sai địa chỉ", "Wrong address"),
}
FAILED_REASONS: dict[str, tuple[str, str]] = {
    "documents_incomplete": ("Hồ sơ chưa đủ giấy tờ", "Documents incomplete"),
    "fees_not_paid": ("Chưa nộp phí, lệ phí", "Fees not paid"),
    "citizen_refused": ("Người dân từ chối", "Citizen refused"),
    "identity_mismatch": ("Không xác minh được người nộp", "Identity could not be verified"),
    "address_inaccessible": ("Không tiếp cận được địa chỉ", "Address not accessible"),
    "courier_unable": ("Bưu tá không thể đến (thời tiết, phương tiện)", "Courier could not come"),
    "other": ("Lý do khác", "Other reason"),
}

DEFAULT_SERVICE_MINUTES: dict[str, int] = {"pickup": 10, "delivery": 5, "assisted": 30}


class BookingSettings(SQLModel, table=True):
    """A post office's booking rules; a post office without a row uses these defaults."""

    __tablename__ = "booking_settings"
    post_office_id: uuid.UUID = Field(foreign_key="organisation.id", primary_key=True)
    window_minutes: int = Field(default=120, ge=30, le=480)
    min_notice_minutes: int = Field(default=120, ge=0, description="earliest booking before a window starts")
    horizon_days: int = Field(default=14, ge=1, le=90, description="latest bookable day, counted from today")
    cutoff_minutes: int = Field(default=120, ge=0, description="reschedule/cancel closes this long before")
    travel_minutes: int = Field(default=12, ge=0, description="travel allowance added to every visit")
    service_minutes: dict[str, Any] = json_field(default_factory=lambda: dict(DEFAULT_SERVICE_MINUTES))
    updated_at: datetime = utc_field(default_now=True)


class ServiceMinutes(SQLModel):
    pickup: int = Field(default=DEFAULT_SERVICE_MINUTES["pickup"], ge=1, le=240)
    delivery: int = Field(default=DEFAULT_SERVICE_MINUTES["delivery"], ge=1, le=240)
    assisted: int = Field(default=DEFAULT_SERVICE_MINUTES["assisted"], ge=1, le=240)


class BookingSettingsIn(SQLModel):
    """A post office's booking rules as an admin or its dispatcher sets them (the whole set at once)."""

    window_minutes: int = Field(default=120, ge=30, le=480)
    min_notice_minutes: int = Field(default=120, ge=0, le=7 * 24 * 60)
    horizon_days: int = Field(default=14, ge=1, le=90)
    cutoff_minutes: int = Field(default=120, ge=0, le=7 * 24 * 60)
    travel_minutes: int = Field(default=12, ge=0, le=240)
    service_minutes: ServiceMinutes = Field(default_factory=ServiceMinutes)


class SlotCapacity(SQLModel, table=True):
    """The booking ledger of one window of one post office, in courier-minutes.

    Created on demand by the first booking; every booking adds its cost with a conditional UPDATE
    (``booked_minutes + cost <= capacity``), so two bookings can never both take the last place."""

    __tablename__ = "slot_capacity"
    post_office_id: uuid.UUID = Field(foreign_key="organisation.id", primary_key=True)
    start: datetime = Field(primary_key=True, sa_type=DateTimeUTC(timezone=True))
    end: datetime = utc_field()
    capacity_minutes: int = 0
    booked_minutes: int = 0
    bookings: int = 0
    updated_at: datetime = utc_field(default_now=True)


class Appointment(SQLModel, table=True):
    __tablename__ = "appointment"
    __table_args__ = (Index("ix_appointment_po_start", "post_office_id", "start"),)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    citizen_id: uuid.UUID = Field(foreign_key="citizen.id", index=True)
    post_office_id: uuid.UUID = Field(foreign_key="organisation.id")
    province_code: str = Field(max_length=8, index=True)
    commune_code: str = Field(foreign_key="commune.code", max_length=8)
    kind: AppointmentKind = Field(max_length=20)
    status: AppointmentStatus = Field(default=AppointmentStatus.booked, max_length=20, index=True)
    start: datetime = utc_field(index=True)
    end: datetime = utc_field()
    cost_minutes: int = Field(description="courier-minutes taken from the window's capacity")
    procedure_id: uuid.UUID | None = Field(default=None, foreign_key="procedure.id", index=True)
    dossier_item_id: str | None = Field(default=None, max_length=13, index=True)
    lat: float
    lon: float
    address: str | None = Field(default=None, max_length=300)
    note: str | None = Field(default=None, max_length=500)
    distance_km: float = 0.0
    fees: dict[str, Any] = json_field()
    channel: BookingChannel = Field(default=BookingChannel.app, max_length=10)
    booked_by_role: str = Field(max_length=20)
    booked_by_id: uuid.UUID
    rebook_of: uuid.UUID | None = Field(default=None, foreign_key="appointment.id")
    outcome_code: str | None = Field(default=None, max_length=40)
    reason: str | None = Field(default=None, max_length=300)
    version: int = 1
    created_at: datetime = utc_field(default_now=True)
    updated_at: datetime = utc_field(default_now=True)


class AppointmentEvent(SQLModel, table=True):
    """One change of an appointment; ``seq`` is the appointment's version after the change, so events are
    totally ordered and two concurrent changes can never both be recorded as the same step."""

    __tablename__ = "appointment_event"
    __table_args__ = (UniqueConstraint("appointment_id", "seq", name="uq_appointment_event_seq"),)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    appointment_id: uuid.UUID = Field(foreign_key="appointment.id", index=True)
    seq: int
    type: str = Field(max_length=20, description="booked, rescheduled, cancelled, no_show, failed, completed")
    at: datetime = utc_field(default_now=True)
    actor_role: str = Field(max_length=20)
    actor_id: uuid.UUID | None = None
    channel: BookingChannel = Field(max_length=10)
    reason: str | None = Field(default=None, max_length=300)
    reason_code: str | None = Field(default=None, max_length=40)
    data: dict[str, Any] = json_field()


class IdempotencyRecord(SQLModel, table=True):
    """``Idempotency-Key`` of a booking request: the same caller and key always mean the same booking."""

    __tablename__ = "booking_idempotency"
    caller_id: uuid.UUID = Field(primary_key=True)
    key: str = Field(primary_key=True, max_length=200)
    request_hash: str = Field(max_length=64)
    # Not a foreign key: the record is written before the appointment, to serialise retries early.
    appointment_id: uuid.UUID
    created_at: datetime = utc_field(default_now=True)


# API shapes -----------------------------------------------------------------------------------------------


class AppointmentCreate(SQLModel):
    kind: AppointmentKind
    start: Instant
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    procedure: str | None = Field(
        default=None, max_length=32, description="procedure code (pickup, assisted)"
    )
    dossier: str | None = Field(default=None, max_length=20, description="S10 item id (delivery)")
    address: str | None = Field(default=None, max_length=300)
    note: str | None = Field(default=None, max_length=500)
    citizen_phone: str | None = Field(default=None, max_length=20, description="staff booking for a citizen")
    channel: BookingChannel | None = Field(default=None, description="staff only: desk or phone")
    rebook_of: uuid.UUID | None = None


class AppointmentReschedule(SQLModel):
    start: Instant
    reason: str | None = Field(default=None, max_length=300)
    version: int | None = Field(default=None, description="the version the caller saw; 409 if it changed")


class AppointmentCancel(SQLModel):
    reason: str = Field(min_length=1, max_length=300)
    version: int | None = None


class AppointmentOutcome(SQLModel):
    reason_code: str = Field(min_length=1, max_length=40)
    note: str | None = Field(default=None, max_length=300)
    offer_rebook: bool = True


class SlotPublic(SQLModel):
    start: datetime
    end: datetime
    kind: AppointmentKind
    remaining: int
    post_office: str


class AppointmentEventPublic(SQLModel):
    seq: int
    type: str
    at: datetime
    actor_role: str
    channel: BookingChannel
    reason: str | None = None
    reason_code: str | None = None
    data: dict[str, Any] = {}


class AppointmentPublic(SQLModel):
    id: uuid.UUID
    kind: AppointmentKind
    status: AppointmentStatus
    start: datetime
    end: datetime
    post_office: str
    post_office_name: str
    commune: str
    citizen_id: uuid.UUID
    citizen_phone: str | None = None  # staff views only
    procedure: str | None = None
    procedure_name: str | None = None
    documents: list[dict[str, Any]] | None = None
    dossier: str | None = None
    lat: float
    lon: float
    address: str | None = None
    note: str | None = None
    distance_km: float
    fees: dict[str, Any]
    channel: BookingChannel
    rebook_of: uuid.UUID | None = None
    outcome_code: str | None = None
    reason: str | None = None
    version: int
    created_at: datetime
    updated_at: datetime
    events: list[AppointmentEventPublic] | None = None
    rebook: dict[str, Any] | None = None
