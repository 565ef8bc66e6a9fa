"""People who use the service: staff (with a role and an organisation) and citizens."""

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from schemas.base import json_field, new_id, utc_field
from schemas.enums import Role, Vehicle

# A courier's default weekly shift: Monday to Saturday morning, ISO weekday -> [start, end] in Vietnam time.
DEFAULT_SHIFTS: dict[str, list[str]] = {
    **{str(d): ["07:30", "17:00"] for d in range(1, 6)},
    "6": ["07:30", "11:30"],
}


class StaffUser(SQLModel, table=True):
    __tablename__ = "staff_user"
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    username: str = Field(unique=True, index=True, max_length=64)
    password_hash: str = Field(max_length=255)
    role: Role = Field(index=True, max_length=20)
    organisation_id: uuid.UUID | None = Field(default=None, foreign_key="organisation.id", index=True)
    full_name: str = Field(max_length=120)
    phone: str | None = Field(default=None, max_length=20)
    active: bool = True
    created_at: datetime = utc_field(default_now=True)
    # Each token carries the version it was issued under (claim ``ver``); bumping it revokes every token
    # of the account at once (password change, role or organisation change, disabling, an admin's revocation).
    token_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class CourierProfile(SQLModel, table=True):
    """Vehicle, capacity and weekly shift pattern of a courier (bưu tá)."""

    __tablename__ = "courier_profile"
    user_id: uuid.UUID = Field(foreign_key="staff_user.id", primary_key=True)
    vehicle: Vehicle = Field(default=Vehicle.motorbike, max_length=20)
    capacity_items: int = 40
    capacity_kg: float = 30.0
    shifts: dict[str, Any] = json_field(default_factory=lambda: dict(DEFAULT_SHIFTS))
    skills: list[str] = json_field(default_factory=lambda: ["fees"])
    home_lat: float | None = None
    home_lon: float | None = None


class Citizen(SQLModel, table=True):
    """A citizen is identified by phone number (E.164, +84...). Name and national id are optional
    personal data (Decree 13/2023/NĐ-CP): collected only when a procedure needs them."""

    __tablename__ = "citizen"
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    phone: str = Field(unique=True, index=True, max_length=20)
    full_name: str | None = Field(default=None, max_length=120)
    national_id: str | None = Field(default=None, max_length=12)
    created_at: datetime = utc_field(default_now=True)
    # Bumped by "sign out everywhere": every token issued before stops working (claim ``ver``).
    token_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class CitizenAddress(SQLModel, table=True):
    __tablename__ = "citizen_address"
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    citizen_id: uuid.UUID = Field(foreign_key="citizen.id", index=True)
    label: str = Field(default="Nhà riêng", max_length=60)
    address: str = Field(max_length=300)
    commune_code: str = Field(foreign_key="commune.code", index=True, max_length=8)
    lat: float
    lon: float
    is_default: bool = True
    created_at: datetime = utc_field(default_now=True)


class OtpChallenge(SQLModel, table=True):
    """A one-time sign-in code sent to a phone; only its hash is kept."""

    __tablename__ = "otp_challenge"
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    phone: str = Field(index=True, max_length=20)
    code_hash: str = Field(max_length=255)
    created_at: datetime = utc_field(default_now=True, index=True)
    expires_at: datetime = utc_field()
    attempts: int = 0
    used_at: datetime | None = utc_field(nullable=True)


class StreamTicket(SQLModel, table=True):
    """A single-use, short-lived ticket opening one desk's live feed: browsers' EventSource cannot send an
    Authorization header, and a bearer token in a URL ends up in access logs. Only the ticket's SHA-256 is
    kept; the feed consumes the row (deletes it) on first use."""

    __tablename__ = "stream_ticket"
    ticket_hash: str = Field(primary_key=True, max_length=64)
    user_id: uuid.UUID = Field(foreign_key="staff_user.id", index=True)
    token_version: int  # the account's version at issue: a revocation since then voids the ticket
    desk_id: uuid.UUID = Field(foreign_key="organisation.id")
    expires_at: datetime = utc_field(index=True)


# API shapes -----------------------------------------------------------------------------------------------


class UserPublic(SQLModel):
    id: uuid.UUID
    role: Role
    username: str | None = None
    full_name: str | None = None
    phone: str | None = None
    organisation_id: uuid.UUID | None = None
    organisation_code: str | None = None
    organisation_name: str | None = None


class AddressPublic(SQLModel):
    id: uuid.UUID
    label: str
    address: str
    commune_code: str
    lat: float
    lon: float
    is_default: bool


class AddressCreate(SQLModel):
    label: str = Field(default="Nhà riêng", min_length=1, max_length=60)
    address: str = Field(min_length=3, max_length=300)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    is_default: bool = True


class MePublic(UserPublic):
    addresses: list[AddressPublic] = []
    courier: dict[str, Any] | None = None


class StaffLogin(SQLModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class OtpRequest(SQLModel):
    phone: str = Field(min_length=8, max_length=20)


class OtpVerify(SQLModel):
    phone: str = Field(min_length=8, max_length=20)
    code: str = Field(min_length=4, max_length=10)


class FirebaseExchange(SQLModel):
    id_token: str = Field(min_length=10, max_length=8192)


class TokenResponse(SQLModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    user: UserPublic


class StaffCreate(SQLModel):
    """A new staff account (admin). ``organisation`` is the organisation's code or id."""

    username: str = Field(min_length=3, max_length=64, regex=r"^[a-z0-9._-]+$")
    full_name: str = Field(min_length=1, max_length=120)
    role: Role
    organisation: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=20)
    password: str = Field(min_length=10, max_length=200)


class StaffUpdate(SQLModel):
    """Fields an admin may change; absent fields stay as they are."""

    full_name: str | None = Field(default=None, min_length=1, max_length=120)
    phone: str | None = Field(default=None, max_length=20)
    organisation: str | None = Field(default=None, max_length=64)
    role: Role | None = None  # a new role ends the account's sessions (so do a new password or disabling)
    active: bool | None = None
    password: str | None = Field(default=None, min_length=10, max_length=200)


class StaffPublic(UserPublic):
    active: bool
    created_at: datetime


class CourierProfileIn(SQLModel):
    """A courier's vehicle, load limits, weekly shifts (ISO weekday "1".."7" -> [["07:30","11:30"], ...])
    and skills; set by an admin or the dispatchers of the courier's post office."""

    vehicle: Vehicle = Vehicle.motorbike
    capacity_items: int = Field(default=40, ge=1, le=1000)
    capacity_kg: float = Field(default=30.0, gt=0, le=2000)
    shifts: dict[str, list[list[str]]] = Field(default_factory=dict)
    skills: list[str] = Field(default_factory=list, max_length=10)
    home_lat: float | None = Field(default=None, ge=-90, le=90)
    home_lon: float | None = Field(default=None, ge=-180, le=180)
