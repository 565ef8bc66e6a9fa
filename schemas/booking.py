"""At-home appointments (lịch hẹn tại nhà): the booking, its events, window capacity, idempotency and the
per-post-office booking rules.

Home pickup and delivery around administrative procedures is the public postal service of Decision
45/2016/QĐ-TTg; home pickup as a value-added service is Circular 17/2017/TT-BTTTT art. 5.
"""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from advanced_alchemy.types import DateTimeUTC
from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from schemas.base import Instant, json_field, new_id, utc_field
from schemas.catalogue import DocumentRequirement


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


# Examples for the OpenAPI document (Litestar renders per-field examples only).
START = {"examples": ["2026-12-07T08:00:00+07:00"]}
END = {"examples": ["2026-12-07T10:00:00+07:00"]}
PO_CODE = {"examples": ["82-BD-01"]}
PROC_CODE = {"examples": ["1.001193"]}
ITEM_ID = {"examples": ["EA123456785VN"]}
ADDRESS = {"examples": ["Số 12, đường Lê Lợi, Phường Cao Lãnh, Đồng Tháp"]}
LAT = {"examples": [10.4602]}
LON = {"examples": [105.6329]}


class ServiceMinutes(SQLModel):
    pickup: int = Field(default=DEFAULT_SERVICE_MINUTES["pickup"], ge=1, le=240)
    delivery: int = Field(default=DEFAULT_SERVICE_MINUTES["delivery"], ge=1, le=240)
    assisted: int = Field(default=DEFAULT_SERVICE_MINUTES["assisted"], ge=1, le=240)


class BookingSettingsIn(SQLModel):
    """A post office's booking rules as an admin or its dispatcher sets them (the whole set at once)."""

    window_minutes: int = Field(default=120, ge=30, le=480, schema_extra={"examples": [120]})
    min_notice_minutes: int = Field(default=120, ge=0, le=7 * 24 * 60, schema_extra={"examples": [120]})
    horizon_days: int = Field(default=14, ge=1, le=90, schema_extra={"examples": [14]})
    cutoff_minutes: int = Field(default=120, ge=0, le=7 * 24 * 60, schema_extra={"examples": [120]})
    travel_minutes: int = Field(default=12, ge=0, le=240, schema_extra={"examples": [12]})
    service_minutes: ServiceMinutes = Field(default_factory=ServiceMinutes)


class BookingSettingsPublic(SQLModel):
    """A post office's booking rules in force; ``defaults`` is true when it has none of its own."""

    post_office: str = Field(schema_extra=PO_CODE)
    window_minutes: int = Field(schema_extra={"examples": [120]})
    min_notice_minutes: int = Field(
        description="earliest booking before a window starts", schema_extra={"examples": [120]}
    )
    horizon_days: int = Field(
        description="latest bookable day, counted from today", schema_extra={"examples": [14]}
    )
    cutoff_minutes: int = Field(
        description="reschedule/cancel closes this long before", schema_extra={"examples": [120]}
    )
    travel_minutes: int = Field(
        description="travel allowance added to every visit", schema_extra={"examples": [12]}
    )
    service_minutes: ServiceMinutes
    updated_at: datetime | None = Field(
        default=None, schema_extra={"examples": ["2026-12-01T09:30:00+07:00"]}
    )
    defaults: bool = Field(schema_extra={"examples": [False]})


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
    kind: AppointmentKind = Field(schema_extra={"examples": ["pickup"]})
    start: Instant = Field(description="the window's start, with its UTC offset", schema_extra=START)
    lat: float | None = Field(default=None, ge=-90, le=90, schema_extra=LAT)
    lon: float | None = Field(default=None, ge=-180, le=180, schema_extra=LON)
    procedure: str | None = Field(
        default=None, max_length=32, description="procedure code (pickup, assisted)", schema_extra=PROC_CODE
    )
    dossier: str | None = Field(
        default=None, max_length=20, description="S10 item id (delivery)", schema_extra=ITEM_ID
    )
    address: str | None = Field(default=None, max_length=300, schema_extra=ADDRESS)
    note: str | None = Field(
        default=None, max_length=500, schema_extra={"examples": ["Gọi trước 15 phút, nhà trong hẻm 3"]}
    )
    citizen_phone: str | None = Field(
        default=None,
        max_length=20,
        description="staff booking for a citizen",
        schema_extra={"examples": ["0900000001"]},
    )
    channel: BookingChannel | None = Field(default=None, description="staff only: desk or phone")
    rebook_of: uuid.UUID | None = None


