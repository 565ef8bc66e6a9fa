"""People who use the service: staff (with a role and an organisation) and citizens."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import field_validator
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
    # An admin's province (issue 23): a provincial admin edits only its province's part of the catalogue;
    # none: a national admin.
    province_code: str | None = Field(default=None, max_length=8)


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
    # Identity (issue 20, migration 0019; backend/accounts/identity.py): the language texts come in, and who
    # on the desk checked the national id against the card at the counter, when (cleared by a new number).
    preferred_language: str = Field(default="vi", max_length=2, sa_column_kwargs={"server_default": "vi"})
    national_id_verified_at: datetime | None = utc_field(nullable=True)
    national_id_verified_by: uuid.UUID | None = None
    # Exempt citizen groups (issue 21, migration 0027; backend/custody/exempt_groups.py): only the group codes
    # a desk clerk recorded after checking the papers at the counter, who and when; never the papers.
    exempt_groups: list[str] | None = json_field(default_factory=list, nullable=True)
    exempt_groups_verified_at: datetime | None = utc_field(nullable=True)
    exempt_groups_verified_by: uuid.UUID | None = None


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


# Examples for the OpenAPI document (Litestar renders per-field examples only).
PHONE = {"examples": ["+84900000001"]}
ADDRESS = {"examples": ["Số 12, đường Lê Lợi, Phường Cao Lãnh, Đồng Tháp"]}
ORG_CODE = {"examples": ["82-BD-01"]}
SHIFTS = {"examples": [{"1": [["07:30", "11:30"], ["13:30", "17:00"]], "6": [["07:30", "11:30"]]}]}


def spans_of(shifts: dict[str, Any] | None) -> dict[str, list[list[str]]]:
    """Shifts as the API writes them, ``{"1": [["07:30", "17:00"]], ...}``, whichever form is stored (older
    rows and the demo keep one span per day flat, ``["07:30", "17:00"]``): a profile read can be written back."""
    out: dict[str, list[list[str]]] = {}
    for day, spans in (shifts or {}).items():
        if spans:
            out[day] = [list(spans)] if isinstance(spans[0], str) else [list(p) for p in spans]
    return out


class UserPublic(SQLModel):
    id: uuid.UUID
    role: Role = Field(schema_extra={"examples": ["dispatcher"]})
    username: str | None = Field(default=None, schema_extra={"examples": ["dispatcher01"]})
    full_name: str | None = Field(default=None, schema_extra={"examples": ["Nguyễn Thị Lan"]})
    phone: str | None = Field(default=None, schema_extra=PHONE)
    organisation_id: uuid.UUID | None = None
    organisation_code: str | None = Field(default=None, schema_extra=ORG_CODE)
    organisation_name: str | None = Field(default=None, schema_extra={"examples": ["Bưu cục Cao Lãnh"]})


class AddressPublic(SQLModel):
    id: uuid.UUID
    label: str = Field(schema_extra={"examples": ["Nhà riêng"]})
    address: str = Field(schema_extra=ADDRESS)
    commune_code: str = Field(schema_extra={"examples": ["29869"]})
    lat: float = Field(schema_extra={"examples": [10.4602]})
    lon: float = Field(schema_extra={"examples": [105.6329]})
    is_default: bool


class AddressCreate(SQLModel):
    label: str = Field(
        default="Nhà riêng", min_length=1, max_length=60, schema_extra={"examples": ["Nhà riêng"]}
    )
    address: str = Field(min_length=3, max_length=300, schema_extra=ADDRESS)
    lat: float = Field(ge=-90, le=90, schema_extra={"examples": [10.4602]})
    lon: float = Field(ge=-180, le=180, schema_extra={"examples": [105.6329]})
    is_default: bool = True


class CourierSettings(SQLModel):
    """A courier's vehicle, load limits, weekly shifts (ISO weekday "1".."7" -> [start, end] spans in Vietnam
    time) and skills."""

    vehicle: Vehicle
    capacity_items: int = Field(schema_extra={"examples": [40]})
    capacity_kg: float = Field(schema_extra={"examples": [30.0]})
    shifts: dict[str, list[list[str]]] = Field(schema_extra=SHIFTS)
    skills: list[str] = Field(schema_extra={"examples": [["fees"]]})
    home_lat: float | None = None
    home_lon: float | None = None

    @field_validator("shifts", mode="before")
    @classmethod
    def _spans(cls, value: Any) -> Any:
        return spans_of(value) if isinstance(value, dict) else value


class CourierProfilePublic(CourierSettings):
    """A courier's profile with the account it belongs to."""

    user_id: uuid.UUID
    username: str = Field(schema_extra={"examples": ["courier01"]})


