"""Who may receive a result, and the desk's checks of cards at the counter (issue 20).

At a result's handover the courier (at the door, ``EMI``) or the desk clerk (at the counter, ``KQN``) checks
the person in front of them (``services.check_recipient``): the citizen by their handover code or their
national id card, or a person the citizen authorised (``backend/accounts/authorisations.py``) by that person's
card and the photo of the signed letter. What they are shown is only what that check needs (Decree
13/2023/NĐ-CP art. 3), and only while the task lasts:

* a courier, for a dossier they carry out for delivery (``out_for_delivery``);
* a desk clerk, for a dossier whose result waits at their desk (``result_ready``, ``returned_to_desk``);

and even then never a whole national id: they type the number off the card and the server compares it
(constant-time; counted and limited like the handover code, ``codeguard``). The letter's photo is served to
the citizen who registered it, to a courier carrying a dossier it is valid for, and to a desk clerk whose
desk has a task for the citizen (``backend/accounts/citizen_access.py``), who may also verify a citizen's
national id or an authorisation against the card at the counter (who and when recorded, an account event).
Every staff read is written to the personal-data audit.
"""

import uuid
from pathlib import Path

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts import authorisations, citizen_access, identity
from backend.accounts.identity_cccd import mask
from backend.audit.services import Access, record
from backend.custody import codeguard
from backend.custody.services.access import load_dossier
from backend.lib.auth import Principal
from backend.lib.problems import not_found
from schemas.accounts import Citizen
from schemas.base import utcnow
from schemas.dossiers import Dossier, DossierStatus, ProofFile
from schemas.enums import Role
from schemas.identity import (
    AuthorisationOut,
    AuthorisedPerson,
    CitizenIdentityView,
    NationalIdCheck,
    RecipientCitizen,
    Recipients,
)
from schemas.vntime import vn_date

AT_DESK = frozenset({DossierStatus.result_ready.value, DossierStatus.returned_to_desk.value})


def at_handover(principal: Principal, dossier: Dossier) -> bool:
    """Whether the caller is handing this dossier's result over now: its courier out for delivery, or the desk
    where the result waits."""
    if principal.role == Role.courier:
        return (
            dossier.status == DossierStatus.out_for_delivery.value
            and dossier.custodian_user_id == principal.id
        )
    if principal.role == Role.desk and principal.org_id is not None:
        return dossier.status in AT_DESK and principal.org_id in {dossier.desk_id, dossier.custodian_org_id}
    return False


async def recipients(
    session: AsyncSession, principal: Principal, raw_id: str, access: Access | None
) -> Recipients:
    dossier = await load_dossier(session, raw_id)
    if not at_handover(principal, dossier) or dossier.citizen_id is None:
        raise not_found("hồ sơ / dossier", dossier.item_id)
    citizen = await session.get(Citizen, dossier.citizen_id)
    if citizen is None:
        raise not_found("hồ sơ / dossier", dossier.item_id)
    valid = await authorisations.valid_for(session, dossier, vn_date(utcnow()))
    people = await authorisations.outs(session, valid, owner=False)
    shown = RecipientCitizen(
        full_name=citizen.full_name,
        national_id_on_file=citizen.national_id is not None,
        national_id_masked=mask(citizen.national_id),
        national_id_verified=citizen.national_id_verified_at is not None,
    )
    fields = {f for f in ("full_name", "national_id_masked") if getattr(shown, f)}
    if people:
        fields.add("authorised_persons")
    record(session, principal, access, [(citizen.id, fields, dossier.item_id)])
    methods: list[str] = ["code"]
    if citizen.national_id:
        methods.append("national_id")
    if people:
        methods.append("authorisation")
    return Recipients(
        item_id=dossier.item_id,
        citizen=shown,
        authorisations=people,
        methods=methods,  # type: ignore[arg-type]
    )


async def _desk_task(session: AsyncSession, principal: Principal, citizen_id: uuid.UUID) -> bool:
    return principal.role == Role.desk and bool(
        await citizen_access.fields_for(session, principal, citizen_id)
    )


