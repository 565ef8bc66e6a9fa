"""Organisations: post offices, one-stop desks and agencies."""

import uuid
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from schemas.base import json_field, new_id
from schemas.enums import OrgKind

# Opening hours are kept per ISO weekday ("1" = Monday ... "7" = Sunday) as a list of [start, end] "HH:MM"
# pairs in Vietnam time. One-stop desks work office hours (Decree 118/2025/NĐ-CP art. 9: receipt in working
# hours on working days); post offices usually also open on Saturday mornings.
OFFICE_HOURS: dict[str, list[list[str]]] = {
    str(d): [["07:30", "11:30"], ["13:30", "17:00"]] for d in range(1, 6)
}


class OrganisationBase(SQLModel):
    code: str = Field(unique=True, index=True, max_length=32, schema_extra={"examples": ["82-BD-01"]})
    kind: OrgKind = Field(index=True, max_length=20)
    name: str = Field(max_length=200, schema_extra={"examples": ["Bưu cục Cao Lãnh"]})
    name_en: str | None = Field(
        default=None, max_length=200, schema_extra={"examples": ["Cao Lanh post office"]}
    )
    commune_code: str = Field(foreign_key="commune.code", index=True, max_length=8)
    province_code: str = Field(foreign_key="province.code", index=True, max_length=8)
    lat: float
    lon: float
    address: str | None = Field(
        default=None, max_length=300, schema_extra={"examples": ["85 Nguyễn Huệ, Phường Cao Lãnh, Đồng Tháp"]}
    )
    phone: str | None = Field(default=None, max_length=20, schema_extra={"examples": ["02773851234"]})


class Organisation(OrganisationBase, table=True):
    __tablename__ = "organisation"
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    opening_hours: dict[str, Any] = json_field(default_factory=lambda: dict(OFFICE_HOURS))
    # false from a deactivation's effective date (issue 23, backend/catalogue/editing_changes.py)
    active: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})


class OrganisationPublic(OrganisationBase):
    id: uuid.UUID
    opening_hours: dict[str, list[list[str]]] = Field(
        description="ISO weekday ('1' = Monday) -> [start, end] pairs in Vietnam time",
        schema_extra={
            "examples": [{"1": [["07:30", "11:30"], ["13:30", "17:00"]], "6": [["07:30", "11:30"]]}]
        },
    )
    commune: str = Field(
        description="the commune's name, for display", schema_extra={"examples": ["Phường Cao Lãnh"]}
    )
    served_communes: list[str] | None = Field(
        default=None, description="commune codes served (post offices only)"
    )
    active: bool = Field(
        default=True,
        description="in service; false from a deactivation's effective date (lists show only those in service, "
        "one asked for by its code answers either way)",
    )


class PostOfficeCommune(SQLModel, table=True):
    """Which communes a post office serves for at-home appointments."""

    __tablename__ = "post_office_commune"
    post_office_id: uuid.UUID = Field(foreign_key="organisation.id", primary_key=True)
    commune_code: str = Field(foreign_key="commune.code", primary_key=True, max_length=8, index=True)
