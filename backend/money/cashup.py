"""Closing the day at a post office (issue 21): each courier cashes up (kết toán) what they collected.

The courier declares what was counted (cash, and transfers seen on the bank's side); expected comes from the
ledger (cash: the balance of ``cash:courier:{id}``; transfers: the day's bank-transfer collections). A
difference needs a note. The office's dispatcher then confirms (both have signed: who and when are on the
row) and the ledger moves the cash: Dr ``cash:office`` counted / Cr ``cash:courier`` expected, the difference
to ``discrepancy:courier:{id}`` (a shortfall is a debit the courier owes). One cash-up per courier and day
(409 ``cashup_exists``, backed by the unique key). The office's day is closable when every courier who holds
cash or collected that day has a confirmed cash-up; closing it (``close``) stores who closed it and when
(``office_day_close``, once per office and day: again 409 ``day_closed``), and no cash-up of that day is
declared or confirmed after (409 ``day_closed``).
"""

import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal
from backend.lib.problems import Problem, forbidden, not_found
from backend.money import accounts
from backend.money.ledger import Line, Posting, balance, post
from schemas.accounts import StaffUser
from schemas.base import utcnow
from schemas.enums import Role
from schemas.money import Cashup, CashupStatus, LedgerLine, LedgerTxn, OfficeDayClose, PaymentMethod, TxnKind
from schemas.money_api import CashupIn, CashupOut, CourierDay, OfficeDayOut
from schemas.orgs import Organisation
from schemas.vntime import to_vn, vn_day_start


async def office_for(session: AsyncSession, principal: Principal, code: str) -> Organisation:
    """The office named, if the caller is its staff (or an admin); else 404 (its existence not hidden: offices
    are public reference data, but a 404 keeps the answer the same as for an unknown code)."""
    org = (await session.exec(select(Organisation).where(Organisation.code == code))).first()
    if org is None:
        raise not_found("bưu cục / post office", code)
    if principal.role != Role.admin and principal.org_id != org.id:
        raise forbidden()
    return org


def _closed(row: OfficeDayClose) -> Problem:
    return Problem(
        409,
        "Ngày của bưu cục đã đóng / the office's day is already closed",
        code="day_closed",
        extra={"closed_at": to_vn(row.closed_at).isoformat(), "closed_by": str(row.closed_by)},
    )


async def closed_row(session: AsyncSession, office: str, day: date) -> OfficeDayClose | None:
    stmt = select(OfficeDayClose).where(OfficeDayClose.office_code == office, OfficeDayClose.day == day)
    return (await session.exec(stmt)).first()


async def refuse_if_closed(session: AsyncSession, office: str, day: date) -> None:
    found = await closed_row(session, office, day)
    if found is not None:
        raise _closed(found)


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = vn_day_start(day)
    return start, start + timedelta(days=1)


async def collected_on(
    session: AsyncSession, office: str, day: date, courier_id: uuid.UUID | None = None
) -> dict[tuple[uuid.UUID | None, str], tuple[int, int]]:
    """{(courier, method): (VND, receipts)} of the day's door collections at the office."""
    start, end = _day_bounds(day)
    stmt = (
        select(LedgerTxn.actor_id, LedgerTxn.method, func.sum(LedgerLine.amount_vnd), func.count())
        .join(LedgerTxn, col(LedgerTxn.id) == col(LedgerLine.txn_id))
        .where(
            LedgerTxn.kind == TxnKind.collected,
            LedgerTxn.place == office,
            col(LedgerTxn.at) >= start,
            col(LedgerTxn.at) < end,
            col(LedgerLine.amount_vnd) > 0,
        )
        .group_by(col(LedgerTxn.actor_id), col(LedgerTxn.method))
    )
    if courier_id is not None:
        stmt = stmt.where(LedgerTxn.actor_id == courier_id)
    return {(a, str(m)): (int(s), int(n)) for a, m, s, n in (await session.exec(stmt)).all()}


