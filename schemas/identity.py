"""Identity (issue 20): a citizen's profile and national id, the people they authorise to hand over or receive
papers for them (giấy ủy quyền), and what a courier or desk clerk is shown at a result's handover.

The national id itself lives on ``citizen.national_id`` (schemas/accounts.py) with who verified it at the
counter; an authorised person is one ``authorised_person`` row with the photo of the signed letter (a
``proof_file`` of kind ``authorisation``). Personal data (Decree 13/2023/NĐ-CP art. 3): the whole number is
shown only to its owner; staff see ``0**********5`` and check a card by typing its number, which the server
compares.
"""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, StringConstraints
from pydantic import Field as PField
from sqlmodel import Field, SQLModel

from schemas.base import new_id, utc_field

NATIONAL_ID = {"examples": ["087090001234"]}
MASKED = {"examples": ["0**********4"]}


class Relationship(StrEnum):
    """The authorised person's relation to the citizen (a letter may name anyone: ``other``)."""

    spouse = "spouse"  # vợ / chồng
    parent = "parent"  # cha / mẹ
    child = "child"  # con
    sibling = "sibling"  # anh / chị / em
    relative = "relative"  # họ hàng
    neighbour = "neighbour"  # hàng xóm
    other = "other"


class AuthorisationState(StrEnum):
    valid = "valid"  # today lies within its dates and it is not revoked
    not_yet_valid = "not_yet_valid"
    expired = "expired"
    revoked = "revoked"


class AuthorisedPerson(SQLModel, table=True):
    """A person a citizen authorises to hand over or receive papers for them (Civil Code 2015 art. 135-143 on
    representation by authorisation; the result goes to the citizen or their authorised person, Decision
    45/2016/QĐ-TTg). Valid from ``valid_from`` to ``valid_until`` (Vietnam dates, inclusive), for one dossier
    or (``dossier_id`` null) any; never deleted: revoked."""

    __tablename__ = "authorised_person"
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    citizen_id: uuid.UUID = Field(foreign_key="citizen.id", index=True)
    full_name: str = Field(max_length=120)
    national_id: str = Field(max_length=12)
    relationship: str = Field(max_length=20)
    valid_from: date
    valid_until: date
    dossier_id: uuid.UUID | None = Field(default=None, foreign_key="dossier.id", index=True)
    letter_proof_id: uuid.UUID = Field(foreign_key="proof_file.id")
    created_at: datetime = utc_field(default_now=True)
    revoked_at: datetime | None = utc_field(nullable=True)
    revoked_by: uuid.UUID | None = None
    verified_at: datetime | None = utc_field(nullable=True)
    verified_by: uuid.UUID | None = None


# API shapes --------------------------------------------------------------------------------------------------


class CitizenProfile(SQLModel):
    """The caller's own profile: everything on file, the whole national id included (it is theirs)."""

    id: uuid.UUID
    phone: str = Field(schema_extra={"examples": ["+84900000001"]})
    full_name: str | None = Field(default=None, schema_extra={"examples": ["Lê Thị Hoa"]})
    preferred_language: Literal["vi", "en"] = Field(schema_extra={"examples": ["vi"]})
    national_id: str | None = Field(default=None, schema_extra=NATIONAL_ID)
    national_id_verified_at: datetime | None = Field(
        default=None,
        description="when a desk clerk checked the number against the card at the counter",
        schema_extra={"examples": ["2026-12-05T09:14:03+07:00"]},
    )
    exempt_groups: list[str] = Field(
        default_factory=list,
        description="exempt groups a desk clerk recorded after checking papers at the counter (fee exemptions)",
        schema_extra={"examples": [["nguoi_co_cong"]]},
    )


class CitizenProfileUpdate(BaseModel):
    """Fields to change; absent fields stay. ``national_id`` (12 digits; spaces and dots are dropped) is checked
    against its structure (Circular 59/2021/TT-BCA art. 7); ``null`` removes it. A new number is unverified."""

    full_name: str | None = PField(default=None, min_length=1, max_length=120, examples=["Lê Thị Hoa"])
    preferred_language: Literal["vi", "en"] | None = PField(default=None, examples=["en"])
    national_id: str | None = PField(default=None, min_length=1, max_length=20, examples=["087090001234"])


