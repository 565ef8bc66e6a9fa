"""Money reports (issue 21): daily cash per office and courier, outstanding collect-on-delivery, remittances
due, and the reconciliation per agency and period; each as JSON or as CSV with a byte-order mark (UTF-8, so
spreadsheets read Vietnamese; the same convention as backend/reporting/export.py). II.06a is untouched."""

import csv
import io
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.money import dues, remittance
from backend.money.cashup import collected_on
from schemas.accounts import StaffUser
from schemas.booking import Appointment, AppointmentStatus
from schemas.dossiers import Dossier
from schemas.enums import OrgKind
from schemas.money import LedgerTxn, TxnKind
from schemas.money_api import (
    CashReportOut,
    CashReportRow,
    OutstandingOut,
    OutstandingRow,
    ReconciliationOut,
    ReconciliationRow,
    RemittanceDueRow,
    RemittancesDueOut,
)
from schemas.orgs import Organisation
from schemas.vntime import to_vn, vn_day_start

BOM = "\ufeff"


def to_csv(rows: Sequence[BaseModel], headers: Iterable[tuple[str, str]]) -> str:
    cols = list(headers)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([h for _, h in cols])
    for r in rows:
        data = r.model_dump(mode="json")
        w.writerow(["" if data.get(k) is None else data.get(k) for k, _ in cols])
    return BOM + buf.getvalue()


async def offices(session: AsyncSession, code: str | None, province: str | None = None) -> list[Organisation]:
    stmt = select(Organisation).where(Organisation.kind == OrgKind.post_office)
    if code is not None:
        stmt = stmt.where(Organisation.code == code)
    if province is not None:
        stmt = stmt.where(Organisation.province_code == province)
    return list((await session.exec(stmt.order_by(col(Organisation.code)))).all())


async def daily_cash(session: AsyncSession, day: date, office_codes: list[str]) -> CashReportOut:
    rows: list[CashReportRow] = []
    for code in office_codes:
        by: dict[uuid.UUID | None, dict[str, int]] = {}
        for (actor, method), (vnd, n) in (await collected_on(session, code, day)).items():
            slot = by.setdefault(actor, {"cash": 0, "transfer": 0, "n": 0})
            slot["cash" if method == "cash_door" else "transfer"] += vnd
            slot["n"] += n
        for actor, s in sorted(by.items(), key=lambda kv: str(kv[0])):
            user = await session.get(StaffUser, actor) if actor else None
            rows.append(
                CashReportRow(
                    office=code,
                    courier_id=actor,
                    courier_name=user.full_name if user else None,
                    cash_vnd=s["cash"],
                    transfer_vnd=s["transfer"],
                    receipts=s["n"],
                )
            )
    return CashReportOut(
        day=day,
        rows=rows,
        total_cash_vnd=sum(r.cash_vnd for r in rows),
        total_transfer_vnd=sum(r.transfer_vnd for r in rows),
    )


async def outstanding(session: AsyncSession, orgs: list[Organisation], until: datetime) -> OutstandingOut:
    """Visits (booked or done, starting before ``until``) with money still due: from the ledger where the
    due is posted, else from the quote the booking kept."""
    names = {o.id: o.code for o in orgs}
    stmt = select(Appointment).where(
        col(Appointment.post_office_id).in_(list(names)),
        col(Appointment.status).in_([AppointmentStatus.booked, AppointmentStatus.completed]),
        col(Appointment.start) < until,
    )
    rows: list[OutstandingRow] = []
    for appt in (await session.exec(stmt.order_by(col(Appointment.start)))).all():
        due, paid = await dues.receivable_of(session, [appt.id])
        if not await _due_posted(session, appt.id):
            due = sum(dues.quote_parts(appt))
        if due - paid > 0:
            rows.append(
                OutstandingRow(
                    appointment_id=appt.id,
                    office=names[appt.post_office_id],
                    kind=appt.kind,
                    start=to_vn(appt.start),
                    due_vnd=due,
                    paid_vnd=paid,
                    outstanding_vnd=due - paid,
                )
            )
    return OutstandingOut(rows=rows, total_vnd=sum(r.outstanding_vnd for r in rows))


async def _due_posted(session: AsyncSession, appt_id: uuid.UUID) -> bool:
    stmt = select(func.count()).where(LedgerTxn.appointment_id == appt_id, LedgerTxn.kind == TxnKind.due)
    return bool((await session.exec(stmt)).one())


