"""The demo's money (issue 21): a few days of collections at the door at two post offices, each day cashed up
and confirmed, one courier's cash-up left open with a shortfall, and a remittance to the Department of Justice
awaiting its confirmation, then one visit paid online (VNPay) whose agency share is held for the next batch.
Postings go through the ledger's own functions (backend/money), dated in the past
days; the visits are the booking demo's, their dossiers made here with their deciding agency."""

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.custody.ids import new_item_id
from backend.demo.province import DemoContext
from backend.lib.auth import Principal
from backend.lib.problems import Problem
from backend.money import accounts, cashup, dues, receipts, remittance
from backend.money.ledger import Line, Posting, balance, post
from schemas.accounts import StaffUser
from schemas.base import utcnow
from schemas.booking import Appointment, AppointmentKind, AppointmentStatus
from schemas.dossiers import Channel, CustodianKind, Dossier
from schemas.enums import Role
from schemas.money import PaymentMethod, TxnKind
from schemas.money_api import CashupIn
from schemas.payments import OnlinePayment, OnlinePaymentEvent, OnlinePaymentStatus
from schemas.vntime import to_vn

DAYS = 3  # the days before today with money
PER_DAY = 3  # visits collected per office and day


def _who(user: StaffUser) -> Principal:
    return Principal(id=user.id, role=user.role, org_id=user.organisation_id)


async def _collect(
    session: AsyncSession, courier: StaffUser, appt: Appointment, method: PaymentMethod, at: datetime
) -> int:
    """What ``backend.money.collect.collect`` records, at a past time (the demo's visits are not on routes)."""
    office = await dues.office_code(session, appt)
    await dues.post_due(session, appt, actor_id=courier.id, actor_role="courier", at=at)
    due, paid = await dues.receivable_of(session, [appt.id])
    amount = due - paid
    if amount <= 0:
        return 0
    debit = accounts.courier_cash(courier.id) if method == PaymentMethod.cash_door else accounts.bank(office)
    dossier = await dues.dossier_of(session, appt)
    await post(
        session,
        Posting(
            kind=TxnKind.collected,
            lines=(Line(debit, amount), Line(accounts.receivable(appt.citizen_id), -amount)),
            idempotency_key=f"collect:{courier.id}:demo-{appt.id}",
            actor_id=courier.id,
            actor_role="courier",
            place=office,
            dossier_id=dossier.id if dossier else None,
            appointment_id=appt.id,
            payer=str(appt.citizen_id),
            method=method,
            receipt_no=await receipts.allocate(session, office, at),
            memo=f"door {appt.kind}",
            at=at,
        ),
    )
    return amount


async def _dossier(session: AsyncSession, appt: Appointment, agency_id: uuid.UUID) -> None:
    session.add(
        Dossier(
            item_id=await new_item_id(session, "HS"),
            procedure_id=appt.procedure_id,  # type: ignore[arg-type]
            citizen_id=appt.citizen_id,
            channel=Channel.home_pickup,
            postal_pickup=True,
            status="at_post_office",
            custodian_kind=CustodianKind.post_office,
            custodian_org_id=appt.post_office_id,
            post_office_id=appt.post_office_id,
            agency_id=agency_id,
            appointment_id=appt.id,
        )
    )
    await session.flush()


