"""Dossiers' API answers (issue 19: the OpenAPI document names every field the apps read).

Times are aware datetimes: ``backend.lib.responses.LocalTimeResponse`` shows them in Vietnam time (+07:00). The
tables and the request bodies are in ``schemas/dossiers.py``; this module imports them, never the reverse.
"""

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct
from pydantic import BaseModel, ConfigDict
from pydantic import Field as PField

from schemas.dossiers import (
    Channel,
    CustodianKind,
    DossierStatus,
    HandoverItemState,
    HandoverStatus,
    Timeliness,
)
from schemas.money_api import CollectionSyncResult
from schemas.vntime import to_vn

ItemId = Annotated[str, PField(description="UPU S10 item id", examples=["HS123456785VN"])]


class Label(BaseModel):
    """A status or event name, Vietnamese and English."""

    vi: str = PField(examples=["Đã tiếp nhận"])
    en: str = PField(examples=["Received"])


class CustodianOut(BaseModel):
    """Who holds the paper now: an organisation (post office, desk, agency), a courier, or the citizen."""

    kind: CustodianKind
    org: str | None = PField(description="organisation code", examples=["82-BD-01"])
    org_name: str | None = PField(examples=["Bưu cục Cao Lãnh"])
    user_id: uuid.UUID | None = PField(description="the courier holding it")


class DossierSummary(BaseModel):
    """A dossier as lists show it: status, holder, legal clock and what the caller may record next."""

    item_id: ItemId
    result_item_id: str | None = PField(
        description="the result's own S10 id (KQ…) once there is one", examples=["KQ520931185VN"]
    )
    procedure: str | None = PField(description="procedure code", examples=["1.001193"])
    procedure_name: str | None = PField(examples=["Đăng ký khai sinh"])
    status: DossierStatus
    status_label: Label
    portal_status: int = PField(ge=1, le=10, description="national public-service portal status 1–10")
    custodian: CustodianOut
    channel: Channel
    postal_pickup: bool
    postal_return: bool
    post_office: str | None = PField(examples=["82-BD-01"])
    desk: str | None = PField(description="one-stop desk (Bộ phận Một cửa) code")
    agency: str | None = PField(description="deciding agency code")
    agency_code: str | None = PField(description="the agency's own dossier code")
    appointment_id: uuid.UUID | None
    submitted_at: datetime | None
    received_at: datetime | None = PField(description="accepted by the desk: the clock starts")
    due_at: datetime | None = PField(description="ngày hẹn trả kết quả")
    paused_at: datetime | None = PField(description="clock stopped for a supplement")
    paused_working_days: int
    resolved_at: datetime | None
    returned_at: datetime | None
    outcome: Literal["approved", "refused", "withdrawn"] | None
    timeliness: Timeliness | None
    supplement_required: bool
    missing_documents: list[str] = PField(examples=[["Bản sao giấy chứng nhận kết hôn"]])
    delivery_attempts: int
    counter_pickup: bool = PField(description="the result waits at the desk after failed deliveries")
    allowed_events: list[str] = PField(
        description="event codes the caller may record next (staff only)", examples=[["TCQ", "TRH"]]
    )
    created_at: datetime
    updated_at: datetime


class DossierPage(BaseModel):
    items: list[DossierSummary]
    total: int
    limit: int
    offset: int


class DossierEventOut(BaseModel):
    seq: int = PField(description="order of live events; 0 for events synced late, ordered by time")
    code: str = PField(description="UPU-style event code", examples=["TNH"])
    label: Label
    status: DossierStatus
    portal_status: int
    at: datetime = PField(description="when it happened: the device's time if given, else the server's")
    server_at: datetime
    client_at: datetime | None
    place: str | None = PField(examples=["Bộ phận Một cửa xã Mỹ Trà"])
    org: str | None = PField(description="organisation code of the actor")
    lat: float | None
    lon: float | None
    actor_kind: str = PField(description="role of who recorded it", examples=["desk"])
    actor_id: uuid.UUID | None
    reason: str | None
    data: dict[str, Any] = PField(
        description="details that depend on the event code (missing documents, reason code, late sync…)",
        examples=[{"reason_code": "absent"}],
    )


class CustodyLink(BaseModel):
    """One holder in the chain of custody, from ``since`` until ``until`` (null: still holding)."""

    kind: CustodianKind | None
    org: str | None
    org_name: str | None
    user_id: str | None
    since: datetime
    until: datetime | None


class CitizenContact(BaseModel):
    """Shown to the owner, staff of an office holding the dossier, and its courier while carrying it."""

    phone: str = PField(
        description="an agency's staff get it masked (+84 90••••001)", examples=["+84900000001"]
    )
    full_name: str | None = PField(examples=["Nguyễn Văn An"])


class CheckedDocument(BaseModel):
    """One required document as checked at pickup (Circular 17/2017/TT-BTTTT art. 5)."""

    id: str = PField(examples=["to-khai"])
    name: str = PField(examples=["Tờ khai đăng ký khai sinh"])
    original_required: bool
    provided: bool
    original: bool
    ok: bool


