"""Authorised persons (người được ủy quyền): whom a citizen lets hand over or receive papers for them.

Civil Code 2015 art. 138-140: a person may act for another by authorisation, within its scope and term; the
result of a procedure goes to the citizen or their authorised person (Decision 45/2016/QĐ-TTg). Here a citizen registers the person (name, national id checked like
their own, relationship), the term (Vietnam dates, inclusive, at most five years), optionally the one dossier it
covers, and a photo of the signed letter (PNG, JPEG or WebP by content, at most 5 MB; stored as a
``proof_file`` of kind ``authorisation``, uploaded by the citizen). A registration is never deleted, only
revoked. Each change is an ``account_event`` of the citizen (code, the authorisation's id, never the number).

Who sees what (Decree 13/2023/NĐ-CP art. 3): the citizen sees their own in full; a desk clerk or a courier at
the handover of a result (``backend/custody/recipients.py``) sees the name, relationship, term and the letter's
photo, the number only masked: they type the number off the person's card and the server compares.
"""

import asyncio
import hmac
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path, PurePath

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts import events
from backend.accounts.identity_cccd import CccdError, mask, parse, tail
from backend.lib import images
from backend.lib.auth import Principal
from backend.lib.problems import Problem, not_found
from schemas import s10
from schemas.base import utcnow
from schemas.dossiers import Dossier, ProofFile
from schemas.enums import Role
from schemas.identity import AuthorisationOut, AuthorisationState, AuthorisedPerson, Relationship
from schemas.vntime import vn_date

ADDED = "authorisation_added"
REVOKED = "authorisation_revoked"
VERIFIED = "authorisation_verified"
MAX_TERM = timedelta(days=5 * 366)
LETTER_KIND = "authorisation"
API = "/api/v1"


@dataclass(frozen=True)
class NewAuthorisation:
    full_name: str
    national_id: str
    relationship: Relationship
    valid_from: date
    valid_until: date
    dossier: str | None = None


def invalid_number(exc: CccdError) -> Problem:
    return Problem(422, str(exc), code="invalid_national_id", extra={"reason": exc.reason})


def checked_number(raw: str) -> str:
    """The 12 digits of a CCCD number as typed, checked (Circular 59/2021/TT-BCA art. 7), or a 422."""
    try:
        return parse(raw, vn_date(utcnow())).number
    except CccdError as exc:
        raise invalid_number(exc) from None


def typed_matches(typed: str, on_file: str) -> tuple[bool, str]:
    """Whether a number typed off a card matches ``on_file``: all 12 digits, or the last 6 (the random part,
    what a courier may type at the door); constant-time. Returns (matched, how: ``full`` | ``last6``)."""
    digits = "".join(ch for ch in typed if ch not in " .-")
    if not (digits.isascii() and digits.isdigit()) or len(on_file) != 12:
        return False, "invalid"
    if len(digits) == 12:
        return hmac.compare_digest(digits.encode(), on_file.encode()), "full"
    if len(digits) == 6:
        return hmac.compare_digest(digits.encode(), tail(on_file).encode()), "last6"
    return False, "invalid"


def state_of(row: AuthorisedPerson, today: date) -> AuthorisationState:
    if row.revoked_at is not None:
        return AuthorisationState.revoked
    if today < row.valid_from:
        return AuthorisationState.not_yet_valid
    if today > row.valid_until:
        return AuthorisationState.expired
    return AuthorisationState.valid


def out(
    row: AuthorisedPerson, *, owner: bool, dossier_item: str | None, today: date | None = None
) -> AuthorisationOut:
    """The answer: the whole number only for its ``owner`` (the citizen who registered it)."""
    return AuthorisationOut(
        id=row.id,
        full_name=row.full_name,
        national_id=row.national_id if owner else None,
        national_id_masked=mask(row.national_id) or "",
        relationship=Relationship(row.relationship),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        dossier=dossier_item,
        state=state_of(row, today or vn_date(utcnow())),
        verified_at=row.verified_at,
        revoked_at=row.revoked_at,
        created_at=row.created_at,
        letter=f"{API}/authorisations/{row.id}/letter",
    )


