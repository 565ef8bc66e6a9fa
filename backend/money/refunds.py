"""A cancelled visit (issue 21): its due is reversed and what was paid for it is owed back to the citizen.

Called by booking's cancellation in its own transaction (``backend.booking.services.changes.on_cancel``,
wired in backend/app.py). The reversal mirrors the due's lines (key ``due_reversed:{appointment}``); money
received for the visit (door collections, online payments, less earlier refunds) moves from the citizen's
receivable to ``refund:pending:{citizen}``, what the post owes back until it is paid out (key
``refund:{appointment}``). Both are idempotent: a second cancellation changes nothing.

A dossier the desk does not accept (custody's TKN, ``on_refused``) owes back what was paid for its visits the
same way (key ``refund_refused:{dossier}``). Staff pay a pending refund out (``pay_out``): cash at the counter
or a bank transfer, with a receipt (``refunded``: Dr ``refund:pending`` / Cr ``cash:office`` or ``bank``).
"""

import uuid
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal
from backend.lib.problems import Problem
from backend.money import accounts, cashup, collect, dues, receipts
from backend.money.ledger import Line, Posting, find, lines_of, post
from notifications import outbox
from schemas.accounts import Citizen
from schemas.base import utcnow
from schemas.booking import Appointment
from schemas.dossiers import Dossier
from schemas.money import LedgerLine, LedgerTxn, PaymentMethod, TxnKind
from schemas.money_api import RefundPaidOut, RefundPayIn


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


async def on_refused(session: AsyncSession, dossier: Dossier, principal: Principal, now: datetime) -> int:
    """A dossier the desk did not accept (custody's TKN, in its event's transaction): the procedure was not
    carried out, so its fee and lệ phí are not owed (Law 97/2015/QH13 on Fees and Charges, art. 3: they are the
    price of a service the State performs); the postal charge stays, the post carried the papers. The agency's
    share of its pickup visit's due is reversed (key ``due_refused:{dossier}``) and what was paid beyond what
    is still due is owed back (``refund:pending``, key ``refund_refused:{dossier}``). Returns that amount."""
    appt = await session.get(Appointment, dossier.appointment_id) if dossier.appointment_id else None
    if appt is None:
        return 0
    due = await find(session, f"due:{appt.id}")
    if due is None or await find(session, f"due_reversed:{appt.id}") is not None:
        return 0
    agency = [x for x in await lines_of(session, due.id) if x.account.startswith("payable:agency:")]
    office = await dues.office_code(session, appt)
    common = {
        "actor_id": principal.id,
        "actor_role": principal.role.value,
        "place": office,
        "dossier_id": dossier.id,
        "appointment_id": appt.id,
        "payer": str(appt.citizen_id),
        "at": now,
    }
    share = -sum(x.amount_vnd for x in agency)
    if share > 0:
        lines = tuple(Line(x.account, -x.amount_vnd) for x in agency)
        await post(
            session,
            Posting(
                kind=TxnKind.due_reversed,
                lines=(*lines, Line(accounts.receivable(appt.citizen_id), -share)),
                idempotency_key=f"due_refused:{dossier.id}",
                memo="dossier not accepted: fee and charge not owed",
                **common,  # type: ignore[arg-type]
            ),
        )
    owed, paid = await dues.receivable_of(session, [appt.id])
    back = paid - owed
    if back > 0:
        await post(
            session,
            Posting(
                kind=TxnKind.refunded,
                lines=(
                    Line(accounts.receivable(appt.citizen_id), back),
                    Line(accounts.refund_pending(appt.citizen_id), -back),
                ),
                idempotency_key=f"refund_refused:{dossier.id}",
                method=PaymentMethod.none,
                memo="dossier not accepted: paid fees owed back",
                **common,  # type: ignore[arg-type]
            ),
        )
    return max(back, 0)


# --- refunds paid out (issue 21) -------------------------------------------------------------------------

PAYOUT_METHODS = {PaymentMethod.cash_counter.value, PaymentMethod.bank_transfer.value}


