"""Remittances (issue 21): the fees and charges (phí, lệ phí) collected for an agency, sent to it in batches,
and confirmed by it; the reconciliation per agency and period.

Fees and charges collected on an agency's behalf belong to it and are paid over on a schedule (Law
97/2015/QH13 on Fees and Charges, art. 12; Decree 82/2023/NĐ-CP amending Decree 120/2016/NĐ-CP, art. 5: the
collecting organisation pays them over at least monthly). A dossier's agency share collected is
min(money received for its visits, fee + lệ phí due): the agency is paid first, the postal charge after.

A batch (``create``) lists every dossier of the agency with money collected before ``until`` and not yet in a
batch, and moves it: Dr ``payable:agency:{org}`` (or ``payable:agency:unassigned`` for a due posted before the
dossier had its agency) / Cr ``remitted:agency:{org}`` (in transit). The agency's confirmation moves it out
of the offices: Dr ``remitted:agency:{org}`` / Cr ``cash:office:{office}``. A dossier's collected share goes
into a batch once: ``remittance_item``'s unique (dossier, part) key, and the agency row's lock while a batch
is made (PostgreSQL), stop a second batch from taking it again (409 ``already_remitted``).
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal
from backend.lib.problems import Problem, forbidden, not_found
from backend.money import accounts
from backend.money.dues import UNASSIGNED
from backend.money.ledger import Line, Posting, post
from schemas.base import utcnow
from schemas.booking import Appointment
from schemas.dossiers import Dossier
from schemas.enums import OrgKind, Role
from schemas.money import LedgerLine, LedgerTxn, Remittance, RemittanceItem, RemittanceStatus, TxnKind
from schemas.money_api import RemittanceItemOut, RemittanceOut
from schemas.orgs import Organisation
from schemas.vntime import to_vn

DUE_KINDS = (TxnKind.due, TxnKind.due_reversed)
MONEY_KINDS = (TxnKind.collected, TxnKind.paid_online, TxnKind.refunded)


@dataclass
class Position:
    """One dossier's money for its agency."""

    dossier_id: uuid.UUID
    item_id: str | None
    office: str | None
    due_accounts: dict[str, int]  # payable:agency:* account -> fee + lệ phí credited there by the dues
    received: int  # money received for the dossier's visits (collections and payments less refunds)
    remitted: int = 0  # in confirmed batches
    awaiting: int = 0  # in batches not yet confirmed

    @property
    def agency_due(self) -> int:
        return sum(self.due_accounts.values())

    @property
    def collected(self) -> int:
        return max(0, min(self.received, self.agency_due))

    @property
    def held(self) -> int:
        return self.collected - self.remitted - self.awaiting


async def agency_org(session: AsyncSession, code: str, *, lock: bool = False) -> Organisation:
    stmt = select(Organisation).where(Organisation.code == code, Organisation.kind == OrgKind.agency)
    if lock:
        stmt = stmt.with_for_update()
    org = (await session.exec(stmt)).first()
    if org is None:
        raise Problem(422, f"Không có cơ quan '{code}' / no agency '{code}'", code="unknown_org")
    return org


async def positions(
    session: AsyncSession,
    org: Organisation,
    *,
    until: datetime | None = None,
    since: datetime | None = None,
    office: str | None = None,
) -> list[Position]:
    """Every dossier of the agency with fees due, its share received before ``until`` (and, with ``since``,
    only dossiers with money received from then on)."""
    dossiers = (await session.exec(select(Dossier).where(Dossier.agency_id == org.id))).all()
    if not dossiers:
        return []
    visits: dict[uuid.UUID, uuid.UUID] = {}  # appointment -> dossier
    items = {d.item_id: d.id for d in dossiers if d.item_id}
    for d in dossiers:
        if d.appointment_id:
            visits[d.appointment_id] = d.id
    for appt_id, item in (
        await session.exec(
            select(Appointment.id, Appointment.dossier_item_id).where(
                col(Appointment.dossier_item_id).in_(list(items))
            )
        )
    ).all():
        visits[appt_id] = items[item]  # type: ignore[index]
    offices = await _offices(session, list(visits))
    base = (
        sa_select(  # five columns: more than sqlmodel's select types
            col(LedgerTxn.appointment_id),
            col(LedgerTxn.kind),
            col(LedgerLine.account),
            func.sum(LedgerLine.amount_vnd),
            func.max(LedgerTxn.at),
        )
        .join(LedgerTxn, col(LedgerTxn.id) == col(LedgerLine.txn_id))
        .where(col(LedgerTxn.appointment_id).in_(list(visits)))
        .group_by(col(LedgerTxn.appointment_id), col(LedgerTxn.kind), col(LedgerLine.account))
    )
    if until is not None:
        base = base.where(col(LedgerTxn.at) < until)
    by_dossier: dict[uuid.UUID, Position] = {}
    recent: set[uuid.UUID] = set()
    meta = {d.id: d for d in dossiers}
    for appt_id, kind, account, total, last in (await session.execute(base)).all():
        did = visits[appt_id]
        d = meta[did]
        pos = by_dossier.setdefault(
            did,
            Position(did, d.item_id, offices.get(d.appointment_id or appt_id) or offices.get(appt_id), {}, 0),
        )
        if kind in DUE_KINDS and account.startswith("payable:agency:"):
            pos.due_accounts[account] = pos.due_accounts.get(account, 0) - int(total)
        elif kind in MONEY_KINDS and account.startswith("receivable:citizen:"):
            pos.received -= int(total)
            if since is None or last >= since:
                recent.add(did)
    await _remitted(session, by_dossier)
    out = [p for p in by_dossier.values() if p.agency_due > 0 and (since is None or p.dossier_id in recent)]
    if office is not None:
        out = [p for p in out if p.office == office]
    return sorted(out, key=lambda p: (p.item_id or "", str(p.dossier_id)))