async def agencies_with_money(session: AsyncSession, province: str | None = None) -> list[Organisation]:
    with_money = select(LedgerTxn.appointment_id).where(col(LedgerTxn.appointment_id).is_not(None))
    ids = select(Dossier.agency_id).where(col(Dossier.appointment_id).in_(with_money)).distinct()
    stmt = select(Organisation).where(col(Organisation.id).in_(ids)).order_by(col(Organisation.code))
    if province is not None:
        stmt = stmt.where(Organisation.province_code == province)
    return list((await session.exec(stmt)).all())


async def remittances_due(session: AsyncSession, orgs: list[Organisation]) -> RemittancesDueOut:
    rows = []
    for org in orgs:
        ps = await remittance.positions(session, org)
        held = [p for p in ps if p.held > 0]
        rows.append(
            RemittanceDueRow(
                agency=org.code,
                held_vnd=sum(p.held for p in ps),
                awaiting_vnd=sum(p.awaiting for p in ps),
                dossiers=len(held),
            )
        )
    return RemittancesDueOut(rows=rows)


async def reconciliation(
    session: AsyncSession, org: Organisation, first: date, last: date
) -> ReconciliationOut:
    since, until = vn_day_start(first), vn_day_start(last + timedelta(days=1))
    ps = await remittance.positions(session, org, until=until, since=since)
    rows = [
        ReconciliationRow(
            dossier_id=p.dossier_id,
            item_id=p.item_id,
            collected_vnd=p.collected,
            remitted_vnd=p.remitted,
            awaiting_vnd=p.awaiting,
            held_vnd=p.held,
        )
        for p in ps
        if p.collected or p.remitted or p.awaiting
    ]

    def total(name: str) -> int:
        return sum(getattr(r, name) for r in rows)

    return ReconciliationOut(
        agency=org.code,
        period_from=first,
        period_to=last,
        collected_vnd=total("collected_vnd"),
        remitted_vnd=total("remitted_vnd"),
        awaiting_vnd=total("awaiting_vnd"),
        held_vnd=total("held_vnd"),
        rows=rows,
    )


RECONCILIATION_CSV = (
    ("item_id", "Số hồ sơ / Dossier"),
    ("dossier_id", "Mã nội bộ / Internal id"),
    ("collected_vnd", "Đã thu (đồng) / Collected (VND)"),
    ("remitted_vnd", "Đã chuyển, cơ quan xác nhận / Remitted, confirmed"),
    ("awaiting_vnd", "Đã chuyển, chờ xác nhận / Remitted, awaiting"),
    ("held_vnd", "Còn giữ / Held"),
)
CASH_CSV = (
    ("office", "Bưu cục / Office"),
    ("courier_name", "Bưu tá / Courier"),
    ("cash_vnd", "Tiền mặt (đồng) / Cash (VND)"),
    ("transfer_vnd", "Chuyển khoản / Transfers"),
    ("receipts", "Số biên lai / Receipts"),
)
OUTSTANDING_CSV = (
    ("office", "Bưu cục / Office"),
    ("appointment_id", "Lịch hẹn / Appointment"),
    ("kind", "Loại / Kind"),
    ("start", "Bắt đầu / Start"),
    ("due_vnd", "Phải thu / Due"),
    ("paid_vnd", "Đã thu / Paid"),
    ("outstanding_vnd", "Còn phải thu / Outstanding"),
)
REMITTANCES_DUE_CSV = (
    ("agency", "Cơ quan / Agency"),
    ("held_vnd", "Chờ chuyển (đồng) / To remit (VND)"),
    ("awaiting_vnd", "Chờ xác nhận / Awaiting confirmation"),
    ("dossiers", "Số hồ sơ / Dossiers"),
)


def reconciliation_csv(report: ReconciliationOut) -> str:
    total: Any = ReconciliationRow(
        dossier_id=uuid.UUID(int=0),
        item_id="TỔNG / TOTAL",
        collected_vnd=report.collected_vnd,
        remitted_vnd=report.remitted_vnd,
        awaiting_vnd=report.awaiting_vnd,
        held_vnd=report.held_vnd,
    )
    return to_csv([*report.rows, total], RECONCILIATION_CSV)
