"""Dossiers (hồ sơ TTHC) and their events: the core columns every domain relies on.

The custody domain owns the lifecycle (``backend/custody``); reporting reads the timestamps below to fill form
II.06a. Columns may be added; the ones here are not renamed.
"""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, model_validator
from pydantic import Field as PField
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from schemas.base import Instant, json_field, new_id, utc_field
from schemas.money_api import CollectIn


class Channel(StrEnum):
    """How the dossier reached the one-stop desk (the national portal's channels: direct, online, postal)."""

    home_pickup = "home_pickup"  # collected at the citizen's home by a courier (postal)
    post_office = "post_office"  # handed in at a post office counter (postal)
    direct = "direct"  # filed in person at the one-stop desk
    online = "online"  # filed on the portal; the result may come back by post


POSTAL_CHANNELS = frozenset({Channel.home_pickup, Channel.post_office})


class CustodianKind(StrEnum):
    citizen = "citizen"
    courier = "courier"
    post_office = "post_office"
    desk = "desk"
    agency = "agency"


class Dossier(SQLModel, table=True):
    __tablename__ = "dossier"
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    item_id: str = Field(unique=True, index=True, max_length=13, description="UPU S10 id, e.g. HS123456785VN")
    procedure_id: uuid.UUID = Field(foreign_key="procedure.id", index=True)
    citizen_id: uuid.UUID | None = Field(default=None, foreign_key="citizen.id", index=True)
    channel: Channel = Field(index=True, max_length=20)
    postal_pickup: bool = Field(default=False, description="picked up by the post (home or counter)")
    postal_return: bool = Field(default=False, description="the citizen asked for the result by post")
    status: str = Field(
        index=True, max_length=32, description="normalised status (backend/custody/transitions)"
    )
    portal_status: int = Field(default=1, ge=1, le=10, description="national portal status 1-10")
    custodian_kind: CustodianKind = Field(max_length=20)
    custodian_org_id: uuid.UUID | None = Field(default=None, foreign_key="organisation.id", index=True)
    custodian_user_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id", index=True)
    post_office_id: uuid.UUID | None = Field(default=None, foreign_key="organisation.id", index=True)
    desk_id: uuid.UUID | None = Field(default=None, foreign_key="organisation.id", index=True)
    agency_id: uuid.UUID | None = Field(default=None, foreign_key="organisation.id", index=True)
    agency_code: str | None = Field(
        default=None, index=True, max_length=64, description="the agency's own code"
    )
    appointment_id: uuid.UUID | None = Field(default=None, index=True)
    # Legal clock (Decree 118/2025/NĐ-CP): received by the desk, due date in working days, pauses for supplements.
    submitted_at: datetime | None = utc_field(nullable=True)  # handed over by the citizen (pickup or counter)
    received_at: datetime | None = utc_field(nullable=True, index=True)  # accepted by the desk: clock starts
    due_at: datetime | None = utc_field(nullable=True, index=True)  # ngày hẹn trả kết quả
    paused_at: datetime | None = utc_field(nullable=True)  # a supplement request stops the clock
    paused_working_days: int = 0
    resolved_at: datetime | None = utc_field(nullable=True, index=True)  # decided by the agency
    returned_at: datetime | None = utc_field(nullable=True, index=True)  # result handed to the citizen
    outcome: str | None = Field(default=None, max_length=20)  # approved | refused | withdrawn
    supplement_required: bool = False
    fees_collected: int = 0
    data: dict[str, Any] = json_field()
    created_at: datetime = utc_field(default_now=True)
    updated_at: datetime = utc_field(default_now=True)
    version: int = 1


class DossierEvent(SQLModel, table=True):
    """One step in a dossier's life: who, when (server and client time), where; raw code beside the status."""

    __tablename__ = "dossier_event"
    __table_args__ = (UniqueConstraint("actor_id", "client_event_id", name="uq_dossier_event_client"),)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    dossier_id: uuid.UUID = Field(foreign_key="dossier.id", index=True)
    seq: int = Field(default=0, description="order within the dossier")
    code: str = Field(max_length=40, description="raw UPU-style event code")
    status: str = Field(max_length=32, description="normalised status after the event")
    portal_status: int = 1
    actor_kind: str = Field(max_length=20)
    actor_id: uuid.UUID | None = None
    org_id: uuid.UUID | None = Field(default=None, foreign_key="organisation.id")
    at: datetime = utc_field(default_now=True, index=True)  # server time
    client_at: datetime | None = utc_field(nullable=True)  # the device's time (offline sync)
    client_event_id: str | None = Field(default=None, max_length=64)
    place: str | None = Field(default=None, max_length=200)
    lat: float | None = None
    lon: float | None = None
    reason: str | None = Field(default=None, max_length=300)
    data: dict[str, Any] = json_field()


