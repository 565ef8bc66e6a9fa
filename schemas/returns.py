"""Closing the loops of issue 20: the offer of delivery windows for a result (or returned papers) ready for a
citizen who chose postal return, the citizen's choice of postal return or counter pickup, and a supplement
collected at the door.

Decision 45/2016/QĐ-TTg: the public postal service returns results (and papers the desk did not accept) to the
citizen's home on request; Decree 118/2025/NĐ-CP: the clock stopped for a supplement runs again from the desk's
receipt of it.
"""

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel
from pydantic import Field as PField
from sqlmodel import Field, SQLModel

from schemas.base import Instant, new_id, utc_field
from schemas.dossiers import CitizenConfirmation


class ReturnOfferStatus(StrEnum):
    offered = "offered"  # windows offered, waiting for the citizen's choice until ``answer_by``
    booked = "booked"  # the citizen chose a window: a delivery appointment exists
    auto_booked = "auto_booked"  # no answer in time: the earliest window the routes could absorb was booked
    withdrawn = "withdrawn"  # the citizen switched to counter pickup
    unplaceable = "unplaceable"  # no address to deliver to and no window could be booked: the desk calls


class ReturnOffer(SQLModel, table=True):
    """One offer of delivery windows per dossier whose result or returned papers wait at the desk for a postal
    return. The sweep (``backend/custody/services/return_offers.py``) leases a due offer (``lease_until``,
    ``leased_by``) with one conditional UPDATE, so several processes never book the same one twice."""

    __tablename__ = "return_offer"
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    dossier_id: uuid.UUID = Field(foreign_key="dossier.id", unique=True, index=True)
    citizen_id: uuid.UUID = Field(foreign_key="citizen.id", index=True)
    status: str = Field(default=ReturnOfferStatus.offered.value, max_length=20, index=True)
    lat: float | None = None
    lon: float | None = None
    address: str | None = Field(default=None, max_length=300)
    offered_at: datetime = utc_field(default_now=True)
    answer_by: datetime = utc_field(index=True)
    appointment_id: uuid.UUID | None = Field(default=None, foreign_key="appointment.id")
    decided_at: datetime | None = utc_field(nullable=True)
    lease_until: datetime | None = utc_field(nullable=True)
    leased_by: str | None = Field(default=None, max_length=64)
    attempts: int = 0


# --- API shapes ----------------------------------------------------------------------------------------------

WINDOW_START = {"examples": ["2026-12-08T08:00:00+07:00"]}


class OfferedWindow(BaseModel):
    start: datetime = PField(examples=["2026-12-08T08:00:00+07:00"])
    end: datetime = PField(examples=["2026-12-08T10:00:00+07:00"])
    post_office: str = PField(examples=["82-BD-01"])


class ReturnOfferOut(BaseModel):
    """The return offer of a dossier: its state, the windows the citizen may choose now (earliest first), and
    the booked delivery if any. ``status`` is ``none`` when no offer was made (no result yet, or counter
    pickup)."""

    item_id: str = PField(examples=["HS123456785VN"])
    status: str = PField(
        description="none, offered, booked, auto_booked, withdrawn, unplaceable", examples=["offered"]
    )
    postal_return: bool
    answer_by: datetime | None = PField(
        default=None,
        description="after this the earliest window the routes can absorb is booked",
        examples=["2026-12-07T09:00:00+07:00"],
    )
    windows: list[OfferedWindow] = PField(default_factory=list)
    appointment_id: uuid.UUID | None = None
    appointment_start: datetime | None = PField(default=None, examples=["2026-12-08T08:00:00+07:00"])


class ReturnChoice(BaseModel):
    """The window the citizen chooses (one of the offered starts); where, if the offer has no address."""

    start: Instant = PField(examples=["2026-12-08T08:00:00+07:00"])
    lat: float | None = PField(default=None, ge=-90, le=90, examples=[10.4602])
    lon: float | None = PField(default=None, ge=-180, le=180, examples=[105.6329])
    address: str | None = PField(default=None, max_length=300)


class PostalReturnIn(BaseModel):
    """Postal return (true) or counter pickup (false), until the result leaves the desk."""

    postal_return: bool
    lat: float | None = PField(default=None, ge=-90, le=90, examples=[10.4602])
    lon: float | None = PField(default=None, ge=-180, le=180, examples=[105.6329])
    address: str | None = PField(default=None, max_length=300)


class SupplementIn(BaseModel):
    """The supplement handed to the courier at the door for a dossier waiting for it."""

    appointment_id: uuid.UUID | None = PField(
        default=None, description="the supplement pickup visit; default: the dossier's booked one"
    )
    documents: list[str] = PField(
        default_factory=list,
        max_length=60,
        description="what was handed over; default: the whole missing list",
        examples=[["Bản sao sổ hộ khẩu"]],
    )
    client_at: Instant | None = None
    place: str | None = PField(default=None, max_length=200)
    lat: float | None = PField(default=None, ge=-90, le=90)
    lon: float | None = PField(default=None, ge=-180, le=180)
    confirmation: CitizenConfirmation | None = PField(
        default=None,
        description=(
            "the citizen confirms the handover at the door, as for a pickup: today's handover code (wrong codes "
            "count towards the daily lock) or a signature photo; required"
        ),
    )
