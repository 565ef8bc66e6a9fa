"""Money taken at the door (issue 21): a courier collects at a pickup (fee + lệ phí + postal charge) or at a
result delivery (collect-on-delivery of what is still due), by cash or bank transfer, and gets a receipt
number; the citizen gets the receipt in the inbox (push).

One path for the online API (``POST /collections``) and the offline batch (``/events/batch``'s
``collections``): the idempotency key is ``collect:{courier}:{client_event_id}``, so a replay answers the
first collection and writes nothing. Checks, in order (each refusal a 4xx problem, the ledger unchanged):
the amount (1 … 1,000,000,000 VND), the method, the appointment (exists; on this courier's published route:
else 403 ``not_on_route``; not cancelled or missed: 409 ``appointment_cancelled``), then, with the visits'
rows locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite has a single writer), the amount against what is
still due (422 ``more_than_due``). Two collections racing for the same due are thereby serialised: the second
sees the first's payment.
"""

import uuid
from datetime import datetime

from sqlalchemy import exists
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal
from backend.lib.problems import Problem, not_found
from backend.money import accounts, dues, receipts
from backend.money.ledger import Line, Posting, find, post
from notifications import outbox
from schemas.base import utcnow
from schemas.booking import Appointment, AppointmentStatus
from schemas.money import MAX_AMOUNT_VND, LedgerTxn, PaymentMethod, TxnKind
from schemas.money_api import CollectIn, CollectionOut
from schemas.planning import Plan, PlanRoute, PlanStatus, PlanStop

DOOR_METHODS = {PaymentMethod.cash_door.value, PaymentMethod.bank_transfer.value}
REFUSED = {AppointmentStatus.cancelled.value, AppointmentStatus.no_show.value}


def check_amount(amount: object) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= MAX_AMOUNT_VND:
        raise Problem(
            422,
            f"Số tiền phải từ 1 đến {MAX_AMOUNT_VND:,} đồng / the amount must be 1 to {MAX_AMOUNT_VND:,} VND",
            code="amount_out_of_range",
        )
    return amount


async def on_route(session: AsyncSession, courier_id: uuid.UUID, appointment_id: uuid.UUID) -> bool:
    """True when the visit is a stop of this courier's route on a published plan."""
    stmt = select(
        exists()
        .where(col(PlanStop.appointment_id) == appointment_id)
        .where(col(PlanRoute.id) == col(PlanStop.route_id))
        .where(col(PlanRoute.courier_id) == courier_id)
        .where(col(Plan.id) == col(PlanRoute.plan_id))
        .where(col(Plan.status) == PlanStatus.published)
    )
    return bool((await session.exec(stmt)).one())


async def _locked(session: AsyncSession, appointment_id: uuid.UUID) -> Appointment | None:
    stmt = select(Appointment).where(Appointment.id == appointment_id).with_for_update()
    return (await session.exec(stmt.execution_options(populate_existing=True))).first()


async def _answer(
    session: AsyncSession,
    data: CollectIn,
    txn: LedgerTxn | None,
    *,
    duplicate: bool,
    method: str,
    amount: int,
) -> CollectionOut:
    appt = await session.get(Appointment, data.appointment_id)
    scope = await dues.scope_of(session, appt) if appt is not None else []
    due, paid = await dues.receivable_of(session, [a.id for a in scope])
    return CollectionOut(
        client_event_id=data.client_event_id,
        appointment_id=data.appointment_id,
        accepted=True,
        duplicate=duplicate,
        receipt_no=txn.receipt_no if txn else None,
        amount_vnd=amount,
        method=method,
        due_vnd=due,
        paid_vnd=paid,
        outstanding_vnd=due - paid,
        at=txn.at if txn else None,
    )


def key_of(principal: Principal, client_event_id: str) -> str:
    return f"collect:{principal.id}:{client_event_id}"