async def _carrying_for(session: AsyncSession, principal: Principal, row: AuthorisedPerson) -> bool:
    """A courier carrying, out for delivery, a dossier of the citizen this authorisation is valid for today."""
    if principal.role != Role.courier:
        return False
    stmt = select(Dossier).where(
        Dossier.citizen_id == row.citizen_id,
        Dossier.custodian_user_id == principal.id,
        Dossier.status == DossierStatus.out_for_delivery.value,
    )
    if row.dossier_id is not None:
        stmt = stmt.where(col(Dossier.id) == row.dossier_id)
    today = vn_date(utcnow())
    if authorisations.state_of(row, today).value != "valid":
        return False
    return (await session.exec(stmt.limit(1))).first() is not None


async def letter(
    session: AsyncSession,
    principal: Principal,
    authorisation_id: uuid.UUID,
    upload_dir: str,
    access: Access | None,
) -> tuple[ProofFile, Path]:
    """The letter's photo for the citizen who registered it, the courier delivering to the person, or a desk
    clerk with a task for the citizen; everyone else the same 404 as an unknown id."""
    row = await authorisations.load(session, authorisation_id)
    allowed = (principal.role == Role.citizen and principal.id == row.citizen_id) or (
        await _desk_task(session, principal, row.citizen_id) or await _carrying_for(session, principal, row)
    )
    if not allowed:
        raise not_found("giấy ủy quyền / authorisation", authorisation_id)
    proof, path = await authorisations.letter_file(session, upload_dir, row)
    record(session, principal, access, [(row.citizen_id, {"authorisation_letter"}, str(row.id)[:64])])
    await session.commit()
    return proof, path


def _mismatch(exc: codeguard.CodeRefused) -> codeguard.CodeRefused:
    """The guard's refusal of a wrong number, as the counter's problem (its pending writes kept)."""
    if exc.status_code != 422:
        return exc
    return codeguard.CodeRefused(
        422,
        "Số trên thẻ không khớp với số đã khai báo / The number on the card does not match the one on file",
        code="national_id_mismatch",
        keys=exc.pending_keys,
        failure=exc.pending_failure,
        alerts=exc.pending_alerts,
    )


async def _compare(
    session: AsyncSession, principal: Principal, method: str, citizen_id: uuid.UUID, typed: str, on_file: str
) -> None:
    attempt = codeguard.Attempt("counter", method, principal, citizen_id)
    try:
        await codeguard.check(session, attempt, lambda: identity.number_matches(typed, on_file))
    except codeguard.CodeRefused as exc:
        raise _mismatch(exc) from None


async def verify_national_id(
    session: AsyncSession,
    principal: Principal,
    citizen_id: uuid.UUID,
    data: NationalIdCheck,
    access: Access | None,
    *,
    client_ip: str | None,
) -> CitizenIdentityView:
    """The desk clerk typed the number off the citizen's card: it must be the one on file (all 12 digits)."""
    if not await _desk_task(session, principal, citizen_id):
        raise not_found("công dân / citizen", citizen_id)
    citizen = await session.get(Citizen, citizen_id, with_for_update=True)
    if citizen is None:
        raise not_found("công dân / citizen", citizen_id)
    on_file = identity.require_number(citizen)
    await _compare(session, principal, "national_id", citizen.id, data.national_id, on_file)
    identity.mark_verified(session, principal, citizen, client_ip)
    record(session, principal, access, [(citizen.id, {"national_id_masked"}, None)])
    await session.commit()
    return identity.staff_view(citizen_id, citizen)


async def verify_authorisation(
    session: AsyncSession,
    principal: Principal,
    authorisation_id: uuid.UUID,
    data: NationalIdCheck,
    access: Access | None,
    *,
    client_ip: str | None,
) -> AuthorisationOut:
    """The desk clerk typed the number off the authorised person's card and looked at the letter."""
    row = await authorisations.load(session, authorisation_id, for_update=True)
    if not await _desk_task(session, principal, row.citizen_id):
        raise not_found("giấy ủy quyền / authorisation", authorisation_id)
    authorisations.ensure_not_revoked(row)
    await _compare(session, principal, "authorisation", row.citizen_id, data.national_id, row.national_id)
    authorisations.mark_verified(session, principal, row, client_ip)
    record(session, principal, access, [(row.citizen_id, {"authorised_persons"}, str(row.id)[:64])])
    await session.commit()
    return (await authorisations.outs(session, [row], owner=False))[0]