async def seed(session: AsyncSession, ctx: DemoContext) -> dict[str, Any]:
    rng = random.Random(21)
    now = utcnow()
    agency = ctx.agencies["STP"]
    out = {"collections": 0, "cashups": 0}
    for po in ctx.post_offices[:2]:
        couriers = [u for u in ctx.staff.values() if u.role == Role.courier and u.organisation_id == po.id]
        dispatcher = next(
            u for u in ctx.staff.values() if u.role == Role.dispatcher and u.organisation_id == po.id
        )
        stmt = (
            select(Appointment)
            .where(
                Appointment.post_office_id == po.id,
                col(Appointment.kind).in_([AppointmentKind.pickup, AppointmentKind.assisted]),
                col(Appointment.status).in_([AppointmentStatus.booked, AppointmentStatus.completed]),
                col(Appointment.procedure_id).is_not(None),
            )
            .order_by(col(Appointment.start), col(Appointment.id))
            .limit(DAYS * PER_DAY)
        )
        visits = [a for a in (await session.exec(stmt)).all() if sum(dues.quote_parts(a))]
        for day_back in range(DAYS, 0, -1):
            day = (to_vn(now) - timedelta(days=day_back)).date()
            todays = visits[(DAYS - day_back) * PER_DAY : (DAYS - day_back + 1) * PER_DAY]
            for i, appt in enumerate(todays):
                courier = couriers[i % len(couriers)]
                at = datetime(day.year, day.month, day.day, 9 + 2 * i, 15, tzinfo=to_vn(now).tzinfo)
                if i == 0:
                    await _dossier(session, appt, agency.id)
                method = PaymentMethod.bank_transfer if i == 2 else PaymentMethod.cash_door
                if await _collect(session, courier, appt, method, at):
                    out["collections"] += 1
            open_one = po is ctx.post_offices[0] and day_back == 1
            for n, courier in enumerate(couriers):
                held = await balance(session, accounts.courier_cash(courier.id))
                short = 10000 if open_one and n == 0 and held >= 10000 else 0
                signed_at = datetime(day.year, day.month, day.day, 17, 0, tzinfo=to_vn(now).tzinfo)
                note = "Thiếu 10.000đ, đang tìm / 10,000 VND short, being looked into" if short else None
                took = await cashup.collected_on(session, po.code, day, courier.id)
                transfers = sum(v for (_, m), (v, _) in took.items() if m == PaymentMethod.bank_transfer)
                body = CashupIn(
                    day=day, counted_cash_vnd=held - short, counted_transfer_vnd=transfers, note=note
                )
                row = await cashup.declare(session, _who(courier), po.code, body, now=signed_at)
                out["cashups"] += 1
                if not short:  # the short one stays open: signed by the courier, not yet by the office
                    await cashup.confirm(
                        session, _who(dispatcher), row.id, None, now=signed_at + timedelta(minutes=30)
                    )
        await session.flush()
    try:
        batch = await remittance.create(
            session, None, "system", agency.code, until=now - timedelta(hours=rng.randint(1, 3)), now=now
        )
        out["remittance_vnd"] = batch.total_vnd
    except Problem:  # nothing collected for the agency: the demo simply has no batch
        out["remittance_vnd"] = 0
    out["online_vnd"] = await _online_payment(session, ctx, agency.id, now)
    return out


async def _online_payment(
    session: AsyncSession, ctx: DemoContext, agency_id: uuid.UUID, now: datetime
) -> int:
    """One visit paid online through VNPay yesterday (what a signed IPN records: the payment succeeded, its
    ``paid_online`` posting with a receipt), after the remittance: the agency's share is held for the next."""
    po = ctx.post_offices[2]
    stmt = (
        select(Appointment)
        .where(
            Appointment.post_office_id == po.id,
            col(Appointment.status).in_([AppointmentStatus.booked, AppointmentStatus.completed]),
            col(Appointment.procedure_id).is_not(None),
            col(Appointment.kind).in_([AppointmentKind.pickup, AppointmentKind.assisted]),
        )
        .order_by(col(Appointment.start), col(Appointment.id))
    )
    appt = next((a for a in (await session.exec(stmt)).all() if sum(dues.quote_parts(a))), None)
    if appt is None:
        return 0
    at = now - timedelta(days=1)
    await _dossier(session, appt, agency_id)
    await dues.post_due(session, appt, actor_id=appt.citizen_id, actor_role="citizen", at=at)
    due, paid = await dues.receivable_of(session, [appt.id])
    amount = due - paid
    if amount <= 0:
        return 0
    payment = OnlinePayment(
        provider="vnpay",
        reference="",
        citizen_id=appt.citizen_id,
        appointment_id=appt.id,
        amount_vnd=amount,
        status=OnlinePaymentStatus.succeeded,
        provider_txn="14000001",
        provider_code="00",
        created_at=at,
        updated_at=at,
        expires_at=at + timedelta(minutes=15),
        version=2,
    )
    payment.reference = payment.id.hex
    dossier = await dues.dossier_of(session, appt)
    txn = await post(
        session,
        Posting(
            kind=TxnKind.paid_online,
            lines=(
                Line(accounts.clearing("vnpay"), amount),
                Line(accounts.receivable(appt.citizen_id), -amount),
            ),
            idempotency_key=f"vnpay:{payment.reference}:14000001",
            actor_id=None,
            actor_role="vnpay",
            place="online",
            dossier_id=dossier.id if dossier else None,
            appointment_id=appt.id,
            payer=str(appt.citizen_id),
            method=PaymentMethod.online_vnpay,
            receipt_no=await receipts.allocate(session, po.code, at),
            memo="demo: paid online",
            at=at,
        ),
    )
    payment.ledger_txn_id = txn.id
    session.add(payment)
    for seq, kind in ((1, "created"), (2, "succeeded")):
        session.add(
            OnlinePaymentEvent(
                payment_id=payment.id, seq=seq, type=kind, at=at, actor_role="vnpay", place="online", data={}
            )
        )
    await session.flush()
    return amount