class MePublic(UserPublic):
    addresses: list[AddressPublic] = Field(default=[], description="saved addresses (citizens)")
    courier: CourierSettings | None = Field(default=None, description="the courier's own profile (couriers)")


class StaffLogin(SQLModel):
    username: str = Field(min_length=1, max_length=64, schema_extra={"examples": ["dispatcher01"]})
    password: str = Field(min_length=1, max_length=256, schema_extra={"examples": ["demo1234"]})


class OtpRequest(SQLModel):
    phone: str = Field(min_length=8, max_length=20, schema_extra={"examples": ["0900000001"]})


class OtpSent(SQLModel):
    """A one-time code is on its way to ``phone`` (normalised to +84...), valid ``expires_in`` seconds."""

    phone: str = Field(schema_extra=PHONE)
    expires_in: int = Field(schema_extra={"examples": [300]})


class OtpVerify(SQLModel):
    phone: str = Field(min_length=8, max_length=20, schema_extra={"examples": ["0900000001"]})
    code: str = Field(min_length=4, max_length=10, schema_extra={"examples": ["123456"]})


class FirebaseExchange(SQLModel):
    id_token: str = Field(
        min_length=10,
        max_length=8192,
        schema_extra={"examples": ["eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.e30.sig"]},
    )


class TokenResponse(SQLModel):
    access_token: str = Field(schema_extra={"examples": ["eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"]})
    token_type: str = Field(default="bearer", schema_extra={"examples": ["bearer"]})
    expires_in: int = Field(schema_extra={"examples": [43200]})
    user: UserPublic


class StaffCreate(SQLModel):
    """A new staff account (admin). ``organisation`` is the organisation's code or id."""

    username: str = Field(
        min_length=3, max_length=64, regex=r"^[a-z0-9._-]+$", schema_extra={"examples": ["courier25"]}
    )
    full_name: str = Field(min_length=1, max_length=120, schema_extra={"examples": ["Trần Văn Hùng"]})
    role: Role = Field(schema_extra={"examples": ["courier"]})
    organisation: str | None = Field(default=None, max_length=64, schema_extra=ORG_CODE)
    phone: str | None = Field(default=None, max_length=20, schema_extra={"examples": ["0912345678"]})
    password: str = Field(min_length=10, max_length=200, schema_extra={"examples": ["mat-khau-dai-10"]})


class StaffUpdate(SQLModel):
    """Fields an admin may change; absent fields stay as they are."""

    full_name: str | None = Field(
        default=None, min_length=1, max_length=120, schema_extra={"examples": ["Trần Văn Hùng"]}
    )
    phone: str | None = Field(default=None, max_length=20, schema_extra={"examples": ["0912345678"]})
    organisation: str | None = Field(default=None, max_length=64, schema_extra={"examples": ["82-BD-02"]})
    role: Role | None = None  # a new role ends the account's sessions (so do a new password or disabling)
    active: bool | None = Field(default=None, schema_extra={"examples": [False]})
    password: str | None = Field(default=None, min_length=10, max_length=200)


class StaffPublic(UserPublic):
    active: bool
    created_at: datetime = Field(schema_extra={"examples": ["2026-11-02T08:00:00+07:00"]})


class StaffPage(SQLModel):
    """A page of staff accounts, by username."""

    items: list[StaffPublic]
    total: int
    limit: int
    offset: int


class CourierProfileIn(SQLModel):
    """A courier's vehicle, load limits, weekly shifts (ISO weekday "1".."7" -> [["07:30","11:30"], ...])
    and skills; set by an admin or the dispatchers of the courier's post office."""

    vehicle: Vehicle = Vehicle.motorbike
    capacity_items: int = Field(default=40, ge=1, le=1000)
    capacity_kg: float = Field(default=30.0, gt=0, le=2000)
    shifts: dict[str, list[list[str]]] = Field(default_factory=dict, schema_extra=SHIFTS)
    skills: list[str] = Field(default_factory=list, max_length=10, schema_extra={"examples": [["fees"]]})
    home_lat: float | None = Field(default=None, ge=-90, le=90)
    home_lon: float | None = Field(default=None, ge=-180, le=180)