# --- custody: counters, results, pickups, handovers, proofs (owned by backend/custody) -----------------------


class ItemCounter(SQLModel, table=True):
    """The last serial issued per S10 service indicator (HS, KQ). Incremented with one guarded UPDATE, so two
    transactions never get the same serial on SQLite (writers queue) or PostgreSQL (row lock)."""

    __tablename__ = "item_counter"
    prefix: str = Field(primary_key=True, max_length=2)
    last_serial: int = 0


class ReservedItemId(SQLModel, table=True):
    """An item id handed to a courier in advance (a pre-printed label), so a home pickup can be recorded with
    no network and synced later: the id is the dossier's, whichever order the device's requests arrive in."""

    __tablename__ = "reserved_item_id"
    item_id: str = Field(primary_key=True, max_length=13)
    courier_id: uuid.UUID = Field(foreign_key="staff_user.id", index=True)
    reserved_at: datetime = utc_field(default_now=True)
    # Unused after this, the label is dead: never claimable, never issued again.
    expires_at: datetime = utc_field()
    used_at: datetime | None = utc_field(nullable=True)


class ResultItem(SQLModel, table=True):
    """The result of a procedure (giấy tờ kết quả) travelling back as its own postal item (S10 ``KQ...``)."""

    __tablename__ = "result_item"
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    item_id: str = Field(unique=True, index=True, max_length=13)
    dossier_id: uuid.UUID = Field(foreign_key="dossier.id", index=True, unique=True)
    delivery_attempts: int = 0
    counter_pickup: bool = False  # after too many failed deliveries the citizen collects it at the desk
    delivered_at: datetime | None = utc_field(nullable=True)
    recipient_check: str | None = Field(default=None, max_length=20)  # code | national_id | authorisation
    recipient_name: str | None = Field(default=None, max_length=120)
    proof_id: uuid.UUID | None = Field(default=None, foreign_key="proof_file.id")
    created_at: datetime = utc_field(default_now=True)


class PickupRecord(SQLModel, table=True):
    """What the courier checked at a home pickup (Circular 17/2017/TT-BTTTT art. 5): each required document
    ticked as original or copy, the seal number, the fee collected and how the citizen confirmed."""

    __tablename__ = "pickup_record"
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    dossier_id: uuid.UUID = Field(foreign_key="dossier.id", index=True, unique=True)
    courier_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    documents: list[dict[str, Any]] = json_field(default_factory=list)  # [{id, name, original, provided, as}]
    missing: list[str] = json_field(default_factory=list)
    seal_number: str | None = Field(default=None, max_length=40)
    fee_collected: int = 0
    receipt_number: str | None = Field(default=None, max_length=40)
    confirmed_by: str = Field(max_length=20)  # code | signature
    signature_proof_id: uuid.UUID | None = Field(default=None, foreign_key="proof_file.id")
    created_at: datetime = utc_field(default_now=True)


class ProofFile(SQLModel, table=True):
    """An uploaded photo or signature image (stored under ``settings.upload_dir``; only metadata here)."""

    __tablename__ = "proof_file"
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    kind: str = Field(max_length=20)  # photo | signature | authorisation
    content_type: str = Field(max_length=40)
    size: int
    sha256: str = Field(max_length=64)
    path: str = Field(max_length=300)
    uploaded_by: uuid.UUID | None = None
    org_id: uuid.UUID | None = Field(default=None, foreign_key="organisation.id")
    created_at: datetime = utc_field(default_now=True)


class HandoverStatus(StrEnum):
    pending = "pending"  # sent, waiting for the receiver's scan
    confirmed = "confirmed"  # everything on the manifest arrived, nothing extra
    discrepancy = "discrepancy"  # confirmed with missing and/or extra items


class Handover(SQLModel, table=True):
    """A batch of items passed from one custodian to another, with its manifest (HandoverItem rows)."""

    __tablename__ = "handover"
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    status: HandoverStatus = Field(default=HandoverStatus.pending, index=True, max_length=20)
    from_org_id: uuid.UUID | None = Field(default=None, foreign_key="organisation.id", index=True)
    from_user_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id", index=True)
    from_kind: CustodianKind = Field(max_length=20)
    to_org_id: uuid.UUID | None = Field(default=None, foreign_key="organisation.id", index=True)
    to_user_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id", index=True)
    to_kind: CustodianKind = Field(max_length=20)
    created_by: uuid.UUID | None = None
    confirmed_by: uuid.UUID | None = None
    created_at: datetime = utc_field(default_now=True, index=True)
    confirmed_at: datetime | None = utc_field(nullable=True)
    eta: datetime | None = utc_field(nullable=True)
    seal_number: str | None = Field(default=None, max_length=40)
    note: str | None = Field(default=None, max_length=300)