async def _dossier_items(session: AsyncSession, rows: list[AuthorisedPerson]) -> dict[uuid.UUID, str]:
    ids = {r.dossier_id for r in rows if r.dossier_id}
    if not ids:
        return {}
    found = await session.exec(select(Dossier.id, Dossier.item_id).where(col(Dossier.id).in_(ids)))
    return {i: item for i, item in found.all()}


async def outs(session: AsyncSession, rows: list[AuthorisedPerson], *, owner: bool) -> list[AuthorisationOut]:
    items = await _dossier_items(session, rows)
    today = vn_date(utcnow())
    return [
        out(r, owner=owner, dossier_item=items.get(r.dossier_id) if r.dossier_id else None, today=today)
        for r in rows
    ]


def _check_term(valid_from: date, valid_until: date) -> None:
    today = vn_date(utcnow())
    if valid_until < valid_from or valid_until < today or valid_until - valid_from > MAX_TERM:
        raise Problem(
            422,
            "Thời hạn ủy quyền không hợp lệ / Invalid validity: ends before it starts, is over, or exceeds 5 years",
            code="invalid_validity",
        )


async def _own_dossier(session: AsyncSession, citizen_id: uuid.UUID, raw: str | None) -> uuid.UUID | None:
    """The citizen's dossier the authorisation is for; another's or an unknown one is the same 404."""
    if not raw:
        return None
    try:
        item_id = s10.parse(raw).item_id
    except s10.S10Error as exc:
        raise Problem(422, str(exc), code="invalid_item_id") from None
    dossier = (await session.exec(select(Dossier).where(Dossier.item_id == item_id))).one_or_none()
    if dossier is None or dossier.citizen_id != citizen_id:
        raise not_found("hồ sơ / dossier", item_id)
    return dossier.id


async def register(
    session: AsyncSession,
    principal: Principal,
    data: NewAuthorisation,
    letter: bytes,
    upload_dir: str,
    *,
    client_ip: str | None,
) -> AuthorisationOut:
    """Check everything first (number, term, dossier, image), then write the file, the letter's proof row,
    the authorisation and its event in one transaction."""
    if not principal.is_citizen:
        raise Problem(403, "Chỉ công dân ủy quyền / Only citizens authorise", code="forbidden")
    number = checked_number(data.national_id)
    _check_term(data.valid_from, data.valid_until)
    dossier_id = await _own_dossier(session, principal.id, data.dossier)
    content_type, ext = images.checked(letter)
    proof_id = uuid.uuid4()
    stored = await asyncio.to_thread(images.write, upload_dir, proof_id, letter, content_type, ext, utcnow())
    session.add(
        ProofFile(
            id=proof_id,
            kind=LETTER_KIND,
            content_type=stored.content_type,
            size=stored.size,
            sha256=stored.sha256,
            path=stored.path,
            uploaded_by=principal.id,
        )
    )
    await session.flush()  # the letter's row before the row that cites it (PostgreSQL checks the key at once)
    row = AuthorisedPerson(
        citizen_id=principal.id,
        full_name=data.full_name.strip(),
        national_id=number,
        relationship=data.relationship.value,
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        dossier_id=dossier_id,
        letter_proof_id=proof_id,
    )
    session.add(row)
    _event(session, principal, row, ADDED, client_ip, dossier=data.dossier is not None)
    await session.commit()
    return out(row, owner=True, dossier_item=s10.parse(data.dossier).item_id if data.dossier else None)


