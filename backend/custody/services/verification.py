"""Proof that the citizen was there: the citizen's code of the day, the recipient check and uploaded proofs."""

import hashlib
import hmac
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.custody import codeguard
from backend.custody.services.clock import CLIENT_SKEW
from backend.lib.auth import Principal
from backend.lib.problems import Problem
from backend.settings import get_settings
from schemas.accounts import Citizen
from schemas.dossiers import DossierCreate, PickupRecord, ProofFile, RecipientCheck, ResultItem
from schemas.enums import Role
from schemas.vntime import vn_date


def handover_code(citizen_id: uuid.UUID, day: Any) -> str:
    """The citizen's six-digit code for today (shown in their app), confirming a pickup or a delivery without
    sending anything: HMAC of the citizen and the Vietnam date under the server secret."""
    key = get_settings().secret_key.encode()
    digest = hmac.new(key, f"handover:{citizen_id}:{day.isoformat()}".encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 1_000_000:06d}"


def code_matches(citizen_id: uuid.UUID, code: str, at: datetime) -> bool:
    """Whether `code` is the citizen's code on the Vietnam day of `at`, the event's time on the courier's device.

    Near midnight the two phones may disagree on the day: the citizen's app may still show yesterday's code, and
    a device clock up to CLIENT_SKEW behind the server may stamp a pickup before midnight that the citizen's app
    already saw as tomorrow. Both are accepted; nothing older or newer is."""
    if not (code.isascii() and code.isdigit()):
        return False  # compare_digest refuses non-ASCII text; no code has it
    days = {vn_date(at - timedelta(days=1)), vn_date(at), vn_date(at + CLIENT_SKEW)}
    return any(hmac.compare_digest(handover_code(citizen_id, d), code) for d in days)


async def check_confirmation(
    session: AsyncSession, principal: Principal, body: DossierCreate, citizen: Citizen | None, when: datetime
) -> None:
    conf = body.confirmation
    if conf is None or citizen is None:
        raise Problem(
            422,
            "Công dân phải xác nhận bằng mã hoặc chữ ký / the citizen must confirm with a code or a signature",
            code="confirmation_required",
        )
    if conf.method == "code":
        # Counted and limited per citizen and day and per courier and hour, wrong answers logged (issue 17).
        citizen_id, code = citizen.id, conf.code or ""
        await codeguard.check(
            session,
            codeguard.Attempt("pickup", "code", principal, citizen_id, where=body),
            lambda: bool(code) and code_matches(citizen_id, code, when),
        )
    else:
        await require_proof(session, conf.signature_proof_id, "signature", by=principal, single_use=True)


async def check_recipient(
    session: AsyncSession,
    check: RecipientCheck,
    citizen: Citizen | None,
    when: datetime,
    *,
    actor: Principal,
    dossier_id: uuid.UUID | None = None,
    where: Any = None,
) -> None:
    """The result goes only to the citizen or their authorised person (Decision 45/2016/QĐ-TTg). A code or a
    national id is a guessable answer: counted, limited and logged like a pickup's code (``codeguard``)."""
    ok = False
    if check.method in {"code", "national_id"} and citizen is not None:
        citizen_id, given = citizen.id, (check.code if check.method == "code" else check.national_id) or ""
        on_file = citizen.national_id or ""
        if check.method == "code" or on_file:  # no national id on file: nothing to guess, refused below

            def right() -> bool:
                if not given:
                    return False
                if check.method == "code":
                    return code_matches(citizen_id, given, when)
                return hmac.compare_digest(given.encode(), on_file.encode())

            attempt = codeguard.Attempt("delivery", check.method, actor, citizen_id, dossier_id, where)
            await codeguard.check(session, attempt, right)
            return
    elif check.method == "authorisation" and check.name and check.national_id:
        await require_proof(session, check.authorisation_proof_id, "authorisation", "photo")
        ok = True
    if not ok:
        raise Problem(
            422,
            "Không xác minh được người nhận / the recipient could not be verified",
            code="recipient_check_failed",
        )


def owns_proof(by: Principal, proof: ProofFile) -> bool:
    """Whose proof it is: an admin's, the uploader's, and for office staff their office's (a courier's is
    only what they uploaded). Owners may cite it and read it."""
    if by.role == Role.admin or proof.uploaded_by == by.id:
        return True
    return by.role != Role.courier and by.org_id is not None and proof.org_id == by.org_id


def citing_dossiers(proof_id: uuid.UUID) -> Any:
    """The ids of the dossiers whose pickup signature or delivery proof this proof is."""
    return (
        select(PickupRecord.dossier_id)
        .where(PickupRecord.signature_proof_id == proof_id)
        .union(select(ResultItem.dossier_id).where(ResultItem.proof_id == proof_id))
    )


async def require_proof(
    session: AsyncSession,
    proof_id: uuid.UUID | None,
    *kinds: str,
    by: Principal | None = None,
    single_use: bool = False,
) -> ProofFile:
    """An uploaded proof of one of ``kinds``. ``by``: it must come from that person or their office (nobody
    proves a visit with someone else's photo). ``single_use``: a pickup signature or a delivery proof is
    evidence of one visit, so it may not be cited by another dossier (an authorisation letter may be)."""
    proof = await session.get(ProofFile, proof_id) if proof_id else None
    if proof is None or (kinds and proof.kind not in kinds):
        raise Problem(
            422,
            f"Cần ảnh chứng từ đã tải lên ({'/'.join(kinds)}) / an uploaded proof is required",
            code="proof_required",
        )
    if by is not None and not owns_proof(by, proof):
        raise Problem(
            422,
            "Chứng từ do người khác tải lên / The proof was uploaded by someone else",
            code="proof_not_yours",
        )
    if single_use:
        cited = (await session.exec(citing_dossiers(proof.id).limit(1))).first()
        if cited is not None:
            raise Problem(
                422,
                "Chứng từ này đã dùng cho một lần giao nhận khác / The proof already backs another visit",
                code="proof_already_used",
            )
    return proof