class HandoverItemState(StrEnum):
    expected = "expected"  # on the manifest, not yet scanned
    received = "received"  # on the manifest and scanned by the receiver: custody moved
    missing = "missing"  # on the manifest, not scanned at confirmation: custody stays with the sender
    extra = "extra"  # scanned but not on the manifest: recorded, custody unchanged


class HandoverItem(SQLModel, table=True):
    __tablename__ = "handover_item"
    __table_args__ = (UniqueConstraint("handover_id", "item_id", name="uq_handover_item"),)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    handover_id: uuid.UUID = Field(foreign_key="handover.id", index=True)
    item_id: str = Field(max_length=13, index=True)
    dossier_id: uuid.UUID | None = Field(default=None, foreign_key="dossier.id", index=True)
    state: HandoverItemState = Field(default=HandoverItemState.expected, max_length=20, index=True)


# --- API shapes ------------------------------------------------------------------------------------------------


class DocumentTick(BaseModel):
    """One required document as the courier/clerk found it: handed over or not, original (bản chính) or copy."""

    id: str = PField(min_length=1, max_length=40)
    provided: bool = True
    original: bool = False


class CitizenConfirmation(BaseModel):
    """How the citizen confirmed the handover at home (Circular 17/2017/TT-BTTTT art. 5)."""

    method: Literal["code", "signature"]
    code: str | None = PField(default=None, min_length=6, max_length=6)
    signature_proof_id: uuid.UUID | None = None


class Where(BaseModel):
    place: str | None = PField(default=None, max_length=200, examples=["Bưu cục Cao Lãnh"])
    lat: float | None = PField(default=None, ge=-90, le=90, examples=[10.4602])
    lon: float | None = PField(default=None, ge=-180, le=180, examples=[105.6329])
    client_at: Instant | None = None


class DossierCreate(Where):
    item_id: str | None = PField(
        default=None,
        max_length=20,
        description="a label reserved in advance (offline pickup); else issued now",
        examples=["HS123456785VN"],
    )
    procedure: str = PField(min_length=1, max_length=32, examples=["1.001193"])
    channel: Channel
    citizen_phone: str | None = PField(default=None, max_length=20, examples=["0900000001"])
    appointment_id: uuid.UUID | None = None
    desk: str | None = PField(
        default=None, max_length=32, description="one-stop desk code", examples=["82-TTPVHCC"]
    )
    agency: str | None = PField(default=None, max_length=32, description="deciding agency code")
    agency_code: str | None = PField(default=None, max_length=64)
    postal_return: bool | None = None
    documents: list[DocumentTick] = PField(default_factory=list, max_length=60)
    carry_incomplete: bool = False
    seal_number: str | None = PField(default=None, max_length=40, examples=["SEAL-0001"])
    fee_collected: int = PField(default=0, ge=0, le=100_000_000, description="VND", examples=[25000])
    receipt_number: str | None = PField(default=None, max_length=40)
    confirmation: CitizenConfirmation | None = None


class RecipientCheck(BaseModel):
    """Who received the result: the citizen's handover code; the citizen's national id card (its number typed,
    all 12 digits or the last 6, compared with the one on file); or a person the citizen authorised
    (``authorisation_id`` from ``GET /dossiers/{item_id}/recipients``, and that person's card number, 12 digits
    or the last 6). See ``backend/custody/services/verification.py``."""

    method: Literal["code", "national_id", "authorisation"]
    code: str | None = PField(default=None, min_length=6, max_length=6)
    national_id: str | None = PField(default=None, min_length=6, max_length=12, examples=["001234"])
    name: str | None = PField(default=None, max_length=120)
    authorisation_id: uuid.UUID | None = None


class EventIn(Where):
    code: str = PField(min_length=3, max_length=3, description="UPU-style event code", examples=["TNH"])
    reason: str | None = PField(
        default=None, max_length=300, examples=["Thiếu bản chính giấy chứng sinh / Birth certificate missing"]
    )
    reason_code: str | None = PField(default=None, max_length=30)
    agency: str | None = PField(default=None, max_length=32)
    agency_code: str | None = PField(default=None, max_length=64)
    outcome: Literal["approved", "refused"] | None = None
    missing_documents: list[str] = PField(
        default_factory=list, max_length=60, examples=[["Bản chính giấy chứng sinh"]]
    )
    recipient: RecipientCheck | None = None
    proof_id: uuid.UUID | None = None
    eta: Instant | None = None