async def collect(
    session: AsyncSession, principal: Principal, data: CollectIn, *, now: datetime | None = None
) -> CollectionOut:
    """Record a collection at the door in the caller's transaction (never commits)."""
    now = now or utcnow()
    key = key_of(principal, data.client_event_id)
    earlier = await find(session, key)
    if earlier is not None:
        if earlier.appointment_id != data.appointment_id or earlier.method != data.method:
            raise Problem(
                409,
                "Mã sự kiện đã dùng cho khoản thu khác / client_event_id reused",
                code="ledger_key_reused",
            )
        return await _answer(
            session,
            data,
            earlier,
            duplicate=True,
            method=data.method,
            amount=await receipts.amount(session, earlier),
        )
    if data.method == PaymentMethod.online_vnpay.value:
        return await _prepaid(session, principal, data)
    amount = check_amount(data.amount_vnd)
    if data.method not in DOOR_METHODS:
        raise Problem(
            422,
            "Hình thức thu: cash_door hoặc bank_transfer / method: cash_door or bank_transfer",
            code="bad_method",
        )
    appt = await _visit(session, principal, data.appointment_id)
    scope = [appt]
    for other in await dues.scope_of(session, appt):
        if other.id != appt.id:
            locked = await _locked(session, other.id)
            scope.append(locked or other)
    office = await dues.office_code(session, appt)
    for visit in scope:
        if visit.status not in REFUSED:
            await dues.post_due(session, visit, actor_id=principal.id, actor_role=principal.role.value)
    due, paid = await dues.receivable_of(session, [a.id for a in scope])
    if amount > due - paid:
        raise Problem(
            422,
            f"Còn phải thu {due - paid:,} đồng / {due - paid:,} VND is due",
            code="more_than_due",
            extra={"outstanding_vnd": due - paid},
        )
    at = min(data.client_at, now) if data.client_at else now
    receipt_no = await receipts.allocate(session, office, at)
    debit = accounts.courier_cash(principal.id) if data.method == "cash_door" else accounts.bank(office)
    dossier = await dues.dossier_of(session, appt)
    txn = await post(
        session,
        Posting(
            kind=TxnKind.collected,
            lines=(Line(debit, amount), Line(accounts.receivable(appt.citizen_id), -amount)),
            idempotency_key=key,
            actor_id=principal.id,
            actor_role=principal.role.value,
            place=office,
            dossier_id=dossier.id if dossier else None,
            appointment_id=appt.id,
            payer=str(appt.citizen_id),
            method=PaymentMethod(data.method),
            receipt_no=receipt_no,
            memo=f"door {appt.kind}",
            at=at,
        ),
    )
    _notify(session, appt, receipt_no, amount)
    return await _answer(session, data, txn, duplicate=False, method=data.method, amount=amount)


def _notify(session: AsyncSession, appt: Appointment, receipt_no: str, amount: int) -> None:
    """The receipt in the citizen's inbox and as a push (the outbox, in the collection's transaction)."""
    outbox.enqueue(
        session,
        recipient_kind="citizen",
        recipient_id=appt.citizen_id,
        template="money.receipt",
        params={
            "receipt_no": receipt_no,
            "amount": f"{amount:,}".replace(",", "."),
            "appointment_id": appt.id,
        },
        dedupe_key=f"receipt:{receipt_no}",
    )


async def _visit(session: AsyncSession, principal: Principal, appointment_id: uuid.UUID) -> Appointment:
    if not await on_route(session, principal.id, appointment_id):
        if await session.get(Appointment, appointment_id) is None:
            raise not_found("lịch hẹn / appointment", appointment_id)
        raise Problem(
            403,
            "Lịch hẹn không nằm trên tuyến của bạn / the appointment is not on your route",
            code="not_on_route",
        )
    appt = await _locked(session, appointment_id)
    if appt is None:
        raise not_found("lịch hẹn / appointment", appointment_id)
    if appt.status in REFUSED:
        raise Problem(
            409,
            "Lịch hẹn đã hủy hoặc vắng mặt / the appointment is cancelled or missed",
            code="appointment_cancelled",
        )
    return appt


async def _prepaid(session: AsyncSession, principal: Principal, data: CollectIn) -> CollectionOut:
    """'Already paid online': nothing is collected; the answer says what is still due (0 when it was)."""
    await _visit(session, principal, data.appointment_id)
    return await _answer(session, data, None, duplicate=False, method=data.method, amount=0)
