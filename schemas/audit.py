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


class PersonalDataAccessPublic(SQLModel):
    id: uuid.UUID
    at: datetime
    staff_id: uuid.UUID
    staff_role: str
    staff_org_id: uuid.UUID | None = None
    staff_org: str | None = None
    citizen_id: uuid.UUID
    fields: list[str]
    route: str
    purpose: str | None = None
    resource: str | None = None
    client_ip: str | None = None


class PersonalDataAccessPage(SQLModel):
    """A page of the admin's audit, newest first; ``total`` counts every matching read."""

    items: list[PersonalDataAccessPublic]
    total: int
    limit: int
    offset: int


class ReaderOrganisation(SQLModel):
    code: str
    name: str


class DataAccessSeen(SQLModel):
    """One read of a citizen's data as the citizen is told of it (Decree 13/2023/NĐ-CP art. 9): the
    organisation and role, not the staff member's account or address."""

    at: datetime
    role: str
    organisation: ReaderOrganisation | None = None
    fields: list[str]
    route: str
    purpose: str | None = None
    resource: str | None = None


class DataAccessSeenPage(SQLModel):
    items: list[DataAccessSeen]
    total: int
    limit: int
    offset: int


class CitizenRecord(SQLModel):
    """A citizen's record as a staff account sees it: only the fields its task needs (``fields``)."""

    id: uuid.UUID
    role: Role
    full_name: str | None = None
    phone: str | None = None
    phone_masked: str | None = None
    addresses: list[AddressPublic] = []
    fields: list[str] = []