class AppointmentReschedule(SQLModel):
    start: Instant = Field(schema_extra={"examples": ["2026-12-08T14:00:00+07:00"]})
    reason: str | None = Field(
        default=None, max_length=300, schema_extra={"examples": ["Bận việc gia đình buổi sáng"]}
    )
    version: int | None = Field(
        default=None,
        description="the version the caller saw; 409 if it changed",
        schema_extra={"examples": [1]},
    )


class AppointmentCancel(SQLModel):
    reason: str = Field(
        min_length=1,
        max_length=300,
        schema_extra={"examples": ["Đã nộp hồ sơ trực tiếp tại Bộ phận Một cửa"]},
    )
    version: int | None = Field(default=None, schema_extra={"examples": [2]})


class AppointmentOutcome(SQLModel):
    reason_code: str = Field(
        min_length=1,
        max_length=40,
        description="NO_SHOW_REASONS or FAILED_REASONS",
        schema_extra={"examples": ["citizen_absent"]},
    )
    note: str | None = Field(
        default=None, max_length=300, schema_extra={"examples": ["Gọi 2 lần không nghe máy"]}
    )
    offer_rebook: bool = True


class SlotPublic(SQLModel):
    start: datetime = Field(schema_extra=START)
    end: datetime = Field(schema_extra=END)
    kind: AppointmentKind
    remaining: int = Field(
        description="bookings of this kind the window still takes", schema_extra={"examples": [3]}
    )
    post_office: str = Field(schema_extra=PO_CODE)


class FeeQuote(BaseModel):
    """What the citizen pays at the visit: the postal charge by distance zone plus, at pickup, the procedure's
    fee (phí) and charge (lệ phí), in VND. Plain pydantic: every appointment answer builds one, and a nested
    SQLModel costs twice as much."""

    postal: int = PydanticField(examples=[22000])
    fee: int = PydanticField(examples=[0])
    charge: int = PydanticField(examples=[0])
    total: int = PydanticField(examples=[22000])
    currency: str = PydanticField(examples=["VND"])
    # The zone's part is null on a stored appointment whose quote was written without it (rows written by
    # other means than a booking); a booking's and a slots listing's quote always has it.
    zone: str | None = PydanticField(default=None, description="distance zone Z1..Z4", examples=["Z1"])
    distance_km: float | None = PydanticField(default=None, examples=[3.42])
    label_vi: str | None = PydanticField(default=None, examples=["đến 5 km"])
    label_en: str | None = PydanticField(default=None, examples=["up to 5 km"])
    # The prices people set (issue 21, schemas/pricing.py): what an exemption waived (already taken off
    # ``total``), and the ids of the versions the quote used; null on quotes made before versioned prices.
    exempted: int = PydanticField(default=0, examples=[0])
    exemption: "AppliedExemption | None" = None
    tariff_rate_id: str | None = PydanticField(default=None, description="the postal tariff version used")
    procedure_fee_id: str | None = PydanticField(
        default=None, description="the fee version used (null: the catalogue's amounts)"
    )


class AppliedExemption(BaseModel):
    """An exemption a quote applied, with its legal basis (its ``code`` is the ledger's ``exempt:{code}``)."""

    id: str
    code: str = PydanticField(examples=["pilot-82-khai-sinh"])
    covers: str = PydanticField(examples=["fees"])
    amount_vnd: int = PydanticField(examples=[8000])
    legal_basis: str = PydanticField(examples=["Nghị quyết 15/2026/NQ-HĐND tỉnh Đồng Tháp"])
    label_vi: str
    label_en: str


FeeQuote.model_rebuild()


class SlotPostOffice(SQLModel):
    code: str = Field(schema_extra=PO_CODE)
    name: str = Field(schema_extra={"examples": ["Bưu cục Cao Lãnh"]})
    lat: float = Field(schema_extra={"examples": [10.4561]})
    lon: float = Field(schema_extra={"examples": [105.6358]})


class SlotCommune(SQLModel):
    code: str = Field(schema_extra={"examples": ["29869"]})
    name: str = Field(schema_extra={"examples": ["Phường Cao Lãnh"]})


class SlotPlace(SQLModel):
    """Where the visit would be: the coordinates given, the geocoded address, or the commune's centre."""

    lat: float = Field(schema_extra=LAT)
    lon: float = Field(schema_extra=LON)
    source: Literal["coordinates", "geocoder", "commune_centroid"] = Field(
        schema_extra={"examples": ["coordinates"]}
    )


