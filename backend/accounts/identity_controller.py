"""HTTP for a citizen's own identity: profile (name, language, national id) and authorised persons.

Its own module beside ``controllers.py`` (scripts/check_sizes.py); mounted from ``backend/app.py``'s ROUTES.
The rules are ``identity.py`` and ``authorisations.py``; the staff's side (the desk's check at the counter,
a courier's at a delivery, the letter's photo) is ``backend/custody/recipients.py``.
"""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from litestar import Request, get, patch, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, MultipartBody
from pydantic import BaseModel, ValidationError
from pydantic import Field as PField
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts import authorisations, events, identity
from backend.lib.auth import Principal, provide_principal, requires
from backend.lib.images import MAX_BYTES
from backend.lib.openapi import CITIZEN_APP, problems
from backend.lib.problems import Problem
from schemas.enums import Role
from schemas.identity import (
    AuthorisationList,
    AuthorisationOut,
    CitizenProfile,
    CitizenProfileUpdate,
    Relationship,
)

DEPS = {"principal": Provide(provide_principal)}
CITIZENS = [requires(Role.citizen)]


@dataclass
class AuthorisationForm:
    """The multipart form registering an authorised person: the fields, and ``letter``, the photo of the signed
    authorisation (checked in the handler so a missing one is a clear 422)."""

    full_name: str = ""
    national_id: str = ""
    relationship: str = ""
    valid_from: str = ""
    valid_until: str = ""
    dossier: str | None = None
    letter: UploadFile | None = None


class _Fields(BaseModel):
    full_name: str = PField(min_length=1, max_length=120)
    national_id: str = PField(min_length=1, max_length=20)
    relationship: Relationship
    valid_from: date
    valid_until: date
    dossier: str | None = PField(default=None, max_length=20)


def _fields(form: AuthorisationForm) -> authorisations.NewAuthorisation:
    raw = {
        "full_name": form.full_name.strip(),
        "national_id": form.national_id,
        "relationship": form.relationship,
        "valid_from": form.valid_from,
        "valid_until": form.valid_until,
        "dossier": form.dossier or None,
    }
    try:
        f = _Fields.model_validate(raw)
    except ValidationError as exc:
        errors = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        raise Problem(
            400, "Biểu mẫu không hợp lệ / The form is invalid", code="validation", extra={"errors": errors}
        ) from None
    return authorisations.NewAuthorisation(**f.model_dump())


@get(
    "/citizens/me",
    guards=CITIZENS,
    tags=[CITIZEN_APP],
    dependencies=DEPS,
    summary="Get my profile",
    description="Citizens only: their own name, phone, preferred language and national id (CCCD) in full, with "
    "when a desk clerk verified the number against the card at a counter. Read-only.",
)
async def get_my_profile(
    db_session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
) -> CitizenProfile:
    return await identity.profile(db_session, principal)


@patch(
    "/citizens/me",
    guards=CITIZENS,
    tags=[CITIZEN_APP],
    dependencies=DEPS,
    summary="Change my profile",
    description="Citizens only. Changes the fields the body names; absent fields stay, `null` clears a name or "
    "a national id. A national id is 12 digits checked against its structure (Circular 59/2021/TT-BCA art. 7: "
    "a real province code of birth registration, a century/sex digit and year of birth not in the future; "
    "else 422 `invalid_national_id` with `reason` `length`, `province` or `birth_year`). A new number is "
    "unverified until a desk clerk checks the card. Recorded as an account event naming the fields.",
    responses=problems(422),
)
async def change_my_profile(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    data: JSONBody[CitizenProfileUpdate],
) -> CitizenProfile:
    return await identity.update_profile(db_session, principal, data, client_ip=events.client_ip_of(request))


@get(
    "/citizens/me/authorisations",
    guards=CITIZENS,
    tags=[CITIZEN_APP],
    dependencies=DEPS,
    summary="List my authorised persons",
    description="Citizens only, their own: every person they authorised to hand over or receive papers for "
    "them (giấy ủy quyền), newest first, with its state today (`valid`, `not_yet_valid`, `expired`, "
    "`revoked`) and whether a desk clerk verified it. Read-only.",
)
async def list_my_authorisations(
    db_session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
) -> AuthorisationList:
    return AuthorisationList(items=await authorisations.mine(db_session, principal))


@post(
    "/citizens/me/authorisations",
    status_code=201,
    guards=CITIZENS,
    tags=[CITIZEN_APP],
    dependencies=DEPS,
    request_max_body_size=MAX_BYTES + 64 * 1024,
    summary="Authorise a person",
    description="Citizens only. Multipart: `full_name`, `national_id` (the person's CCCD, checked as one's "
    "own: 422 `invalid_national_id`), `relationship` (spouse, parent, child, sibling, relative, neighbour, "
    "other), `valid_from` and `valid_until` (Vietnam dates, inclusive; ending before it starts, already over "
    "or longer than 5 years: 422 `invalid_validity`), optionally `dossier` (one of one's own dossiers' ids: "
    "only for it), and `letter`, the photo of the signed authorisation (PNG, JPEG or WebP by content, at most "
    "5 MB; missing: 422 `file_required`, wrong type 415, too large 413). A courier or desk clerk handing over "
    "a result sees the name, relationship, term and the letter, never the whole number. Not idempotent; "
    "recorded as an account event.",
    responses=problems(404, 413, 415, 422),
)
async def authorise_person(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    data: MultipartBody[AuthorisationForm],
) -> AuthorisationOut:
    if not isinstance(data.letter, UploadFile):
        raise Problem(422, "Thiếu ảnh giấy ủy quyền 'letter' / missing 'letter' part", code="file_required")
    fields = _fields(data)
    content = await data.letter.read(MAX_BYTES + 1)
    return await authorisations.register(
        db_session,
        principal,
        fields,
        content,
        request.app.state.settings.upload_dir,
        client_ip=events.client_ip_of(request),
    )


@post(
    "/authorisations/{authorisation_id:uuid}/revoke",
    status_code=200,
    guards=CITIZENS,
    tags=[CITIZEN_APP],
    dependencies=DEPS,
    summary="Revoke an authorisation",
    description="Citizens only, their own (another's is 404). From now on the person cannot receive or hand "
    "over for the citizen; the registration stays, revoked. Idempotent; recorded as an account event.",
    responses=problems(404),
)
async def revoke_authorisation(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    authorisation_id: FromPath[uuid.UUID],
) -> AuthorisationOut:
    return await authorisations.revoke(
        db_session, principal, authorisation_id, client_ip=events.client_ip_of(request)
    )


ROUTES: list[Any] = [
    get_my_profile,
    change_my_profile,
    list_my_authorisations,
    authorise_person,
    revoke_authorisation,
]
