"""Prices people set (issue 21): postal tariffs, procedure fees and exemptions, versioned with effective dates.

Each table is append-only: a version is in force from its ``effective_from`` until the next version of the same
key starts (so versions of one key never overlap: ``(key, effective_from)`` is unique and a new version must
start after every existing one of its key and not in the past). Quotes record the ids of the versions they
used; a booking keeps them in its ``fees``.
"""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlalchemy import BigInteger, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from schemas.base import Instant, new_id, utc_field

ServiceKindName = Literal["pickup", "delivery", "assisted"]
ZoneCode = Literal["Z1", "Z2", "Z3", "Z4"]
ExemptionCovers = Literal["fees", "postal", "all"]
MAX_PRICE_VND = 100_000_000


class TariffRate(SQLModel, table=True):
    """One version of one postal charge (cước): a service kind in a distance zone."""

    __tablename__ = "tariff_rate"
    __table_args__ = (UniqueConstraint("kind", "zone", "effective_from", name="uq_tariff_rate_version"),)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    kind: str = Field(max_length=20)
    zone: str = Field(max_length=4)
    amount_vnd: int = Field(sa_column=Column(BigInteger, nullable=False))
    effective_from: datetime = utc_field(index=True)
    basis: str = Field(max_length=300)
    created_by: uuid.UUID | None = None
    created_at: datetime = utc_field(default_now=True)


class ProcedureFee(SQLModel, table=True):
    """One version of a procedure's fee (phí) and charge (lệ phí)."""

    __tablename__ = "procedure_fee"
    __table_args__ = (UniqueConstraint("procedure_code", "effective_from", name="uq_procedure_fee_version"),)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    procedure_code: str = Field(max_length=32, index=True)
    fee_vnd: int = Field(sa_column=Column(BigInteger, nullable=False))
    charge_vnd: int = Field(sa_column=Column(BigInteger, nullable=False))
    effective_from: datetime = utc_field(index=True)
    basis: str = Field(max_length=300)
    created_by: uuid.UUID | None = None
    created_at: datetime = utc_field(default_now=True)


class FeeExemption(SQLModel, table=True):
    """One version of an exemption (miễn phí, lệ phí): a free pilot in a province and/or for a procedure, or a
    group of citizens exempt by law. ``active`` false ends it from ``effective_from``."""

    __tablename__ = "fee_exemption"
    __table_args__ = (UniqueConstraint("code", "effective_from", name="uq_fee_exemption_version"),)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    code: str = Field(max_length=40, index=True, description="the basis code: ledger account exempt:{code}")
    province_code: str | None = Field(default=None, max_length=8)
    procedure_code: str | None = Field(default=None, max_length=32)
    citizen_group: str | None = Field(default=None, max_length=40)
    covers: str = Field(max_length=10)
    active: bool = True
    legal_basis: str = Field(max_length=300)
    label_vi: str = Field(max_length=200)
    label_en: str = Field(max_length=200)
    effective_from: datetime = utc_field(index=True)
    created_by: uuid.UUID | None = None
    created_at: datetime = utc_field(default_now=True)


# --- API shapes -----------------------------------------------------------------------------------------------

BASIS = PydanticField(min_length=3, max_length=300, examples=["Quyết định 12/2026/QĐ-BĐT của Bưu điện tỉnh"])


class TariffRateIn(BaseModel):
    kind: ServiceKindName
    zone: ZoneCode
    amount_vnd: int = PydanticField(ge=0, le=MAX_PRICE_VND, examples=[25000])
    effective_from: Instant = PydanticField(examples=["2027-01-01T00:00:00+07:00"])
    basis: str = BASIS


class TariffRatePublic(BaseModel):
    id: uuid.UUID
    kind: ServiceKindName
    zone: ZoneCode
    amount_vnd: int = PydanticField(examples=[25000])
    effective_from: datetime
    effective_until: datetime | None = PydanticField(description="when the next version starts")
    basis: str
    created_at: datetime


class ProcedureFeeIn(BaseModel):
    procedure_code: str = PydanticField(min_length=1, max_length=32, examples=["1.001193"])
    fee_vnd: int = PydanticField(ge=0, le=MAX_PRICE_VND, examples=[0])
    charge_vnd: int = PydanticField(ge=0, le=MAX_PRICE_VND, examples=[8000])
    effective_from: Instant = PydanticField(examples=["2027-01-01T00:00:00+07:00"])
    basis: str = BASIS


class ProcedureFeePublic(BaseModel):
    id: uuid.UUID
    procedure_code: str
    fee_vnd: int
    charge_vnd: int
    effective_from: datetime
    effective_until: datetime | None
    basis: str
    created_at: datetime


class FeeExemptionIn(BaseModel):
    code: str = PydanticField(
        min_length=2, max_length=40, pattern=r"^[a-z0-9][a-z0-9._-]*$", examples=["pilot-82-khai-sinh"]
    )
    province_code: str | None = PydanticField(default=None, max_length=8, examples=["82"])
    procedure_code: str | None = PydanticField(default=None, max_length=32, examples=["1.001193"])
    citizen_group: str | None = PydanticField(default=None, max_length=40, examples=[None])
    covers: ExemptionCovers = "fees"
    active: bool = True
    legal_basis: str = BASIS
    label_vi: str = PydanticField(min_length=1, max_length=200, examples=["Thí điểm miễn lệ phí khai sinh"])
    label_en: str = PydanticField(min_length=1, max_length=200, examples=["Birth registration charge waived"])
    effective_from: Instant = PydanticField(examples=["2027-01-01T00:00:00+07:00"])


class FeeExemptionPublic(BaseModel):
    id: uuid.UUID
    code: str
    province_code: str | None
    procedure_code: str | None
    citizen_group: str | None
    covers: ExemptionCovers
    active: bool
    legal_basis: str
    label_vi: str
    label_en: str
    effective_from: datetime
    effective_until: datetime | None
    created_at: datetime


class TariffRatePage(BaseModel):
    items: list[TariffRatePublic]
    total: int


class ProcedureFeePage(BaseModel):
    items: list[ProcedureFeePublic]
    total: int


class FeeExemptionPage(BaseModel):
    items: list[FeeExemptionPublic]
    total: int
