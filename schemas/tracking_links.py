"""Live tracking links (issue 22): a short signed link a citizen receives with "courier on the way", and what its
public page is told.

A link row is the record of its issue (who, with which role, when, for which visit); the token in the URL is the
row's id and a truncated HMAC of it (``backend/planning/tracking_link.py``), so the table holds nothing that
opens the page by itself. The page's answer names no person, no address, no dossier and no courier: the
visit's window, the expected arrival, how many stops are before it and, only while the courier is heading to
this visit, the courier's position snapped to a ~100 m grid cell.
"""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from pydantic import Field as PField
from sqlmodel import Field, SQLModel

from schemas.base import utc_field


class TrackingLink(SQLModel, table=True):
    __tablename__ = "tracking_link"
    # 6 random bytes, base64url (8 characters): the first part of the token; the rest is its HMAC.
    id: str = Field(primary_key=True, max_length=8)
    appointment_id: uuid.UUID = Field(foreign_key="appointment.id", index=True)
    stop_id: uuid.UUID  # the planned stop the courier set off to when it was issued (plans may be replaced)
    issued_at: datetime = utc_field()
    issued_by_id: uuid.UUID  # the courier who set off
    issued_by_role: str = Field(max_length=20)
    expires_at: datetime = utc_field()  # the hard cap: TRACKING_LINK_MAX_HOURS after issue
    revoked_at: datetime | None = utc_field(nullable=True)
    revoked_by_id: uuid.UUID | None = None  # who stopped it (the citizen, a dispatcher, an admin)
    revoked_by_role: str | None = Field(default=None, max_length=20)
    views: int = 0  # page opens (not the page's polls): a count, nothing about who


class TrackedPosition(BaseModel):
    """Where the courier is, as the centre of a grid cell of about 100 m × 100 m: every point in the cell gives
    the same answer, so movements inside it are not shown. No heading, speed, accuracy or identity."""

    lat: float = PField(examples=[10.4605])
    lon: float = PField(examples=[105.6334])
    cell_m: int = PField(examples=[100], description="the grid cell's side in metres")
    at: datetime = PField(description="when the courier's device measured it, to the minute")


class TrackedVisit(BaseModel):
    """A visit as its public tracking page shows it: nothing about the citizen, the documents or the courier."""

    visit_kind: Literal["pickup", "delivery", "assisted"]
    post_office: str = PField(examples=["Bưu cục Cao Lãnh"], description="the post office's name")
    window_start: datetime
    window_end: datetime
    eta: datetime = PField(
        description="expected arrival, recomputed as the courier moves (never in the past)"
    )
    heading_to_you: bool = PField(description="the courier's next stop is this visit")
    stops_before: int = PField(ge=0, description="visits the courier still makes before this one")
    position: TrackedPosition | None = PField(
        default=None, description="only while heading to this visit and the position is under 30 min old"
    )
    expires_at: datetime = PField(description="the link ends then at the latest (or when the visit ends)")
    refresh_s: int = PField(examples=[15], description="poll again after this many seconds")


class TrackingLinksRevoked(BaseModel):
    """How many live links of the visit were stopped (0: none was live)."""

    revoked: int = PField(ge=0, examples=[1])
