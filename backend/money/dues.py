"""What a visit owes: the quote the booking kept (``appointment.fees``: postal charge, fee, lệ phí) as a
``due`` transaction, and what is still outstanding.

The due of an appointment is posted once (key ``due:{appointment id}``) from the quote stored with the
booking, so it is the price in force when the booking was made: in the booking's own transaction
(``booking_money.at_booking``, both booking write paths); for visits booked before that, the first time money
touches the visit (a collection, an online payment, its cancellation) or the scheduled backfill ``post_dues``. Dr ``receivable:citizen`` /
Cr ``payable:agency`` (fee + lệ phí: Law 97/2015/QH13 on Fees and Charges, art. 3: they belong to the State
and are paid to the agency that collects them on its behalf) / Cr ``revenue:postal`` (the postal charge).
The agency is the dossier's deciding agency when known, else ``unassigned`` until a remittance assigns it.

A result delivery's money scope includes the dossier's pickup visit: collect-on-delivery takes whatever of
either is still due.
"""

import uuid
from datetime import datetime

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.money import accounts, exemptions
from backend.money.ledger import Line, Posting, find, post
from schemas.booking import Appointment, AppointmentKind, AppointmentStatus
from schemas.dossiers import Dossier
from schemas.money import LedgerLine, LedgerTxn, TxnKind
from schemas.orgs import Organisation

UNASSIGNED = "unassigned"


def quote_parts(appt: Appointment) -> tuple[int, int]:
    """(agency's share: fee + lệ phí, postal charge) of the stored quote, in VND."""
    fees = appt.fees or {}

    def part(name: str) -> int:
        value = fees.get(name) or 0
        return int(value) if isinstance(value, int | float) and value > 0 else 0

    return part("fee") + part("charge"), part("postal")


async def dossier_of(session: AsyncSession, appt: Appointment) -> Dossier | None:
    """The dossier a visit is for: picked up at it, or the result it delivers."""
    stmt = select(Dossier).where(
        or_(col(Dossier.appointment_id) == appt.id, col(Dossier.item_id) == appt.dossier_item_id)
        if appt.dossier_item_id
        else col(Dossier.appointment_id) == appt.id
    )
    return (await session.exec(stmt.order_by(col(Dossier.created_at)))).first()


async def agency_code(session: AsyncSession, dossier: Dossier | None) -> str:
    if dossier is None or dossier.agency_id is None:
        return UNASSIGNED
    org = await session.get(Organisation, dossier.agency_id)
    return org.code if org is not None else UNASSIGNED


async def office_code(session: AsyncSession, appt: Appointment) -> str:
    org = await session.get(Organisation, appt.post_office_id)
    return org.code if org is not None else UNASSIGNED


async def scope_of(session: AsyncSession, appt: Appointment) -> list[Appointment]:
    """The visits whose money is settled together: a delivery and the pickup of the dossier it returns."""
    out = [appt]
    if appt.kind == AppointmentKind.delivery and appt.dossier_item_id:
        pickup = (
            await session.exec(
                select(Appointment)
                .join(Dossier, col(Dossier.appointment_id) == col(Appointment.id))
                .where(Dossier.item_id == appt.dossier_item_id, Appointment.id != appt.id)
            )
        ).first()
        if pickup is not None:
            out.append(pickup)
    return sorted(out, key=lambda a: a.id)


async def due_posting(
    session: AsyncSession,
    appt: Appointment,
    *,
    actor_id: uuid.UUID | None,
    actor_role: str,
    at: datetime | None = None,
    office: str | None = None,
    new_booking: bool = False,
) -> Posting | None:
    """The visit's due as a posting (None when the quote is 0): key ``due:{appointment id}``. ``new_booking``:
    the visit is being booked, so no dossier names it yet; only a dossier it delivers is looked up (a pickup's
    booking then reads nothing here and keeps up with the other bookings of its batch)."""
    agency, postal = quote_parts(appt)
    if agency + postal == 0:
        return None
    dossier = None if new_booking and not appt.dossier_item_id else await dossier_of(session, appt)
    office = office or await office_code(session, appt)
    lines = [Line(accounts.receivable(appt.citizen_id), agency + postal)]
    if agency:
        lines.append(Line(accounts.payable_agency(await agency_code(session, dossier)), -agency))
    if postal:
        lines.append(Line(accounts.postal_revenue(office), -postal))
    return Posting(
        kind=TxnKind.due,
        lines=tuple(lines),
        idempotency_key=f"due:{appt.id}",
        actor_id=actor_id,
        actor_role=actor_role,
        place=office,
        dossier_id=dossier.id if dossier else None,
        appointment_id=appt.id,
        payer=str(appt.citizen_id),
        memo=f"quote {appt.kind}: fee+charge {agency}, postal {postal}",
        at=at,
    )