def out(row: Cashup, name: str | None = None) -> CashupOut:
    return CashupOut(
        id=row.id,
        office=row.office_code,
        courier_id=row.courier_id,
        courier_name=name,
        day=row.day,
        status=row.status,
        expected_cash_vnd=int(row.expected.get("cash", 0)),
        expected_transfer_vnd=int(row.expected.get("transfer", 0)),
        counted_cash_vnd=int(row.counted.get("cash", 0)),
        counted_transfer_vnd=int(row.counted.get("transfer", 0)),
        discrepancy_vnd=row.discrepancy_vnd,
        note=row.note,
        courier_signed_at=to_vn(row.courier_signed_at),
        dispatcher_id=row.dispatcher_id,
        dispatcher_signed_at=to_vn(row.dispatcher_signed_at) if row.dispatcher_signed_at else None,
    )


async def declare(
    session: AsyncSession, principal: Principal, code: str, data: CashupIn, *, now: datetime | None = None
) -> CashupOut:
    """The courier's signed declaration (pending until the dispatcher confirms)."""
    now = now or utcnow()
    office = await office_for(session, principal, code)
    day = data.day or to_vn(now).date()
    if day > to_vn(now).date():
        raise Problem(422, "Ngày kết toán ở tương lai / the day is in the future", code="date_out_of_range")
    await refuse_if_closed(session, office.code, day)
    taken = select(Cashup.id).where(Cashup.courier_id == principal.id, Cashup.day == day)
    if (await session.exec(taken)).first() is not None:
        raise Problem(409, "Đã kết toán ngày này / already cashed up for this day", code="cashup_exists")
    cash = await balance(session, accounts.courier_cash(principal.id))
    transfers = sum(
        v
        for (_, m), (v, _) in (await collected_on(session, code, day, principal.id)).items()
        if m == PaymentMethod.bank_transfer
    )
    diff = data.counted_cash_vnd - cash
    if (diff or data.counted_transfer_vnd != transfers) and not (data.note or "").strip():
        raise Problem(
            422,
            f"Lệch {diff:,} đồng tiền mặt: cần ghi lý do / cash differs by {diff:,} VND: a note is required",
            code="cashup_mismatch",
            extra={"expected_cash_vnd": cash, "expected_transfer_vnd": transfers},
        )
    row = Cashup(
        office_code=office.code,
        courier_id=principal.id,
        day=day,
        status=CashupStatus.pending,
        expected={"cash": cash, "transfer": transfers},
        counted={"cash": data.counted_cash_vnd, "transfer": data.counted_transfer_vnd},
        discrepancy_vnd=diff,
        note=data.note,
        courier_signed_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        raise Problem(
            409, "Đã kết toán ngày này / already cashed up for this day", code="cashup_exists"
        ) from None
    return out(row)


async def confirm(
    session: AsyncSession,
    principal: Principal,
    cashup_id: uuid.UUID,
    note: str | None,
    *,
    now: datetime | None = None,
) -> CashupOut:
    """The dispatcher's counter-signature (the cash-up's own office only; another's is 404); moves the cash in
    the ledger."""
    now = now or utcnow()
    stmt = select(Cashup).where(Cashup.id == cashup_id).with_for_update()
    row = (await session.exec(stmt.execution_options(populate_existing=True))).first()
    office = (
        (await session.exec(select(Organisation).where(Organisation.code == row.office_code))).first()
        if row is not None
        else None
    )
    if row is None or office is None or principal.org_id != office.id:
        raise not_found("kết toán / cash-up", cashup_id)
    if row.status != CashupStatus.pending:
        raise Problem(409, "Kết toán đã được xác nhận / already confirmed", code="already_confirmed")
    await refuse_if_closed(session, office.code, row.day)
    expected, counted = int(row.expected.get("cash", 0)), int(row.counted.get("cash", 0))
    lines = [
        Line(accounts.office_cash(office.code), counted),
        Line(accounts.courier_cash(row.courier_id), -expected),
    ]
    if expected != counted:
        lines.append(Line(accounts.courier_discrepancy(row.courier_id), expected - counted))
    lines = [line for line in lines if line.amount_vnd != 0]
    if len(lines) >= 2:
        txn = await post(
            session,
            Posting(
                kind=TxnKind.cashup,
                lines=tuple(lines),
                idempotency_key=f"cashup:{row.id}",
                actor_id=principal.id,
                actor_role=principal.role.value,
                place=office.code,
                payer=f"courier:{row.courier_id}",
                method=PaymentMethod.cash_door,
                memo=(note or row.note or "")[:200] or None,
                at=now,
            ),
        )
        row.txn_id = txn.id
    row.status = CashupStatus.confirmed
    row.dispatcher_id = principal.id
    row.dispatcher_signed_at = now
    if note:
        row.note = f"{row.note or ''} | {note}".strip(" |")[:300]
    session.add(row)
    await session.flush()
    return out(row)


async def office_day(session: AsyncSession, principal: Principal, code: str, day: date) -> OfficeDayOut:
    office = await office_for(session, principal, code)
    couriers = (
        await session.exec(
            select(StaffUser).where(StaffUser.organisation_id == office.id, StaffUser.role == Role.courier)
        )
    ).all()
    names = {c.id: c.full_name for c in couriers}
    collected = await collected_on(session, office.code, day)
    for actor, _ in collected:
        if actor is not None and actor not in names:
            user = await session.get(StaffUser, actor)
            names[actor] = user.full_name if user else None  # type: ignore[assignment]
    rows = {
        c.courier_id: c
        for c in (
            await session.exec(select(Cashup).where(Cashup.office_code == office.code, Cashup.day == day))
        ).all()
    }
    days: list[CourierDay] = []
    closable = True
    for cid, name in sorted(names.items(), key=lambda kv: (kv[1] or "", str(kv[0]))):
        held = await balance(session, accounts.courier_cash(cid))
        took = sum(v for (a, _), (v, _) in collected.items() if a == cid)
        row = rows.get(cid)
        if (held or took) and (row is None or row.status != CashupStatus.confirmed):
            closable = False
        days.append(
            CourierDay(
                courier_id=cid,
                courier_name=name,
                cash_held_vnd=held,
                collected_vnd=took,
                cashup=out(row, name) if row else None,
            )
        )
    closed = await closed_row(session, office.code, day)
    return OfficeDayOut(
        office=office.code,
        day=day,
        couriers=days,
        closable=closable,
        office_cash_vnd=await balance(session, accounts.office_cash(office.code)),
        closed_at=to_vn(closed.closed_at) if closed else None,
        closed_by=closed.closed_by if closed else None,
    )


async def close(
    session: AsyncSession, principal: Principal, code: str, day: date, *, now: datetime | None = None
) -> OfficeDayOut:
    """Close the office's day: 409 ``day_not_closable`` (listing ``couriers``) while a courier holding money or
    collecting that day has no confirmed cash-up; 409 ``day_closed`` if it is closed already (the unique key
    decides between two concurrent closes). The close row, with who, when and where, is written in the
    caller's transaction."""
    now = now or utcnow()
    answer = await office_day(session, principal, code, day)
    found = await closed_row(session, answer.office, day)
    if found is not None:
        raise _closed(found)
    if not answer.closable:
        missing = [
            str(c.courier_id)
            for c in answer.couriers
            if (c.cash_held_vnd or c.collected_vnd) and (c.cashup is None or c.cashup.status != "confirmed")
        ]
        raise Problem(
            409,
            "Còn bưu tá chưa kết toán / couriers have not cashed up",
            code="day_not_closable",
            extra={"couriers": missing},
        )
    row = OfficeDayClose(
        office_code=answer.office,
        day=day,
        closed_by=principal.id,
        closed_by_role=principal.role.value,
        closed_at=now,
        place=answer.office,
        office_cash_vnd=answer.office_cash_vnd,
        couriers=len(answer.couriers),
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        again = await closed_row(session, answer.office, day)
        raise (
            _closed(again) if again is not None else Problem(409, "Xung đột / conflict", code="conflict")
        ) from None
    return answer.model_copy(update={"closed_at": to_vn(now), "closed_by": principal.id})