class BatchEventIn(EventIn):
    client_event_id: str = PField(min_length=1, max_length=64, examples=["dev-7f3a-0002"])
    item_id: str = PField(min_length=1, max_length=20)
    client_at: Instant  # required offline: the device's time orders the events


class OfflinePickup(DossierCreate):
    """A home pickup recorded on the device with no network, with a reserved item id."""

    client_event_id: str = PField(min_length=1, max_length=64)
    item_id: str = PField(min_length=1, max_length=20)  # type: ignore[assignment]
    client_at: Instant  # type: ignore[assignment]


class BatchIn(BaseModel):
    pickups: list[OfflinePickup] = PField(default_factory=list, max_length=200)
    events: list[BatchEventIn] = PField(default_factory=list, max_length=500)
    # Money taken at the door while offline (issue 21; backend/money/collect.py), applied after the events.
    collections: list[CollectIn] = PField(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _not_empty(self) -> "BatchIn":
        if not self.pickups and not self.events and not self.collections:
            raise ValueError("a batch needs at least one pickup or event")
        return self


class ItemIdRequest(BaseModel):
    count: int = PField(default=20, ge=1, le=100, examples=[20])


class HandoverCreate(BaseModel):
    to: str = PField(
        min_length=1,
        max_length=64,
        description="receiving organisation code or courier username",
        examples=["82-TTPVHCC"],
    )
    items: list[str] = PField(min_length=1, max_length=500, examples=[["HS123456785VN", "HS408172634VN"]])
    eta: Instant | None = None
    seal_number: str | None = PField(default=None, max_length=40)
    note: str | None = PField(default=None, max_length=300, examples=["Túi hồ sơ chiều thứ Hai"])


class HandoverConfirm(Where):
    scanned: list[str] = PField(default_factory=list, max_length=500, examples=[["HS123456785VN"]])


# --- statuses (the answers that carry them are in ``schemas/dossier_answers.py``) ---------------------------------


class DossierStatus(StrEnum):
    """A dossier's normalised status; the transition table is ``backend/custody/transitions.py``."""

    collected = "collected"  # with the courier after a home pickup
    at_post_office = "at_post_office"  # at the post office (counter receipt or brought in by the courier)
    in_transit_to_desk = "in_transit_to_desk"  # dispatched by the post office to the desk
    received = "received"  # accepted by the one-stop desk: the legal clock runs
    not_accepted = "not_accepted"  # the desk refused to accept it (papers go back to the citizen)
    processing = "processing"  # with the competent agency
    awaiting_supplement = "awaiting_supplement"  # the agency asked for more documents: clock paused
    # The supplement collected at the citizen's door on its way to the desk: the clock stays paused until the
    # desk receives it (issue 20).
    supplement_in_transit = "supplement_in_transit"
    resolved = "resolved"  # decided (approved or refused)
    withdrawn = "withdrawn"  # the citizen withdrew it
    result_ready = "result_ready"  # result (KQ item) at the desk
    result_in_transit = "result_in_transit"  # result dispatched by the desk to the post office
    result_at_post_office = "result_at_post_office"  # result at the delivering post office
    out_for_delivery = "out_for_delivery"  # with the courier on the way to the citizen
    delivery_failed = "delivery_failed"  # an attempt failed; another attempt or return to the desk
    returned_to_desk = "returned_to_desk"  # held at the desk for counter pickup after failed deliveries
    delivered = "delivered"  # handed to the citizen (or their authorised person)


# Where the journey ends (Decision 45/2016/QĐ-TTg: the result is back with the citizen): nobody holds a task for
# the dossier any more. Beside the enum, not in ``backend/custody/transitions.py``, because accounts (below
# custody) scopes staff reads of a citizen's record by open dossiers (``backend/accounts/citizen_access.py``).
FINAL_STATUSES = frozenset({DossierStatus.delivered})


class Timeliness(StrEnum):
    """Against the legal due date (Decree 118/2025/NĐ-CP); the rule is ``backend/custody/deadlines.py``."""

    early = "early"  # trước hạn
    on_time = "on_time"  # đúng hạn
    late = "late"  # quá hạn (đã giải quyết)
    within = "within"  # đang giải quyết, trong hạn
    overdue = "overdue"  # đang giải quyết, quá hạn
