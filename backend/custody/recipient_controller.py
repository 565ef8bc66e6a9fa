"""HTTP for the handover of a result to its recipient and the desk's checks of cards at the counter.

Its own module beside ``controllers.py`` (scripts/check_sizes.py); mounted from ``backend/app.py``'s ROUTES.
The rules are ``backend/custody/recipients.py``.
"""

import uuid
from typing import Any

from litestar import Request, get, post, put
from litestar.datastructures import ETag
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.response import File
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts import events
from backend.audit.services import access_of
from backend.custody import codeguard, exempt_groups, recipients
from backend.lib.auth import Principal, provide_principal, requires
from backend.lib.openapi import CONSOLE, COURIER_APP, problems
from schemas.enums import Role
from schemas.identity import (
    AuthorisationOut,
    CitizenIdentityView,
    ExemptGroupsSet,
    ExemptGroupsView,
    NationalIdCheck,
    Recipients,
)

DEPS = {"principal": Provide(provide_principal)}
AUDITED = (
    "Staff may say why in `X-Purpose` (percent-encoded) or `?purpose=`; the read is written to the "
    "personal-data audit (Decree 13/2023/NĐ-CP)."
)


@get(
    "/dossiers/{item_id:str}/recipients",
    guards=[requires(Role.courier, Role.desk)],
    tags=[COURIER_APP],
    dependencies=DEPS,
    summary="Who may receive this result",
    description="While handing a result over: the courier carrying the dossier out for delivery, or a desk clerk "
    "of the desk where the result waits (`result_ready`, `returned_to_desk`); anyone else, or at another "
    "time, 404. The citizen's name and whether a national id is on file (masked, `0**********5`) and "
    "verified, the authorisations valid today for this dossier (name, relationship, term, masked number, the "
    "letter's photo at `letter`), and the recipient check `methods` that can pass: `code` (the citizen's "
    "handover code), `national_id` (the citizen's card: type all 12 digits or the last 6), `authorisation` "
    f"(`authorisation_id` and the person's card number, 12 digits or the last 6). A malformed id is 422 "
    f"`invalid_item_id`. {AUDITED}",
    responses=problems(404, 422),
)
async def list_recipients(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    item_id: FromPath[str],
) -> Recipients:
    answer = await recipients.recipients(db_session, principal, item_id, access_of(request))
    await db_session.commit()
    return answer


@get(
    "/authorisations/{authorisation_id:uuid}/letter",
    guards=[requires(Role.citizen, Role.courier, Role.desk)],
    tags=[COURIER_APP],
    dependencies=DEPS,
    media_type="image/*",
    summary="Get the photo of an authorisation letter",
    description="The photo of the signed authorisation, as uploaded (PNG, JPEG or WebP; `Content-Type` says "
    "which), for the citizen who registered it, a courier carrying out for delivery a dossier it is valid for "
    "today, and a desk clerk whose desk has a task for the citizen; others 404, a file gone from storage 410. "
    f"`Cache-Control: private, no-store`. {AUDITED}",
    responses=problems(404, 410),
)
async def get_authorisation_letter(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    authorisation_id: FromPath[uuid.UUID],
) -> File:
    proof, path = await recipients.letter(
        db_session, principal, authorisation_id, request.app.state.settings.upload_dir, access_of(request)
    )
    return File(
        path=path,
        media_type=proof.content_type,
        content_disposition_type="inline",
        filename=f"authorisation-{authorisation_id.hex}{path.suffix}",
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
        etag=ETag(value=proof.sha256),
    )


@post(
    "/citizens/{citizen_id:uuid}/national-id/verify",
    status_code=200,
    guards=[requires(Role.desk)],
    tags=[CONSOLE],
    dependencies=DEPS,
    summary="Verify a citizen's national id at the counter",
    description="Desk clerks whose desk has a task for the citizen (an open dossier there, or an appointment "
    "they booked; else 404). The clerk types the number off the card (`national_id`, all 12 digits); it "
    "must be the one on file (none: 422 `national_id_missing`; another: 422 `national_id_mismatch`, counted "
    "with the citizen's daily limit of wrong answers, 429 when locked). Records who verified it and when, as "
    f"an account event; answers the number masked. {AUDITED}",
    responses=problems(404, 422, 429),
)
async def verify_national_id(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    citizen_id: FromPath[uuid.UUID],
    data: JSONBody[NationalIdCheck],
) -> CitizenIdentityView:
    async with codeguard.guarded(db_session):  # a wrong number counts though it is refused
        return await recipients.verify_national_id(
            db_session,
            principal,
            citizen_id,
            data,
            access_of(request),
            client_ip=events.client_ip_of(request),
        )


@post(
    "/authorisations/{authorisation_id:uuid}/verify",
    status_code=200,
    guards=[requires(Role.desk)],
    tags=[CONSOLE],
    dependencies=DEPS,
    summary="Verify an authorisation at the counter",
    description="Desk clerks whose desk has a task for the citizen who gave it (else 404). The clerk compares "
    "the letter (`GET /authorisations/{id}/letter`) with the original and types the number off the "
    "authorised person's card (`national_id`, all 12 digits): another number is 422 `national_id_mismatch` "
    "(counted like a wrong handover code, 429 when locked); a revoked authorisation 409. Records who "
    f"verified it and when, as an account event of the citizen. {AUDITED}",
    responses=problems(404, 409, 422, 429),
)
async def verify_authorisation(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    authorisation_id: FromPath[uuid.UUID],
    data: JSONBody[NationalIdCheck],
) -> AuthorisationOut:
    async with codeguard.guarded(db_session):
        return await recipients.verify_authorisation(
            db_session,
            principal,
            authorisation_id,
            data,
            access_of(request),
            client_ip=events.client_ip_of(request),
        )


@put(
    "/citizens/{citizen_id:uuid}/exempt-groups",
    guards=[requires(Role.desk, Role.admin)],
    tags=[CONSOLE],
    dependencies=DEPS,
    summary="Record a citizen's exempt groups",
    description="Desk clerks whose desk has a task for the citizen (an open dossier there, or an appointment "
    "they booked; else 404), and admins. After checking the papers at the counter the clerk records the "
    "citizen's exempt groups: the codes of the price exemptions by citizen group (`citizen_group` of "
    "`POST /prices/exemptions`; Circular 85/2019/TT-BTC art. 5), at most 10, each `^[a-z0-9_]{1,40}$` (else "
    "400 `validation`). They replace the groups on file (an empty list clears them); only the codes are "
    "stored, with who and when, never the papers. Later bookings of the citizen are quoted with the "
    "exemptions of those groups. Idempotent; recorded as an account event.",
    responses=problems(400, 404),
)
async def set_exempt_groups(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    citizen_id: FromPath[uuid.UUID],
    data: JSONBody[ExemptGroupsSet],
) -> ExemptGroupsView:
    return await exempt_groups.set_groups(
        db_session, principal, citizen_id, data, client_ip=events.client_ip_of(request)
    )


ROUTES: list[Any] = [
    list_recipients,
    get_authorisation_letter,
    verify_national_id,
    verify_authorisation,
    set_exempt_groups,
]