class SlotPage(SQLModel):
    """Bookable windows at a place (all in one page), the post office serving it, and the fee quote."""

    items: list[SlotPublic]
    total: int
    limit: int
    offset: int
    post_office: SlotPostOffice
    commune: SlotCommune
    place: SlotPlace
    fees: FeeQuote
    documents: list[DocumentRequirement] | None = Field(
        default=None, description="the procedure's dossier, if given"
    )


class RebookBody(SQLModel):
    """The booking body to send again (add ``start``)."""

    kind: AppointmentKind
    lat: float = Field(schema_extra=LAT)
    lon: float = Field(schema_extra=LON)
    rebook_of: uuid.UUID
    procedure: str | None = Field(default=None, schema_extra=PROC_CODE)
    dossier: str | None = Field(default=None, schema_extra=ITEM_ID)


class RebookOffer(SQLModel):
    """What the app needs to book again after a no-show or failed visit: the body and the next free windows."""

    link: str = Field(
        schema_extra={"examples": ["/appointments/new?rebook_of=3f0c0d6e-2b1a-4c55-9d0e-6a1f2b3c4d5e"]}
    )
    body: RebookBody
    suggested: list[datetime] = Field(
        description="up to three free window starts",
        schema_extra={"examples": [["2026-12-08T08:00:00+07:00"]]},
    )


class AppointmentEventPublic(SQLModel):
    seq: int = Field(schema_extra={"examples": [1]})
    type: str = Field(
        description="booked, rescheduled, cancelled, no_show, failed, completed",
        schema_extra={"examples": ["booked"]},
    )
    at: datetime = Field(schema_extra={"examples": ["2026-12-05T14:02:11+07:00"]})
    actor_role: str = Field(schema_extra={"examples": ["citizen"]})
    channel: BookingChannel
    reason: str | None = None
    reason_code: str | None = None
    data: dict[str, Any] = Field(
        default={},
        description="what changed, by type: booked {start}; rescheduled {from, to}; no_show and failed "
        "{offer_rebook}; assigned {courier_id, plan_id, stop_id, eta}; en_route {stop_id, eta, plan_id}; "
        "completed {stop_id, plan_id}",
        schema_extra={"examples": [{"from": "2026-12-07T01:00:00+00:00", "to": "2026-12-08T07:00:00+00:00"}]},
    )


class AppointmentPublic(SQLModel):
    id: uuid.UUID
    kind: AppointmentKind
    status: AppointmentStatus
    start: datetime = Field(schema_extra=START)
    end: datetime = Field(schema_extra=END)
    post_office: str = Field(schema_extra=PO_CODE)
    post_office_name: str = Field(schema_extra={"examples": ["Bưu cục Cao Lãnh"]})
    commune: str = Field(schema_extra={"examples": ["Phường Cao Lãnh"]})
    citizen_id: uuid.UUID
    citizen_phone: str | None = Field(
        default=None,
        description="staff views only; masked for couriers",
        schema_extra={"examples": ["+84900000001"]},
    )
    procedure: str | None = Field(default=None, schema_extra=PROC_CODE)
    procedure_name: str | None = Field(default=None, schema_extra={"examples": ["Đăng ký khai sinh"]})
    documents: list[DocumentRequirement] | None = None
    dossier: str | None = Field(default=None, schema_extra=ITEM_ID)
    missing_documents: list[str] | None = Field(
        default=None,
        description="a supplement pickup (a pickup carrying a dossier): what the courier collects (issue 20)",
        schema_extra={"examples": [["Bản sao sổ hộ khẩu"]]},
    )
    lat: float = Field(schema_extra=LAT)
    lon: float = Field(schema_extra=LON)
    address: str | None = Field(default=None, schema_extra=ADDRESS)
    note: str | None = None
    distance_km: float = Field(schema_extra={"examples": [3.42]})
    fees: FeeQuote
    channel: BookingChannel
    rebook_of: uuid.UUID | None = None
    outcome_code: str | None = None
    reason: str | None = None
    version: int = Field(
        description="send it back on a change: 409 if it changed since", schema_extra={"examples": [1]}
    )
    created_at: datetime
    updated_at: datetime
    events: list[AppointmentEventPublic] | None = Field(
        default=None, description="one appointment's answers only"
    )
    rebook: RebookOffer | None = Field(
        default=None, description="after a no-show or failed visit, if offered"
    )


class AppointmentPage(SQLModel):
    """A page of appointments, by start time."""

    items: list[AppointmentPublic]
    total: int
    limit: int
    offset: int
