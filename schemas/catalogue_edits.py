"""A catalogue people edit (issue 23): procedure versions, postal eligibility per province, scheduled changes of
organisations and post-office service areas, and one event row per change.

Append-only like the prices (schemas/pricing.py): a version is in force from its ``effective_from`` until the
next version of the same key starts; ``(key, effective_from)`` is unique and a new version must start after
every existing one of its key and not in the past. Fees stay in ``procedure_fee`` (schemas/pricing.py): a
procedure version names no amounts.
"""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from schemas.base import Instant, json_field, new_id, utc_field
from schemas.catalogue import DocumentRequirement
from schemas.enums import AgencyLevel, OrgKind


class ProcedureVersion(SQLModel, table=True):
    """One version of a procedure's content (Decree 63/2010/NĐ-CP art. 8: name, field, level, processing
    time, documents, legal basis) and whether the law lets the post carry it (Decision 45/2016/QĐ-TTg art. 5)."""

    __tablename__ = "procedure_version"
    __table_args__ = (UniqueConstraint("procedure_code", "effective_from", name="uq_procedure_version"),)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    procedure_code: str = Field(max_length=32, index=True)
    seq: int
    name: str = Field(max_length=400)
    name_en: str | None = Field(default=None, max_length=400)
    field: str = Field(max_length=120)
    level: str = Field(max_length=20)
    processing_days: float
    documents: list[dict[str, Any]] = json_field(default_factory=list)
    legal_basis: str | None = Field(default=None, max_length=600)
    postal_pickup: bool = True
    postal_return: bool = True
    source: str = Field(max_length=20, description="admin | import")
    effective_from: datetime = utc_field(index=True)
    created_by: uuid.UUID | None = None
    created_at: datetime = utc_field(default_now=True)


class ProcedureEligibility(SQLModel, table=True):
    """One version of a province's list: may the post collect (pickup) and return the result of a procedure
    there. A province narrows what the law allows (An Giang's 2019 report lists its own)."""

    __tablename__ = "procedure_eligibility"
    __table_args__ = (
        UniqueConstraint(
            "procedure_code", "province_code", "effective_from", name="uq_procedure_eligibility"
        ),
    )
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    procedure_code: str = Field(max_length=32, index=True)
    province_code: str = Field(max_length=8, index=True)
    postal_pickup: bool
    postal_return: bool
    basis: str = Field(max_length=300)
    effective_from: datetime = utc_field(index=True)
    created_by: uuid.UUID | None = None
    created_at: datetime = utc_field(default_now=True)


class CatalogueChange(SQLModel, table=True):
    """A change of an organisation (rename, deactivate) or of a post office's service area that takes effect
    at ``effective_from``; ``applied_at`` is set when it was applied to ``organisation`` /
    ``post_office_commune``."""

    __tablename__ = "catalogue_change"
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    kind: str = Field(max_length=20, description="organisation | service_area")
    organisation_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)
    data: dict[str, Any] = json_field(default_factory=dict)
    basis: str = Field(max_length=300)
    effective_from: datetime = utc_field(index=True)
    applied_at: datetime | None = utc_field(nullable=True, index=True)
    created_by: uuid.UUID | None = None
    created_at: datetime = utc_field(default_now=True)


class CatalogueEvent(SQLModel, table=True):
    """Every change to the catalogue: who (id, role), when (UTC), from where, what."""

    __tablename__ = "catalogue_event"
    __table_args__ = (Index("ix_catalogue_event_subject_at", "subject", "at"),)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    type: str = Field(max_length=40)
    subject: str = Field(max_length=64, description="a procedure code, an organisation code")
    province_code: str | None = Field(default=None, max_length=8)
    at: datetime = utc_field(default_now=True)
    actor_id: uuid.UUID | None = None
    actor_role: str = Field(max_length=20)
    client_ip: str | None = Field(default=None, max_length=45)
    data: dict[str, Any] = json_field(default_factory=dict)


# --- API shapes -----------------------------------------------------------------------------------------------

BASIS = PydanticField(min_length=3, max_length=300, examples=["Quyết định 1234/QĐ-UBND tỉnh Đồng Tháp"])
FROM = PydanticField(examples=["2027-01-01T00:00:00+07:00"])
CODE = PydanticField(
    min_length=1, max_length=32, pattern=r"^[0-9A-Za-z][0-9A-Za-z._-]*$", examples=["1.001193"]
)


class ProcedureContent(BaseModel):
    name: str = PydanticField(min_length=1, max_length=400, examples=["Đăng ký khai sinh"])
    name_en: str | None = PydanticField(default=None, max_length=400, examples=["Birth registration"])
    field: str = PydanticField(min_length=1, max_length=120, examples=["Hộ tịch"])
    level: AgencyLevel
    processing_days: float = PydanticField(ge=0, le=365, examples=[3])
    documents: list[DocumentRequirement] = PydanticField(default_factory=list, max_length=60)
    legal_basis: str | None = PydanticField(default=None, max_length=600, examples=["Luật Hộ tịch 2014"])
    postal_pickup: bool = True
    postal_return: bool = True