async def post_due(
    session: AsyncSession,
    appt: Appointment,
    *,
    actor_id: uuid.UUID | None,
    actor_role: str,
    at: datetime | None = None,
) -> LedgerTxn | None:
    """The visit's due (posted once; None when the quote is 0) and the exemption its quote applied. Since
    migration 0024 a booking writes both in its own transaction (``booking_money.at_booking``); this posts
    them for visits booked before (``post_dues``'s backfill) and is a no-op for the others."""
    existing = await find(session, f"due:{appt.id}")
    if existing is not None:
        return existing
    posting = await due_posting(session, appt, actor_id=actor_id, actor_role=actor_role, at=at)
    if posting is None:
        return None
    txn = await post(session, posting)
    # the exemption the quote applied, with its legal basis (issue 21: the prices people set)
    waived = exemptions.posting(
        appt,
        actor_id=actor_id,
        actor_role=actor_role,
        place=posting.place,
        dossier_id=posting.dossier_id,
        at=at,
    )
    if waived is not None:
        await post(session, waived)
    return txn


async def receivable_of(session: AsyncSession, appointment_ids: list[uuid.UUID]) -> tuple[int, int]:
    """(due, paid) over the visits' transactions: due is what their dues (less reversals) added to the
    citizen's receivable; paid what collections, payments and exemptions took off it (less refunds)."""
    stmt = (
        select(LedgerTxn.kind, func.sum(LedgerLine.amount_vnd))
        .join(LedgerTxn, col(LedgerTxn.id) == col(LedgerLine.txn_id))
        .where(
            col(LedgerTxn.appointment_id).in_(appointment_ids),
            col(LedgerLine.account).startswith("receivable:citizen:"),
        )
        .group_by(col(LedgerTxn.kind))
    )
    due = paid = 0
    for kind, total in (await session.exec(stmt)).all():
        if kind in (TxnKind.due, TxnKind.due_reversed):
            due += int(total)
        else:
            paid -= int(total)
    return due, paid


async def post_dues(session: AsyncSession, *, until: datetime, actor_role: str = "system") -> int:
    """Post the due of every booked or completed visit starting before ``until`` that has none yet (what a
    scheduler runs each night, so outstanding-COD reports see every visit). Returns how many it posted."""
    posted = select(LedgerTxn.appointment_id).where(LedgerTxn.kind == TxnKind.due)
    stmt = select(Appointment).where(
        col(Appointment.status).in_([AppointmentStatus.booked, AppointmentStatus.completed]),
        col(Appointment.start) < until,
        col(Appointment.id).not_in(posted.where(col(LedgerTxn.appointment_id).is_not(None))),
    )
    n = 0
    for appt in (await session.exec(stmt)).all():
        if await post_due(session, appt, actor_id=None, actor_role=actor_role) is not None:
            n += 1
    return n


async def door_money(session: AsyncSession, appointment_id: uuid.UUID) -> tuple[int, str | None] | None:
    """What the ledger says was received for a visit (collections and online payments, less refunds) and
    its latest receipt number; None when the ledger has nothing for it (older records keep their own
    number: custody's pickup record shows ``fee_collected`` from here when there is one)."""
    stmt = (
        select(LedgerTxn)
        .where(
            LedgerTxn.appointment_id == appointment_id,
            col(LedgerTxn.kind).in_([TxnKind.collected, TxnKind.paid_online, TxnKind.refunded]),
        )
        .order_by(col(LedgerTxn.at))
    )
    txns = (await session.exec(stmt)).all()
    if not txns:
        return None
    _, paid = await receivable_of(session, [appointment_id])
    numbers = [t.receipt_no for t in txns if t.receipt_no]
    return paid, numbers[-1] if numbers else None


async def outstanding_after_due(
    session: AsyncSession, appt: Appointment, *, actor_id: uuid.UUID | None = None, actor_role: str = "system"
) -> int:
    """What is still due for a visit (and, for a result delivery, its dossier's pickup), its due posted first
    from the booking's quote if it was not yet: what an online payment or a collection checks against. Call it
    with the visit's row locked (``SELECT … FOR UPDATE``)."""
    scope = await scope_of(session, appt)
    for visit in scope:
        if visit.status not in (AppointmentStatus.cancelled, AppointmentStatus.no_show):
            await post_due(session, visit, actor_id=actor_id, actor_role=actor_role)
    due, paid = await receivable_of(session, [a.id for a in scope])
    return due - paid
