"""Couriers' weekly shifts with effective dates (issue 23).

``courier_profile.shifts`` is the shift pattern in force today. A change from a later day is a
``courier_shift_version`` row: scheduled (``applied_at`` and ``cancelled_at`` null) until its Vietnam day comes,
then written into the profile (``applied_at``) and kept as history; a scheduled one may be cancelled
(``cancelled_at``, ``cancelled_by``). The shifts of a courier on a day are the latest scheduled version starting
on or before it, else the profile's (``backend/catalogue/shift_rules.py``): booking capacity and route planning
read them so.
"""

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from schemas.base import json_field, new_id, utc_field

SHIFTS_EXAMPLE = {"1": [["07:30", "11:30"], ["13:30", "17:00"]], "6": [["07:30", "11:30"]]}


class CourierShiftVersion(SQLModel, table=True):
    """A courier's weekly shifts (ISO weekday "1".."7" -> [[start, end], ...] in Vietnam time) from a day on."""

    __tablename__ = "courier_shift_version"
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    courier_id: uuid.UUID = Field(foreign_key="staff_user.id", index=True)
    effective_from: date = Field(index=True, description="the Vietnam day the shifts start")
    shifts: dict[str, Any] = json_field(default_factory=dict)
    basis: str | None = Field(default=None, max_length=300)
    created_by: uuid.UUID | None = None
    created_at: datetime = utc_field(default_now=True)
    applied_at: datetime | None = utc_field(nullable=True)
    cancelled_at: datetime | None = utc_field(nullable=True)
    cancelled_by: uuid.UUID | None = None


# --- API shapes -----------------------------------------------------------------------------------------------


class CourierShiftVersionIn(BaseModel):
    """The courier's whole weekly pattern from ``effective_from`` (today or a later Vietnam day)."""

    effective_from: date = PydanticField(examples=["2027-01-04"])
    shifts: dict[str, list[list[str]]] = PydanticField(
        description='ISO weekday "1".."7" -> [start, end] spans (HH:MM, Vietnam time); a day not named is off',
        examples=[SHIFTS_EXAMPLE],
    )
    basis: str | None = PydanticField(
        default=None, max_length=300, examples=["Lịch trực Tết / Tết duty roster"]
    )


class CourierShiftCancel(BaseModel):
    """Which scheduled change to cancel: the one from ``effective_from``."""

    effective_from: date = PydanticField(examples=["2027-01-04"])


class CourierShiftVersionPublic(BaseModel):
    id: uuid.UUID
    courier_id: uuid.UUID
    effective_from: date
    shifts: dict[str, list[list[str]]] = PydanticField(examples=[SHIFTS_EXAMPLE])
    basis: str | None
    status: Literal["scheduled", "applied", "cancelled"] = PydanticField(
        description="scheduled: waits for its day; applied: became the profile's shifts; cancelled: never will"
    )
    created_by: uuid.UUID | None
    created_at: datetime
    applied_at: datetime | None
    cancelled_at: datetime | None


class CourierShiftVersionPage(BaseModel):
    items: list[CourierShiftVersionPublic]
    total: int