async def _offices(session: AsyncSession, appt_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not appt_ids:
        return {}
    stmt = (
        select(Appointment.id, Organisation.code)
        .join(Organisation, col(Organisation.id) == col(Appointment.post_office_id))
        .where(col(Appointment.id).in_(appt_ids))
    )
    return {a: c for a, c in (await session.exec(stmt)).all()}


async def _remitted(session: AsyncSession, by_dossier: dict[uuid.UUID, Position]) -> None:
    if not by_dossier:
        return
    stmt = (
        select(RemittanceItem.dossier_id, Remittance.status, func.sum(RemittanceItem.amount_vnd))
        .join(Remittance, col(Remittance.id) == col(RemittanceItem.remittance_id))
        .where(col(RemittanceItem.dossier_id).in_(list(by_dossier)))
        .group_by(col(RemittanceItem.dossier_id), col(Remittance.status))
    )
    for did, status, total in (await session.exec(stmt)).all():
        if status == RemittanceStatus.confirmed:
            by_dossier[did].remitted += int(total)
        else:
            by_dossier[did].awaiting += int(total)


def _take(pos: Position, amount: int, org_code: str) -> dict[str, int]:
    """Which payable accounts a dossier's remitted amount settles: the slice [already remitted, + amount) of
    its agency share, the agency's own account first, then the others (``unassigned``)."""
    own = accounts.payable_agency(org_code)
    lo = pos.remitted + pos.awaiting
    hi = lo + amount
    out: dict[str, int] = {}
    start = 0
    for account in sorted(pos.due_accounts, key=lambda a: (a != own, a)):
        end = start + max(0, pos.due_accounts[account])
        share = max(0, min(hi, end) - max(lo, start))
        if share:
            out[account] = share
        start = end
    return out


async def create(
    session: AsyncSession,
    actor_id: uuid.UUID | None,
    actor_role: str,
    org_code: str,
    *,
    office: str | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> Remittance:
    """A batch of everything held for the agency (the scheduler's entry point too); never commits."""
    now = now or utcnow()
    until = min(until or now, now)
    org = await agency_org(session, org_code, lock=True)
    held = [p for p in await positions(session, org, until=until, office=office) if p.held > 0]
    if not held:
        if any(p.collected for p in await positions(session, org, until=until, office=office)):
            raise Problem(
                409,
                "Mọi khoản đã được chuyển / everything collected was already remitted",
                code="already_remitted",
            )
        raise Problem(422, "Không có khoản nào chờ chuyển / nothing to remit", code="nothing_to_remit")
    batch = Remittance(
        org_code=org.code,
        office_code=office,
        status=RemittanceStatus.awaiting,
        total_vnd=sum(p.held for p in held),
        until=until,
        created_by=actor_id,
        created_role=actor_role,
        created_at=now,
    )
    debits: dict[str, int] = defaultdict(int)
    for p in held:
        for account, n in _take(p, p.held, org.code).items():
            debits[account] += n
    try:
        async with session.begin_nested():
            session.add(batch)
            await session.flush()
            txn = await post(
                session,
                Posting(
                    kind=TxnKind.remitted,
                    lines=(
                        *(Line(a, n) for a, n in sorted(debits.items())),
                        Line(accounts.remitted_agency(org.code), -batch.total_vnd),
                    ),
                    idempotency_key=f"remit:{batch.id}",
                    actor_id=actor_id,
                    actor_role=actor_role,
                    place=office,
                    payer=f"agency:{org.code}",
                    memo=f"remittance {batch.id} ({len(held)} dossiers)",
                    at=now,
                ),
            )
            counts = await _parts(session, [p.dossier_id for p in held])
            for p in held:
                session.add(
                    RemittanceItem(
                        remittance_id=batch.id,
                        dossier_id=p.dossier_id,
                        part=counts.get(p.dossier_id, 0) + 1,
                        amount_vnd=p.held,
                        txn_id=txn.id,
                    )
                )
            await session.flush()
    except IntegrityError:
        raise Problem(
            409, "Khoản này vừa được chuyển / this money was just remitted", code="already_remitted"
        ) from None
    return batch


async def _parts(session: AsyncSession, dossier_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    stmt = (
        select(RemittanceItem.dossier_id, func.count())
        .where(col(RemittanceItem.dossier_id).in_(dossier_ids))
        .group_by(col(RemittanceItem.dossier_id))
    )
    return {d: int(n) for d, n in (await session.exec(stmt)).all()}


async def confirm(
    session: AsyncSession, principal: Principal, remittance_id: uuid.UUID, *, now: datetime | None = None
) -> Remittance:
    """The agency confirms it received the batch (its own organisation's only)."""
    now = now or utcnow()
    stmt = select(Remittance).where(Remittance.id == remittance_id).with_for_update()
    batch = (await session.exec(stmt.execution_options(populate_existing=True))).first()
    if batch is None or not await readable(session, principal, batch):
        raise not_found("đợt chuyển tiền / remittance", remittance_id)
    if principal.role != Role.agency:
        raise forbidden()
    if batch.status != RemittanceStatus.awaiting:
        raise Problem(409, "Đợt chuyển tiền đã được xác nhận / already confirmed", code="already_confirmed")
    by_office: dict[str, int] = defaultdict(int)
    items = (await session.exec(select(RemittanceItem).where(RemittanceItem.remittance_id == batch.id))).all()
    offices = await _item_offices(session, [i.dossier_id for i in items])
    for item in items:
        by_office[offices.get(item.dossier_id) or UNASSIGNED] += item.amount_vnd
    await post(
        session,
        Posting(
            kind=TxnKind.remittance_confirmed,
            lines=(
                Line(accounts.remitted_agency(batch.org_code), batch.total_vnd),
                *(Line(accounts.office_cash(o), -n) for o, n in sorted(by_office.items())),
            ),
            idempotency_key=f"remit-confirm:{batch.id}",
            actor_id=principal.id,
            actor_role=principal.role.value,
            place=batch.org_code,
            payer=f"agency:{batch.org_code}",
            memo=f"remittance {batch.id} confirmed",
            at=now,
        ),
    )
    batch.status = RemittanceStatus.confirmed
    batch.confirmed_by = principal.id
    batch.confirmed_at = now
    session.add(batch)
    await session.flush()
    return batch


async def _item_offices(session: AsyncSession, dossier_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not dossier_ids:
        return {}
    stmt = (
        select(Dossier.id, Organisation.code)
        .join(Appointment, col(Appointment.id) == col(Dossier.appointment_id))
        .join(Organisation, col(Organisation.id) == col(Appointment.post_office_id))
        .where(col(Dossier.id).in_(dossier_ids))
    )
    found = {d: c for d, c in (await session.exec(stmt)).all()}
    missing = [d for d in dossier_ids if d not in found]
    if missing:
        stmt2 = (
            select(Dossier.id, Organisation.code)
            .join(Organisation, col(Organisation.id) == col(Dossier.post_office_id))
            .where(col(Dossier.id).in_(missing))
        )
        found.update({d: c for d, c in (await session.exec(stmt2)).all()})
    return found


async def readable(session: AsyncSession, principal: Principal, batch: Remittance) -> bool:
    """Admins; the agency it is for; the dispatchers of the office it is for (or of any office, for an
    admin's province-wide batch? no: only an office's own batch)."""
    if principal.role == Role.admin:
        return True
    org = await session.get(Organisation, principal.org_id) if principal.org_id else None
    if org is None:
        return False
    if principal.role == Role.agency:
        return org.code == batch.org_code
    if principal.role == Role.dispatcher:
        return batch.office_code == org.code
    return False


async def answer(session: AsyncSession, batch: Remittance) -> RemittanceOut:
    items = (await session.exec(select(RemittanceItem).where(RemittanceItem.remittance_id == batch.id))).all()
    ids = {
        d.id: d.item_id
        for d in (
            await session.exec(select(Dossier).where(col(Dossier.id).in_([i.dossier_id for i in items])))
        ).all()
    }
    return RemittanceOut(
        id=batch.id,
        agency=batch.org_code,
        office=batch.office_code,
        status=batch.status,
        total_vnd=batch.total_vnd,
        until=to_vn(batch.until),
        created_at=to_vn(batch.created_at),
        confirmed_at=to_vn(batch.confirmed_at) if batch.confirmed_at else None,
        items=[
            RemittanceItemOut(dossier_id=i.dossier_id, item_id=ids.get(i.dossier_id), amount_vnd=i.amount_vnd)
            for i in sorted(items, key=lambda i: str(i.dossier_id))
        ],
    )
