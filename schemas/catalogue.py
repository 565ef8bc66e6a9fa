"""The procedure catalogue (thủ tục hành chính) and the working calendar overrides."""

import datetime as dt
import uuid
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from schemas.base import json_field, new_id
from schemas.enums import AgencyLevel
from schemas.orgs import OrganisationPublic
from schemas.units import CommunePublic


class DocumentRequirement(BaseModel):
    """One document of a procedure's dossier; ``original`` means bản chính, otherwise bản sao (a copy).

    A plain pydantic model, not SQLModel: appointments carry a list of these on the booking path, where a nested
    SQLModel costs twice as much to build."""

    id: str = PydanticField(examples=["to-khai"])
    name: str = PydanticField(examples=["Tờ khai đăng ký khai sinh"])
    name_en: str | None = PydanticField(default=None, examples=["Birth registration form"])
    original: bool = False
    quantity: int = 1
    optional: bool = False


class ProcedureBase(SQLModel):
    code: str = Field(
        unique=True,
        index=True,
        max_length=32,
        description="national procedure code",
        schema_extra={"examples": ["1.001193"]},
    )
    name: str = Field(max_length=400, schema_extra={"examples": ["Đăng ký khai sinh"]})
    name_en: str | None = Field(
        default=None, max_length=400, schema_extra={"examples": ["Birth registration"]}
    )
    field: str = Field(
        index=True, max_length=120, description="lĩnh vực", schema_extra={"examples": ["Hộ tịch"]}
    )
    level: AgencyLevel = Field(max_length=20)
    processing_days: float = Field(ge=0, description="legal processing time in working days")
    fee: int = Field(default=0, ge=0, description="phí, VND")
    charge: int = Field(default=0, ge=0, description="lệ phí, VND")
    postal_pickup: bool = True
    postal_return: bool = True
    legal_basis: str | None = Field(
        default=None,
        max_length=600,
        schema_extra={"examples": ["Luật Hộ tịch 2014, Điều 16; Nghị định 123/2015/NĐ-CP"]},
    )


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

    kind: Literal["off", "working"] = Field(schema_extra={"examples": ["off"]})
    note: str = Field(default="", max_length=300, schema_extra={"examples": ["Nghỉ bù Quốc khánh"]})
    source: str = Field(min_length=3, max_length=300, schema_extra={"examples": ["Thông báo 6150/TB-BNV"]})


# API answers (issue 19): typed so app teams generate clients from the OpenAPI document. Litestar renders only
# per-field examples (a model's own ``json_schema_extra`` examples are dropped), so examples sit on fields.


class CalendarOverridePublic(SQLModel):
    """A stored government decision for one day."""

    day: date = Field(schema_extra={"examples": ["2026-02-20"]})
    kind: Literal["off", "working"] = Field(schema_extra={"examples": ["off"]})
    note: str = Field(schema_extra={"examples": ["Tết Bính Ngọ 2026 (mùng 4 Tết)"]})
    source: str = Field(schema_extra={"examples": ["Thông báo 6150/TB-BNV"]})


class CalendarDayOff(SQLModel):
    """A weekday that is not a working day: a public holiday or a swapped day."""

    date: dt.date = Field(schema_extra={"examples": ["2026-09-02"]})
    name: str = Field(schema_extra={"examples": ["Quốc khánh"]})


class CalendarWorkingWeekend(SQLModel):
    """A Saturday or Sunday that is a working day (make-up day, ngày làm bù)."""

    date: dt.date = Field(schema_extra={"examples": ["2026-01-10"]})
    note: str = Field(schema_extra={"examples": ["Làm bù ngày 2/1/2026"]})


class CalendarYear(SQLModel):
    """One year of the state agencies' working calendar (Labour Code 2019 art. 112 holidays plus stored
    government decisions): what apps need to count legal deadlines offline."""

    year: int = Field(schema_extra={"examples": [2026]})
    working_days: int = Field(schema_extra={"examples": [247]})
    days_off: list[CalendarDayOff]
    working_weekends: list[CalendarWorkingWeekend]
    overrides: list[CalendarOverridePublic]


class ProcedurePage(SQLModel):
    """A page of the procedure catalogue; ``total`` counts every match."""

    items: list[ProcedurePublic]
    total: int
    limit: int
    offset: int


class CommunePage(SQLModel):
    """A page of communes (500 by default: a province fits in one)."""

    items: list[CommunePublic]
    total: int
    limit: int
    offset: int


class OrganisationPage(SQLModel):
    """A page of organisations: post offices, one-stop desks, agencies."""

    items: list[OrganisationPublic]
    total: int
    limit: int
    offset: int