async def pending_at(session: AsyncSession, citizen_id: uuid.UUID, office: str) -> int:
    """What the post owes the citizen back through this office: the credits its refunds (cancellations, refused
    dossiers) put on ``refund:pending:{citizen}`` there, less what it paid out there. An office sees only its
    own (least personal data: nothing of the citizen's money elsewhere)."""
    stmt = (
        select(func.coalesce(func.sum(LedgerLine.amount_vnd), 0))
        .join(LedgerTxn, col(LedgerTxn.id) == col(LedgerLine.txn_id))
        .where(LedgerLine.account == accounts.refund_pending(citizen_id), LedgerTxn.place == office)
    )
    return -int((await session.exec(stmt)).one())


async def pay_out(
    session: AsyncSession, principal: Principal, code: str, data: RefundPayIn, *, now: datetime | None = None
) -> RefundPaidOut:
    """Record a refund paid by the office's staff, in the caller's transaction (never commits): ``refunded``
    Dr ``refund:pending:{citizen}`` / Cr ``cash:office:{code}`` (cash at the counter) or ``bank:{code}`` (a
    transfer), with a receipt number and the citizen's notice. Idempotent by ``client_event_id``; more than
    is owed back here is 422 ``more_than_refund_pending``; the ledger is unchanged by any refusal."""
    now = now or utcnow()
    office = (await cashup.office_for(session, principal, code)).code
    key = f"refund_paid:{principal.id}:{data.client_event_id}"[:120]
    earlier = await find(session, key)
    if earlier is not None:
        if earlier.payer != str(data.citizen_id) or earlier.method != data.method:
            raise Problem(409, "Mã sự kiện đã dùng / client_event_id reused", code="ledger_key_reused")
        amount = sum(x.amount_vnd for x in await lines_of(session, earlier.id) if x.amount_vnd > 0)
        left = await pending_at(session, data.citizen_id, office)
        return _paid(data, office, earlier.receipt_no, amount, left, duplicate=True)
    amount = collect.check_amount(data.amount_vnd)
    if data.method not in PAYOUT_METHODS:
        raise Problem(
            422,
            "Hình thức: cash_counter hoặc bank_transfer / method: cash_counter or bank_transfer",
            code="bad_method",
        )
    await session.exec(
        select(Citizen).where(Citizen.id == data.citizen_id).with_for_update()
    )  # refunds queue
    pending = await pending_at(session, data.citizen_id, office)
    if amount > pending:
        raise Problem(
            422,
            f"Chỉ còn {pending:,} đồng chờ hoàn / {pending:,} VND is owed back",
            code="more_than_refund_pending",
            extra={"pending_vnd": pending},
        )
    credit = (
        accounts.office_cash(office) if data.method == PaymentMethod.cash_counter else accounts.bank(office)
    )
    receipt_no = await receipts.allocate(session, office, now)
    await post(
        session,
        Posting(
            kind=TxnKind.refunded,
            lines=(Line(accounts.refund_pending(data.citizen_id), amount), Line(credit, -amount)),
            idempotency_key=key,
            actor_id=principal.id,
            actor_role=principal.role.value,
            place=office,
            payer=str(data.citizen_id),
            method=PaymentMethod(data.method),
            receipt_no=receipt_no,
            memo=(data.note or "refund paid")[:200],
            at=now,
        ),
    )
    outbox.enqueue(
        session,
        recipient_kind="citizen",
        recipient_id=data.citizen_id,
        template="money.refund_paid",
        params={"receipt_no": receipt_no, "amount": f"{amount:,}".replace(",", ".")},
        dedupe_key=f"receipt:{receipt_no}",
    )
    return _paid(data, office, receipt_no, amount, pending - amount, duplicate=False)


def _paid(
    data: RefundPayIn, office: str, receipt_no: str | None, amount: int, left: int, *, duplicate: bool
) -> RefundPaidOut:
    return RefundPaidOut(
        client_event_id=data.client_event_id,
        duplicate=duplicate,
        office=office,
        citizen_id=data.citizen_id,
        amount_vnd=amount,
        method=data.method,
        receipt_no=receipt_no,
        pending_after_vnd=left,
    )
