"""A cancelled visit (issue 21): its due is reversed and what was paid for it is owed back to the citizen.

Called by booking's cancellation in its own transaction (``backend.booking.services.changes.on_cancel``,
wired in backend/app.py). The reversal mirrors the due's lines (key ``due_reversed:{appointment}``); money
received for the visit (door collections, online payments, less earlier refunds) moves from the citizen's
receivable to ``refund:pending:{citizen}``, what the post owes back until it is paid out (key
``refund:{appointment}``). Both are idempotent: a second cancellation changes nothing.
"""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal
from backend.money import accounts, dues
from backend.money.ledger import Line, Posting, find, lines_of, post
from schemas.booking import Appointment
from schemas.money import PaymentMethod, TxnKind


async def on_cancelled(session: AsyncSession, appt: Appointment, principal: Principal, now: datetime) -> None:
    due = await find(session, f"due:{appt.id}")
    office = await dues.office_code(session, appt)
    common = {
        "actor_id": principal.id,
        "actor_role": principal.role.value,
        "place": office,
        "dossier_id": due.dossier_id if due else None,
        "appointment_id": appt.id,
        "payer": str(appt.citizen_id),
        "at": now,
    }
    if due is not None:
        mirrored = tuple(Line(line.account, -line.amount_vnd) for line in await lines_of(session, due.id))
        await post(
            session,
            Posting(
                kind=TxnKind.due_reversed,
                lines=mirrored,
                idempotency_key=f"due_reversed:{appt.id}",
                memo="visit cancelled",
                **common,  # type: ignore[arg-type]
            ),
        )
    _, paid = await dues.receivable_of(session, [appt.id])
    if paid > 0:
        await post(
            session,
            Posting(
                kind=TxnKind.refunded,
                lines=(
                    Line(accounts.receivable(appt.citizen_id), paid),
                    Line(accounts.refund_pending(appt.citizen_id), -paid),
                ),
                idempotency_key=f"refund:{appt.id}",
                method=PaymentMethod.none,
                memo="visit cancelled: paid money owed back",
                **common,  # type: ignore[arg-type]
            ),
        )
