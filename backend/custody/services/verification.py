"""Proof that the citizen was there: the citizen's code of the day, the recipient check and uploaded proofs."""

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts import authorisations
from backend.custody import codeguard
from backend.custody.services.clock import CLIENT_SKEW
from backend.lib.auth import Principal
from backend.lib.problems import Problem
from backend.settings import get_settings
from schemas.accounts import Citizen
from schemas.dossiers import DossierCreate, PickupRecord, ProofFile, RecipientCheck, ResultItem
from schemas.enums import Role
from schemas.identity import AuthorisationState, AuthorisedPerson
from schemas.returns import SupplementIn
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
    session: AsyncSession,
    principal: Principal,
    body: DossierCreate | SupplementIn,
    citizen: Citizen | None,
    when: datetime,
) -> None:
    """The citizen's confirmation of a handover at the door (a pickup, or a supplement collected for a dossier):
    today's handover code, guarded by ``codeguard``, or a signature photo."""
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


@dataclass(frozen=True)
class RecipientPassed:
    """How a recipient check passed, for the delivery event (never the number itself): ``method`` as asked,
    ``matched`` ``code`` | ``full`` | ``last6`` (how much of the card's number was typed), the authorisation
    used and the name of who received."""

    method: str
    matched: str
    authorisation_id: uuid.UUID | None = None
    name: str | None = None

    def event_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"recipient_check": self.method, "recipient_matched": self.matched}
        if self.authorisation_id is not None:
            data["authorisation_id"] = str(self.authorisation_id)
        return data


def _refused(why: str) -> Problem:
    return Problem(
        422,
        f"Không xác minh được người nhận / the recipient could not be verified: {why}",
        code="recipient_check_failed",
    )


async def _authorisation(
    session: AsyncSession,
    check: RecipientCheck,
    citizen: Citizen,
    dossier_id: uuid.UUID | None,
    when: datetime,
) -> AuthorisedPerson:
    """The registered authorisation named by the check, valid on the Vietnam day of ``when`` for this dossier,
    else a refusal (not counted: nothing was guessed)."""
    row = await session.get(AuthorisedPerson, check.authorisation_id) if check.authorisation_id else None
    if row is None or row.citizen_id != citizen.id:
        raise _refused("không có giấy ủy quyền này / no such authorisation of the citizen")
    if authorisations.state_of(row, vn_date(when)) != AuthorisationState.valid:
        raise _refused("giấy ủy quyền không còn hiệu lực / the authorisation is not valid today")
    if row.dossier_id is not None and row.dossier_id != dossier_id:
        raise _refused("giấy ủy quyền dành cho hồ sơ khác / the authorisation is for another dossier")
    return row


async def check_recipient(
    session: AsyncSession,
    check: RecipientCheck,
    citizen: Citizen | None,
    when: datetime,
    *,
    actor: Principal,
    dossier_id: uuid.UUID | None = None,
    where: Any = None,
) -> RecipientPassed:
    """The result goes only to the citizen or their authorised person (Decision 45/2016/QĐ-TTg; Civil Code 2015
    art. 138). Three ways pass:

    * ``code``: the citizen's handover code of the day;
    * ``national_id``: the citizen's national id card, its number typed by the courier or clerk, all 12 digits
      or the last 6 (the card's random part), compared with the number on file;
    * ``authorisation``: ``authorisation_id``, a registration of the citizen's valid today for this dossier, and
      the authorised person's card number (12 digits or the last 6) compared with the registered one.

    Every typed answer is a guess to the guard (``codeguard``): counted per citizen and day and per staff member
    and hour, wrong ones logged, locked when full. A citizen with no number on file cannot pass by id."""
    if citizen is None:
        raise _refused("hồ sơ không có công dân / the dossier has no citizen")
    citizen_id, typed = citizen.id, (check.code if check.method == "code" else check.national_id) or ""
    row: AuthorisedPerson | None = None
    if check.method == "code":
        expected, how = None, "code"
    elif check.method == "national_id":
        if not citizen.national_id:
            raise _refused("công dân chưa khai báo số CCCD / no national id on file")
        expected, how = citizen.national_id, ""
    else:
        row = await _authorisation(session, check, citizen, dossier_id, when)
        expected, how = row.national_id, ""
    outcome: dict[str, str] = {}

    def right() -> bool:
        if not typed:
            return False
        if expected is None:
            return code_matches(citizen_id, typed, when)
        ok, outcome["how"] = authorisations.typed_matches(typed, expected)
        return ok

    attempt = codeguard.Attempt("delivery", check.method, actor, citizen_id, dossier_id, where)
    await codeguard.check(session, attempt, right)
    if row is not None:
        return RecipientPassed("authorisation", outcome["how"], row.id, row.full_name)
    return RecipientPassed(check.method, how or outcome["how"], name=check.name or citizen.full_name)


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
