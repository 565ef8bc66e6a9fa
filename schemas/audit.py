"""The audit log of staff reading a citizen's personal data.

Decree 13/2023/NĐ-CP on personal data protection: art. 3 (principles) asks that processing be limited to its
purpose and that the controller can show it complied; art. 9 gives the data subject the right to know how
their data was processed; art. 27 asks for a record of processing. Every time a staff account is shown a
citizen's name, phone, address or national id, one row says who read it (account, role, organisation), whose
data, which fields, when (UTC), why (the route and the purpose the client gave) and from where (client IP).
"""

import uuid
from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from schemas.accounts import AddressPublic
from schemas.base import json_field, new_id, utc_field
from schemas.enums import Role


class PersonalDataAccess(SQLModel, table=True):
    __tablename__ = "personal_data_access"
    __table_args__ = (
        Index("ix_personal_data_access_citizen_at", "citizen_id", "at"),
        Index("ix_personal_data_access_staff_at", "staff_id", "at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    at: datetime = utc_field(default_now=True, index=True)
    staff_id: uuid.UUID = Field(foreign_key="staff_user.id")
    staff_role: str = Field(max_length=20)
    staff_org_id: uuid.UUID | None = Field(default=None, foreign_key="organisation.id")
    citizen_id: uuid.UUID = Field(foreign_key="citizen.id")
    fields: list[str] = json_field(default_factory=list)
    route: str = Field(
        max_length=200, description="the operation that showed the data, e.g. GET /citizens/{id}"
    )
    purpose: str | None = Field(default=None, max_length=200, description="X-Purpose header or purpose query")
    resource: str | None = Field(default=None, max_length=64, description="dossier or appointment read")
    client_ip: str | None = Field(default=None, max_length=45)


FIELDS_EXAMPLE = {"examples": [["phone", "address", "location"]]}
ROUTE_EXAMPLE = {"examples": ["GET /api/v1/dossiers/{item_id}"]}
PURPOSE_EXAMPLE = {"examples": ["Gọi lại cho người dân về hồ sơ thiếu giấy tờ"]}


class PersonalDataAccessPublic(SQLModel):
    """One staff read of a citizen's personal data, as the admin's audit shows it."""

    id: uuid.UUID
    at: datetime = Field(schema_extra={"examples": ["2026-12-05T09:14:03+07:00"]})
    staff_id: uuid.UUID
    staff_role: Role = Field(schema_extra={"examples": ["desk"]})
    staff_org_id: uuid.UUID | None = None
    staff_org: str | None = Field(
        default=None, description="the organisation's code", schema_extra={"examples": ["82-TTPVHCC"]}
    )
    citizen_id: uuid.UUID
    fields: list[str] = Field(description="which personal data was shown", schema_extra=FIELDS_EXAMPLE)
    route: str = Field(schema_extra=ROUTE_EXAMPLE)
    purpose: str | None = Field(default=None, schema_extra=PURPOSE_EXAMPLE)
    resource: str | None = Field(
        default=None,
        description="the dossier or appointment read",
        schema_extra={"examples": ["EA123456785VN"]},
    )
    client_ip: str | None = Field(default=None, schema_extra={"examples": ["203.113.131.7"]})


class PersonalDataAccessPage(SQLModel):
    """A page of the admin's audit, newest first; ``total`` counts every matching read."""

    items: list[PersonalDataAccessPublic]
    total: int
    limit: int
    offset: int


class ReaderOrganisation(SQLModel):
    code: str = Field(schema_extra={"examples": ["82-TTPVHCC"]})
    name: str = Field(schema_extra={"examples": ["Trung tâm Phục vụ hành chính công tỉnh Đồng Tháp"]})


class DataAccessSeen(SQLModel):
    """One read of a citizen's data as the citizen is told of it (Decree 13/2023/NĐ-CP art. 9): the
    organisation and role, not the staff member's account or address."""

    at: datetime = Field(schema_extra={"examples": ["2026-12-05T09:14:03+07:00"]})
    role: Role = Field(schema_extra={"examples": ["desk"]})
    organisation: ReaderOrganisation | None = None
    fields: list[str] = Field(schema_extra=FIELDS_EXAMPLE)
    route: str = Field(schema_extra=ROUTE_EXAMPLE)
    purpose: str | None = Field(default=None, schema_extra=PURPOSE_EXAMPLE)
    resource: str | None = Field(default=None, schema_extra={"examples": ["EA123456785VN"]})


class DataAccessSeenPage(SQLModel):
    """A page of the reads of the caller's data, newest first."""

    items: list[DataAccessSeen]
    total: int
    limit: int
    offset: int


class CitizenRecord(SQLModel):
    """A citizen's record as a staff account sees it: only the fields its task needs (``fields``)."""

    id: uuid.UUID
    role: Role = Field(schema_extra={"examples": ["citizen"]})
    full_name: str | None = Field(default=None, schema_extra={"examples": ["Lê Thị Hoa"]})
    phone: str | None = Field(default=None, schema_extra={"examples": ["+84900000001"]})
    phone_masked: str | None = Field(default=None, schema_extra={"examples": ["+84 90••••001"]})
    addresses: list[AddressPublic] = []
    fields: list[str] = Field(
        default=[], description="the fields shown to this caller", schema_extra=FIELDS_EXAMPLE
    )