class PickupOut(BaseModel):
    documents: list[CheckedDocument]
    missing: list[str]
    seal_number: str | None = PField(examples=["SEAL-0001"])
    fee_collected: int = PField(description="VND")
    receipt_number: str | None
    confirmed_by: Literal["code", "signature", "counter"] = PField(
        description="how the citizen confirmed the handover; `counter` at a post-office counter"
    )
    signature_proof_id: uuid.UUID | None = PField(description="GET /proofs/{id}")


class ResultOut(BaseModel):
    item_id: str = PField(examples=["KQ520931185VN"])
    delivery_attempts: int
    counter_pickup: bool
    delivered_at: datetime | None
    recipient_check: Literal["code", "national_id", "authorisation"] | None
    proof_id: uuid.UUID | None = PField(description="GET /proofs/{id}")


class DossierDetail(DossierSummary):
    """One dossier with its timeline and chain of custody. ``citizen``, ``pickup`` and ``result`` are null when
    there is none or the caller may not see it."""

    events: list[DossierEventOut]
    custody: list[CustodyLink]
    citizen: CitizenContact | None = None
    pickup: PickupOut | None = None
    result: ResultOut | None = None


class TrackingStep(BaseModel):
    code: str = PField(examples=["TNH"])
    label: Label
    status: DossierStatus
    at: datetime
    place: str | None = PField(description="office name, never an address")


class Tracking(BaseModel):
    """Public tracking: statuses, times and office names; nothing about the person or the documents."""

    item_id: ItemId
    kind: Literal["dossier", "result"]
    status: DossierStatus
    status_label: Label
    portal_status: int
    due_at: datetime | None
    timeline: list[TrackingStep]


class SyncResult(BaseModel):
    """The answer to one offline pickup or event. A rejected one carries its problem's ``error`` code and
    ``detail`` plus that problem's extra fields (``allowed``, ``current_status``…)."""

    model_config = ConfigDict(extra="allow")

    client_event_id: str = PField(examples=["dev-7f3a-0001"])
    accepted: bool
    item_id: ItemId
    duplicate: bool | None = PField(default=None, description="already applied earlier: nothing changed")
    status: DossierStatus | None = None
    seq: int | None = None
    historical: bool | None = PField(default=None, description="stored in the history as a late event")
    error: str | None = PField(default=None, examples=["invalid_transition"])
    detail: str | None = None
    allowed: list[str] | None = PField(default=None, description="codes allowed instead (out of order)")
    current_status: str | None = None


class BatchResult(BaseModel):
    """Per item, in the order sent; replaying a batch changes nothing (``duplicate``)."""

    pickups: list[SyncResult]
    results: list[SyncResult]
    collections: list[CollectionSyncResult] = PField(
        default_factory=list, description="money taken at the door"
    )
    accepted: int
    rejected: int


class ReservedItemIds(BaseModel):
    item_ids: list[str] = PField(examples=[["HS408172634VN", "HS715203940VN"]])
    expires_at: datetime = PField(description="unused after this, a label is dead")


class ProofOut(BaseModel):
    id: uuid.UUID
    kind: Literal["photo", "signature", "authorisation"]
    content_type: Literal["image/png", "image/jpeg", "image/webp"]
    size: int = PField(description="bytes", examples=[48213])


class HandoverCode(BaseModel):
    code: str = PField(description="read to the courier at a pickup or delivery", examples=["482913"])
    valid_on: date = PField(description="the Vietnam day it is valid on")


# Handovers answer with a ``from`` key, which a pydantic model can only alias (and Litestar documents the
# attribute name, ``from_``); a msgspec Struct renames it in the document and in the JSON alike.


class HandoverParty(Struct, kw_only=True):
    kind: CustodianKind
    org: str | None
    user_id: uuid.UUID | None


class HandoverLine(Struct, kw_only=True):
    item_id: Annotated[str, Meta(examples=["HS123456785VN"])]
    state: HandoverItemState


class Discrepancy(Struct, kw_only=True):
    item_id: str
    kind: Literal["missing", "extra"]


class HandoverOut(Struct, kw_only=True):
    """A handover with its manifest; ``discrepancies`` lists items missing or extra at confirmation."""

    id: uuid.UUID
    status: HandoverStatus
    from_: HandoverParty = msgspec.field(name="from")
    to: HandoverParty
    created_at: datetime
    confirmed_at: datetime | None
    eta: datetime | None
    seal_number: Annotated[str, Meta(examples=["SEAL-0001"])] | None
    note: Annotated[str, Meta(examples=["Túi hồ sơ chiều thứ Hai"])] | None
    items: list[HandoverLine]
    discrepancies: list[Discrepancy]

    def __post_init__(self) -> None:
        # Shown in Vietnam time like every answer (LocalTimeResponse localises pydantic models, not Structs).
        self.created_at = to_vn(self.created_at)
        self.confirmed_at = to_vn(self.confirmed_at) if self.confirmed_at else None
        self.eta = to_vn(self.eta) if self.eta else None


class HandoverPage(Struct, kw_only=True):
    items: list[HandoverOut]
    total: int
    limit: int
    offset: int