class NationalIdCheck(BaseModel):
    """The number read off the card in front of the clerk (12 digits), compared with the one on file."""

    national_id: str = PField(min_length=1, max_length=20, examples=["087090001234"])


class CitizenIdentityView(SQLModel):
    """A citizen's identity as the desk sees it after checking a card: masked, with the verification."""

    citizen_id: uuid.UUID
    national_id_masked: str | None = Field(default=None, schema_extra=MASKED)
    national_id_verified_at: datetime | None = Field(
        default=None, schema_extra={"examples": ["2026-12-05T09:14:03+07:00"]}
    )


class AuthorisationOut(SQLModel):
    """An authorisation. ``national_id`` is filled only for the citizen who registered it; staff see
    ``national_id_masked``. ``letter`` is where the photo of the signed letter is read, by those who may."""

    id: uuid.UUID
    full_name: str = Field(schema_extra={"examples": ["Nguyễn Văn Nam"]})
    national_id: str | None = Field(default=None, schema_extra=NATIONAL_ID)
    national_id_masked: str = Field(schema_extra=MASKED)
    relationship: Relationship = Field(schema_extra={"examples": ["spouse"]})
    valid_from: date = Field(schema_extra={"examples": ["2026-12-05"]})
    valid_until: date = Field(schema_extra={"examples": ["2027-06-05"]})
    dossier: str | None = Field(
        default=None, description="the one dossier it is for (null: any)", schema_extra={"examples": [None]}
    )
    state: AuthorisationState = Field(schema_extra={"examples": ["valid"]})
    verified_at: datetime | None = None
    revoked_at: datetime | None = None
    created_at: datetime = Field(schema_extra={"examples": ["2026-12-05T09:14:03+07:00"]})
    letter: str = Field(schema_extra={"examples": ["/api/v1/authorisations/3f2b…/letter"]})


class AuthorisationList(SQLModel):
    """A citizen's authorisations, newest first, revoked and expired ones included."""

    items: list[AuthorisationOut]


class RecipientCitizen(SQLModel):
    """The dossier's citizen as the person handing the result over needs them: a name to greet and whether a
    national id is on file (to check a card against), never the number."""

    full_name: str | None = Field(default=None, schema_extra={"examples": ["Lê Thị Hoa"]})
    national_id_on_file: bool
    national_id_masked: str | None = Field(default=None, schema_extra=MASKED)
    national_id_verified: bool = Field(description="checked against the card at a counter")


class Recipients(SQLModel):
    """Who may receive a dossier's result today: the citizen (handover code, or the card's number typed in)
    or one of the authorisations valid today for this dossier (the person's card number typed in, checked
    against the letter's photo)."""

    item_id: str = Field(schema_extra={"examples": ["HS123456785VN"]})
    citizen: RecipientCitizen
    authorisations: list[AuthorisationOut]
    methods: list[Literal["code", "national_id", "authorisation"]] = Field(
        schema_extra={"examples": [["code", "national_id", "authorisation"]]}
    )


GROUP_CODE = r"^[a-z0-9_]{1,40}$"


class ExemptGroupsSet(SQLModel):
    """The desk's record of a citizen's exempt groups after checking the papers at the counter: the group codes
    of the price exemptions (``FeeExemption.citizen_group``), replacing those on file; empty clears them."""

    groups: list[Annotated[str, StringConstraints(pattern=GROUP_CODE)]] = Field(
        max_length=10, schema_extra={"examples": [["nguoi_co_cong"]]}
    )


class ExemptGroupsView(SQLModel):
    """A citizen's exempt groups on file, who on the desk recorded them and when (never the papers)."""

    citizen_id: uuid.UUID
    groups: list[str]
    verified_at: datetime | None = None
    verified_by: uuid.UUID | None = None