def _event(
    session: AsyncSession,
    actor: Principal,
    row: AuthorisedPerson,
    code: str,
    client_ip: str | None,
    **data: object,
) -> None:
    events.record_account_event(
        session,
        account_id=row.citizen_id,
        account_role=Role.citizen,
        code=code,
        actor=actor,
        client_ip=client_ip,
        data={"authorisation_id": str(row.id), **data},
    )


async def mine(session: AsyncSession, principal: Principal) -> list[AuthorisationOut]:
    rows = (
        await session.exec(
            select(AuthorisedPerson)
            .where(AuthorisedPerson.citizen_id == principal.id)
            .order_by(col(AuthorisedPerson.created_at).desc(), col(AuthorisedPerson.id))
        )
    ).all()
    return await outs(session, list(rows), owner=True)


async def load(
    session: AsyncSession, authorisation_id: uuid.UUID, *, for_update: bool = False
) -> AuthorisedPerson:
    stmt = select(AuthorisedPerson).where(AuthorisedPerson.id == authorisation_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = (await session.exec(stmt)).one_or_none()
    if row is None:
        raise not_found("giấy ủy quyền / authorisation", authorisation_id)
    return row


async def revoke(
    session: AsyncSession, principal: Principal, authorisation_id: uuid.UUID, *, client_ip: str | None
) -> AuthorisationOut:
    """The citizen ends an authorisation (another's is the same 404 as an unknown one). Revoking twice
    answers the revoked authorisation and writes nothing more."""
    row = await load(session, authorisation_id, for_update=True)
    if row.citizen_id != principal.id:
        raise not_found("giấy ủy quyền / authorisation", authorisation_id)
    if row.revoked_at is None:
        row.revoked_at, row.revoked_by = utcnow(), principal.id
        _event(session, principal, row, REVOKED, client_ip)
        await session.commit()
    items = await _dossier_items(session, [row])
    return out(row, owner=True, dossier_item=items.get(row.dossier_id) if row.dossier_id else None)


def ensure_not_revoked(row: AuthorisedPerson) -> None:
    if row.revoked_at is not None:
        raise Problem(
            409, "Giấy ủy quyền đã bị thu hồi / The authorisation was revoked", code="authorisation_revoked"
        )


def mark_verified(
    session: AsyncSession, actor: Principal, row: AuthorisedPerson, client_ip: str | None
) -> None:
    """A desk clerk checked the person's card against the registration (the caller compared the number)."""
    ensure_not_revoked(row)
    row.verified_at, row.verified_by = utcnow(), actor.id
    _event(session, actor, row, VERIFIED, client_ip)


async def valid_for(session: AsyncSession, dossier: Dossier, today: date) -> list[AuthorisedPerson]:
    """The authorisations of the dossier's citizen valid ``today`` for this dossier (or for any)."""
    if dossier.citizen_id is None:
        return []
    rows = await session.exec(
        select(AuthorisedPerson)
        .where(
            AuthorisedPerson.citizen_id == dossier.citizen_id,
            col(AuthorisedPerson.revoked_at).is_(None),
            col(AuthorisedPerson.valid_from) <= today,
            col(AuthorisedPerson.valid_until) >= today,
        )
        .order_by(col(AuthorisedPerson.created_at).desc(), col(AuthorisedPerson.id))
    )
    return [r for r in rows.all() if r.dossier_id in (None, dossier.id)]


async def letter_file(
    session: AsyncSession, upload_dir: str, row: AuthorisedPerson
) -> tuple[ProofFile, Path]:
    """The letter's proof row and its file (410 when the file is gone from storage)."""
    proof = await session.get(ProofFile, row.letter_proof_id)
    rel = PurePath(proof.path) if proof else None
    path = Path(upload_dir) / rel if rel else None
    if (
        proof is None
        or rel is None
        or path is None
        or rel.is_absolute()
        or ".." in rel.parts
        or not await asyncio.to_thread(path.is_file)
    ):
        raise Problem(410, "Tệp chứng từ không còn / The proof file is gone", code="proof_file_gone")
    return proof, path
