"""The exemption a visit's quote applied (backend/catalogue/tariff_pricing.py), posted as ``exempted``.

The due is the gross quote (postal charge + fee + lệ phí); an exemption in force when the booking was quoted
takes its amount off the citizen's receivable: Dr ``exempt:{code}`` / Cr ``receivable:citizen:{id}``, once per
visit (key ``exempt:{appointment id}``), with the exemption's legal basis in the memo. Posted with the due
(``dues.post_due``), so every path that makes a visit's money real sees the same net amount.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.money import accounts
from backend.money.ledger import Line, Posting, post
from schemas.booking import Appointment
from schemas.money import LedgerTxn, PaymentMethod, TxnKind


def applied(appt: Appointment) -> dict[str, Any] | None:
    """The exemption the stored quote applied, if any and if well formed."""
    found = (appt.fees or {}).get("exemption")
    if not isinstance(found, dict):
        return None
    amount, code = found.get("amount_vnd"), found.get("code")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0 or not isinstance(code, str):
        return None
    return found


def posting(
    appt: Appointment,
    *,
    actor_id: uuid.UUID | None,
    actor_role: str,
    place: str | None,
    dossier_id: uuid.UUID | None = None,
    at: datetime | None = None,
) -> Posting | None:
    """The exemption the visit's quote applied as a posting (key ``exempt:{appointment id}``), or None."""
    found = applied(appt)
    if found is None:
        return None
    amount = int(found["amount_vnd"])
    basis = str(found.get("legal_basis") or "")
    return Posting(
        kind=TxnKind.exempted,
        lines=(
            Line(accounts.exempt(found["code"]), amount),
            Line(accounts.receivable(appt.citizen_id), -amount),
        ),
        idempotency_key=f"exempt:{appt.id}",
        actor_id=actor_id,
        actor_role=actor_role,
        place=place,
        dossier_id=dossier_id,
        appointment_id=appt.id,
        payer=str(appt.citizen_id),
        method=PaymentMethod.none,
        memo=f"{found['code']}: {basis}"[:200],
        at=at,
    )


async def post_exemption(
    session: AsyncSession,
    appt: Appointment,
    *,
    actor_id: uuid.UUID | None,
    actor_role: str,
    place: str | None,
    dossier_id: uuid.UUID | None = None,
    at: datetime | None = None,
) -> LedgerTxn | None:
    found = posting(appt, actor_id=actor_id, actor_role=actor_role, place=place, dossier_id=dossier_id, at=at)
    return await post(session, found) if found is not None else None
