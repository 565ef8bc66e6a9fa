"""Dossiers (hồ sơ TTHC) and their events: the core columns every domain relies on.

The custody domain owns the lifecycle (``backend/custody``); reporting reads the timestamps below to fill form
II.06a. Columns may be added; the ones here are not renamed.
"""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from schemas.base import json_field, new_id, utc_field


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
    status: str = Field(index=True, max_length=32, description="normalised status (backend/custody/transitions)")
    portal_status: int = Field(default=1, ge=1, le=10, description="national portal status 1-10")
    custodian_kind: CustodianKind = Field(max_length=20)
    custodian_org_id: uuid.UUID | None = Field(default=None, foreign_key="organisation.id", index=True)
    custodian_user_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id", index=True)
    post_office_id: uuid.UUID | None = Field(default=None, foreign_key="organisation.id", index=True)
    desk_id: uuid.UUID | None = Field(default=None, foreign_key="organisation.id", index=True)
    agency_id: uuid.UUID | None = Field(default=None, foreign_key="organisation.id", index=True)
    agency_code: str | None = Field(default=None, index=True, max_length=64, description="the agency's own code")
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