class ProcedureVersionIn(ProcedureContent):
    """A new version of a procedure, in force from ``effective_from`` (now or later)."""

    effective_from: Instant = FROM


class ProcedureCreate(ProcedureVersionIn):
    """A new procedure; ``fee_vnd`` / ``charge_vnd`` (phí, lệ phí) become its first fee version
    (``/prices/procedure-fees``)."""

    code: str = CODE
    fee_vnd: int = PydanticField(default=0, ge=0, le=100_000_000, examples=[0])
    charge_vnd: int = PydanticField(default=0, ge=0, le=100_000_000, examples=[8000])
    basis: str = BASIS


class ProcedureVersionPublic(ProcedureContent):
    id: uuid.UUID
    procedure_code: str
    seq: int
    source: Literal["admin", "import"]
    effective_from: datetime
    effective_until: datetime | None = PydanticField(description="when the next version starts")
    created_at: datetime


class ProcedureVersionPage(BaseModel):
    items: list[ProcedureVersionPublic]
    total: int


class EligibilityIn(BaseModel):
    province_code: str = PydanticField(min_length=1, max_length=8, examples=["82"])
    postal_pickup: bool
    postal_return: bool
    effective_from: Instant = FROM
    basis: str = BASIS


class EligibilityPublic(BaseModel):
    id: uuid.UUID
    procedure_code: str
    province_code: str
    postal_pickup: bool
    postal_return: bool
    basis: str
    effective_from: datetime
    effective_until: datetime | None
    created_at: datetime


class EligibilityPage(BaseModel):
    items: list[EligibilityPublic]
    total: int


class OrganisationCreate(BaseModel):
    code: str = PydanticField(
        min_length=2, max_length=32, pattern=r"^[0-9A-Za-z][0-9A-Za-z._-]*$", examples=["82-BD-13"]
    )
    kind: OrgKind
    name: str = PydanticField(min_length=1, max_length=200, examples=["Bưu cục Tràm Chim"])
    name_en: str | None = PydanticField(default=None, max_length=200, examples=["Tram Chim post office"])
    commune_code: str = PydanticField(min_length=1, max_length=8, examples=["29869"])
    lat: float = PydanticField(ge=-90, le=90, examples=[10.46])
    lon: float = PydanticField(ge=-180, le=180, examples=[105.63])
    address: str | None = PydanticField(default=None, max_length=300)
    phone: str | None = PydanticField(default=None, max_length=20)


class OrganisationChangeIn(BaseModel):
    """A rename (``name``, ``name_en``) or a deactivation (``active`` false) from ``effective_from``."""

    name: str | None = PydanticField(
        default=None, min_length=1, max_length=200, examples=["Bưu cục Cao Lãnh 2"]
    )
    name_en: str | None = PydanticField(default=None, max_length=200)
    active: bool | None = PydanticField(default=None, examples=[None])
    effective_from: Instant = FROM
    basis: str = BASIS


class ServiceAreaIn(BaseModel):
    """The communes a post office serves from ``effective_from`` (all of them: the list replaces the old one;
    a commune another office served moves to this one)."""

    communes: list[str] = PydanticField(max_length=200, examples=[["29869", "29872"]])
    effective_from: Instant = FROM
    basis: str = BASIS


class CatalogueChangePublic(BaseModel):
    id: uuid.UUID
    kind: Literal["organisation", "service_area"]
    organisation_code: str
    data: dict[str, Any] = PydanticField(
        description="what changes, by kind: an organisation's new name or active flag; a service area's communes",
        examples=[{"communes": ["29869"]}],
    )
    basis: str
    effective_from: datetime
    applied_at: datetime | None = PydanticField(description="when it reached the catalogue; null: scheduled")


class OrganisationEdited(BaseModel):
    id: uuid.UUID
    code: str
    kind: OrgKind
    name: str
    name_en: str | None
    province_code: str
    commune_code: str
    active: bool
    served_communes: list[str] | None = None


class ImportRowChange(BaseModel):
    line: int = PydanticField(examples=[2])
    code: str = PydanticField(examples=["1.001193"])
    action: Literal["create", "new_version", "unchanged"]
    fields: list[str] = PydanticField(
        description="what differs from the version in force", examples=[["name"]]
    )
    fee_changed: bool = False


class ImportResult(BaseModel):
    dry_run: bool
    format: Literal["csv", "json"]
    rows: int
    created: int
    new_versions: int
    unchanged: int
    fee_versions: int
    effective_from: datetime
    changes: list[ImportRowChange]
