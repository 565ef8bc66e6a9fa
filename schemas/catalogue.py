"""The procedure catalogue (thủ tục hành chính) and the working calendar overrides."""

import uuid
from datetime import date
from typing import Any, Literal

from sqlmodel import Field, SQLModel

from schemas.base import json_field, new_id
from schemas.enums import AgencyLevel


class DocumentRequirement(SQLModel):
    """One document of a procedure's dossier; ``original`` means bản chính, otherwise bản sao (a copy)."""

    id: str
    name: str
    name_en: str | None = None
    original: bool = False
    quantity: int = 1
    optional: bool = False


class ProcedureBase(SQLModel):
    code: str = Field(unique=True, index=True, max_length=32, description="national procedure code")
    name: str = Field(max_length=400)
    name_en: str | None = Field(default=None, max_length=400)
    field: str = Field(index=True, max_length=120, description="lĩnh vực")
    level: AgencyLevel = Field(max_length=20)
    processing_days: float = Field(ge=0, description="legal processing time in working days")
    fee: int = Field(default=0, ge=0, description="phí, VND")
    charge: int = Field(default=0, ge=0, description="lệ phí, VND")
    postal_pickup: bool = True
    postal_return: bool = True
    legal_basis: str | None = Field(default=None, max_length=600)


class Procedure(ProcedureBase, table=True):
    __tablename__ = "procedure"
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    documents: list[dict[str, Any]] = json_field(default_factory=list)
    code_verified: bool = True


class ProcedurePublic(ProcedureBase):
    documents: list[DocumentRequirement]


class CalendarOverride(SQLModel, table=True):
    """A government decision that changes the working calendar: an extra day off (e.g. Tết extension,
    a swapped day) or a make-up working Saturday."""

    __tablename__ = "calendar_override"
    day: date = Field(primary_key=True)
    kind: str = Field(max_length=20, description="'off' or 'working'")
    note: str = Field(default="", max_length=300)
    source: str = Field(default="", max_length=300)


class CalendarOverrideIn(SQLModel):
    """An admin's entry of a government decision: ``off`` (extra day off, swapped day) or ``working``
    (make-up working day). ``source`` cites the decision (e.g. Thông báo 6150/TB-BNV)."""

    kind: Literal["off", "working"]
    note: str = Field(default="", max_length=300)
    source: str = Field(min_length=3, max_length=300)
