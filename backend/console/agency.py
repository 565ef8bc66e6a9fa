"""The agency console's two views that no domain answers on its own (issue 23): the agency's queue and the
receipt of one dossier by scanning it.

The queue's lists (one agency's; an admin's view spans every agency):

* ``incoming``: on a pending handover to the agency, not received yet;
* ``processing``: in the agency's hands, being decided, the clock running;
* ``supplement``: waiting for the citizen's supplement (the clock stopped, Decree 118/2025/NĐ-CP);
* ``decided``: decided (or withdrawn), the paper still with the agency: to go back to the desk;
* ``due_soon``: processing, due within two working days (the desk's rule, ``custody.views``);
* ``overdue``: processing, past the due instant.

Receiving by scan confirms one item of the desk's handover at a time: custody moves and the receipt (TCQ) is
recorded for that item only; the handover is confirmed when its last item is received. Items never scanned stay
on the handover, which the receiver may still confirm as a whole (``POST /handovers/{id}/confirm``: they become
missing). Least personal data: the applicant's name only, and each read of it is written to the personal-data
audit (Decree 13/2023/NĐ-CP).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import and_, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit import services as audit
from backend.audit.services import Access
from backend.catalogue.calendar import WorkingCalendar
from backend.catalogue.calendar_service import working_calendar
from backend.custody import deadlines
from backend.custody import transitions as tr
from backend.custody.ids import parse_item_id
from backend.custody.services import Effects, actor_for, handover_transition, load_dossier
from backend.custody.views import DUE_SOON_WORKING_DAYS, _status_label
from backend.lib.auth import Principal
from backend.lib.paging import Paging, fetch_page
from backend.lib.problems import Problem, forbidden, not_found
from schemas.accounts import Citizen
from schemas.agency_console import AGENCY_LISTS
from schemas.base import utcnow
from schemas.catalogue import Procedure
from schemas.dossiers import (
    CustodianKind,
    Dossier,
    DossierEvent,
    Handover,
    HandoverItem,
    HandoverItemState,
    HandoverStatus,
)
from schemas.enums import OrgKind, Role
from schemas.orgs import Organisation

S = tr.Status
DECIDED = (S.resolved.value, S.withdrawn.value)
SUPPLEMENT = (S.awaiting_supplement.value, S.supplement_in_transit.value)


@dataclass(frozen=True)
class Scope:
    """Whose queue: one agency, or (an admin without ``agency``) every agency."""

    agency: Organisation | None


async def scope_for(session: AsyncSession, principal: Principal, code: str | None) -> Scope:
    """An agency's staff: their own agency only (another code is 403); an admin: the agency named, else all."""
    if principal.role == Role.agency:
        org = await session.get(Organisation, principal.org_id) if principal.org_id else None
        if org is None:
            raise Problem(403, "Tài khoản không thuộc đơn vị nào / no organisation", code="no_org")
        if code is not None and code != org.code:
            raise forbidden("Chỉ xem được cơ quan của mình / only your own agency")
        return Scope(org)
    if code is None:
        return Scope(None)
    org = (await session.exec(select(Organisation).where(Organisation.code == code))).one_or_none()
    if org is None or org.kind != OrgKind.agency:
        raise not_found("cơ quan / agency", code)
    return Scope(org)


def _held(scope: Scope) -> Any:
    """In the agency's hands (the paper at the agency, not with a courier)."""
    if scope.agency is None:
        return Dossier.custodian_kind == CustodianKind.agency
    return and_(Dossier.custodian_org_id == scope.agency.id, Dossier.custodian_kind == CustodianKind.agency)


def _pending(scope: Scope, *, incoming: bool) -> Any:
    """Dossier ids on a pending handover to (from) the agency, item not received yet."""
    stmt = (
        select(HandoverItem.dossier_id)
        .join(Handover, col(Handover.id) == HandoverItem.handover_id)
        .where(Handover.status == HandoverStatus.pending, HandoverItem.state == HandoverItemState.expected)
    )
    kind, org = (
        (Handover.to_kind, Handover.to_org_id) if incoming else (Handover.from_kind, Handover.from_org_id)
    )
    stmt = stmt.where(kind == CustodianKind.agency)
    return stmt.where(org == scope.agency.id) if scope.agency is not None else stmt


def _where(scope: Scope, name: str, now: datetime, horizon: datetime) -> list[Any]:
    running = [_held(scope), Dossier.status == S.processing.value, col(Dossier.paused_at).is_(None)]
    if name == "incoming":
        return [col(Dossier.id).in_(_pending(scope, incoming=True))]
    if name == "processing":
        return running
    if name == "supplement":
        mine = (
            Dossier.agency_id == scope.agency.id
            if scope.agency is not None
            else col(Dossier.agency_id).is_not(None)
        )
        return [mine, col(Dossier.status).in_(SUPPLEMENT)]
    if name == "decided":
        return [_held(scope), col(Dossier.status).in_(DECIDED)]
    due = col(Dossier.due_at)
    if name == "due_soon":
        return [*running, due >= now, due <= horizon]
    return [*running, due < now]  # overdue


def _horizon(calendar: WorkingCalendar, now: datetime) -> datetime:
    return calendar.end_of_day(calendar.add_days(calendar.effective_receipt_day(now), DUE_SOON_WORKING_DAYS))


async def queue(
    session: AsyncSession,
    principal: Principal,
    scope: Scope,
    name: str,
    paging: Paging,
    access: Access | None,
) -> dict[str, Any]:
    now = utcnow()
    calendar = await working_calendar(session)
    horizon = _horizon(calendar, now)
    order = (col(Dossier.due_at).asc().nulls_last(), col(Dossier.created_at).asc())
    stmt = select(Dossier).where(*_where(scope, name, now, horizon)).order_by(*order)
    rows, total = await fetch_page(session, stmt, paging)
    counts = {}
    for other in AGENCY_LISTS:
        count = select(func.count()).select_from(Dossier).where(*_where(scope, other, now, horizon))
        counts[other] = int((await session.exec(count)).one())
    items = await rows_out(session, principal, rows, calendar, now, access)
    agency = {"code": scope.agency.code, "name": scope.agency.name} if scope.agency else None
    return {
        "agency": agency,
        "list": name,
        "items": items,
        "total": total,
        "limit": paging.limit,
        "offset": paging.offset,
        "counts": counts,
        "as_of": now,
    }


def days_left(d: Dossier, now: datetime, calendar: WorkingCalendar) -> int | None:
    """Working days to the due day, from today or, while the clock is stopped, from the pause."""
    if d.due_at is None or d.resolved_at is not None or d.outcome is not None:
        return None
    return deadlines.working_days_left(d, d.paused_at or now, calendar)


async def _handovers(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, Handover]:
    """Each dossier's pending handover (to or from an agency), item not received yet."""
    if not ids:
        return {}
    stmt = (
        select(HandoverItem.dossier_id, Handover)
        .join(Handover, col(Handover.id) == HandoverItem.handover_id)
        .where(
            col(HandoverItem.dossier_id).in_(ids),
            Handover.status == HandoverStatus.pending,
            HandoverItem.state == HandoverItemState.expected,
        )
    )
    return {dossier_id: h for dossier_id, h in (await session.exec(stmt)).all() if dossier_id is not None}


async def _reasons(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The reason given with each dossier's decision (TKQ) or withdrawal (TRH), the latest."""
    if not ids:
        return {}
    stmt = (
        select(DossierEvent.dossier_id, DossierEvent.reason)
        .where(col(DossierEvent.dossier_id).in_(ids), col(DossierEvent.code).in_(("TKQ", "TRH")))
        .order_by(col(DossierEvent.at))
    )
    return {dossier_id: reason for dossier_id, reason in (await session.exec(stmt)).all() if reason}


async def rows_out(
    session: AsyncSession,
    principal: Principal,
    dossiers: list[Dossier],
    calendar: WorkingCalendar,
    now: datetime,
    access: Access | None,
) -> list[dict[str, Any]]:
    ids = [d.id for d in dossiers]
    procs = await _by_id(session, Procedure, {d.procedure_id for d in dossiers})
    desks = await _by_id(session, Organisation, {d.desk_id for d in dossiers if d.desk_id})
    citizens = await _by_id(session, Citizen, {d.citizen_id for d in dossiers if d.citizen_id})
    handovers, reasons = await _handovers(session, ids), await _reasons(session, ids)
    out, read = [], []
    for d in dossiers:
        proc, desk = procs.get(d.procedure_id), desks.get(d.desk_id) if d.desk_id else None
        citizen = citizens.get(d.citizen_id) if d.citizen_id else None
        if citizen is not None and citizen.full_name:
            read.append((citizen.id, {"full_name"}, d.item_id))
        h = handovers.get(d.id)
        out.append(
            {
                "item_id": d.item_id,
                "procedure": proc.code if proc else None,
                "procedure_name": proc.name if proc else None,
                "processing_days": proc.processing_days if proc else None,
                "applicant_name": citizen.full_name if citizen else None,
                "status": d.status,
                "status_label": _status_label(d.status),
                "desk": {"code": desk.code, "name": desk.name} if desk else None,
                "received_at": d.received_at,
                "due_at": d.due_at,
                "working_days_left": days_left(d, now, calendar),
                "timeliness": deadlines.timeliness(d, now, calendar),
                "paused_at": d.paused_at,
                "missing_documents": list((d.data or {}).get("missing") or []),
                "outcome": d.outcome,
                "decision_reason": reasons.get(d.id),
                "resolved_at": d.resolved_at,
                "handover_id": h.id if h else None,
                "sent_at": h.created_at if h else None,
            }
        )
    if read:
        audit.record(session, principal, access, read)
    return out


async def _by_id(session: AsyncSession, table: Any, ids: set[Any]) -> dict[Any, Any]:
    if not ids:
        return {}
    return {r.id: r for r in (await session.exec(select(table).where(col(table.id).in_(ids)))).all()}


async def receive(
    session: AsyncSession, principal: Principal, scope: Scope, raw_id: str, access: Access | None
) -> tuple[dict[str, Any], Effects]:
    """Receive one scanned dossier from a pending handover to the agency: custody moves and the receipt is
    recorded for it alone; the handover is confirmed with its last item. Unknown ids, and ids that are not on a
    handover to this agency, are the same 404 (nobody learns that another agency's dossier exists)."""
    item_id = parse_item_id(raw_id)  # 422 invalid_item_id
    dossier = await load_dossier(session, item_id)
    found = await _incoming_item(session, scope, dossier.id)
    if found is None:
        # Re-read: a scan of the same item may have committed between the two reads above, so the dossier
        # read first can still show the desk's custody although its handover item is no longer expected.
        dossier = await session.get(Dossier, dossier.id, populate_existing=True) or dossier
        held = dossier.custodian_kind == CustodianKind.agency
        if held and (scope.agency is None or dossier.custodian_org_id == scope.agency.id):
            raise Problem(
                409,
                f"Hồ sơ {dossier.item_id} đã được nhận, đang ở trạng thái '{_status_label(dossier.status)['vi']}' / "
                f"already received, now '{_status_label(dossier.status)['en']}'",
                code="already_received",
                extra={"item_id": dossier.item_id, "current_status": dossier.status},
            )
        raise Problem(
            404,
            f"Không tìm thấy hồ sơ {item_id} trong các lô bàn giao đến cơ quan / "
            f"no dossier {item_id} on a handover to this agency",
            code="not_found",
        )
    item_row_id, handover_id = found
    # The same lock order as a handover's confirmation: the handover, then the dossier.
    # Re-read under the locks (populate_existing): another scan of the same item may have committed meanwhile.
    h = await session.get(Handover, handover_id, with_for_update=True, populate_existing=True)
    locked = await session.get(Dossier, dossier.id, with_for_update=True, populate_existing=True)
    item = await session.get(HandoverItem, item_row_id, with_for_update=True, populate_existing=True)
    assert h is not None and locked is not None and item is not None
    dossier = locked
    if h.status != HandoverStatus.pending or item.state != HandoverItemState.expected:
        raise Problem(409, "Hồ sơ vừa được nhận / received meanwhile", code="already_received")
    now = utcnow()
    effects = Effects()
    to_org = await session.get(Organisation, h.to_org_id) if h.to_org_id else None
    await handover_transition(
        session,
        await actor_for(session, principal),
        dossier,
        tr.receipt_code(dossier.status, h.to_kind),
        now=now,
        target_org=to_org,
        target_user=None,
        handover_id=h.id,
        effects=effects,
    )
    item.state = HandoverItemState.received
    session.add(item)
    await session.flush()
    remaining = int(
        (
            await session.exec(
                select(func.count())
                .select_from(HandoverItem)
                .where(HandoverItem.handover_id == h.id, HandoverItem.state == HandoverItemState.expected)
            )
        ).one()
    )
    if remaining == 0:
        h.status = HandoverStatus.confirmed
        h.confirmed_by = principal.id
        h.confirmed_at = now
        session.add(h)
    calendar = await working_calendar(session)
    (row,) = await rows_out(session, principal, [dossier], calendar, now, access)
    await session.commit()
    answer = {
        "dossier": row,
        "handover_id": h.id,
        "remaining": remaining,
        "handover_complete": remaining == 0,
    }
    return answer, effects


async def _incoming_item(
    session: AsyncSession, scope: Scope, dossier_id: uuid.UUID
) -> tuple[uuid.UUID, uuid.UUID] | None:
    stmt = (
        select(HandoverItem.id, Handover.id)
        .join(Handover, col(Handover.id) == HandoverItem.handover_id)
        .where(
            HandoverItem.dossier_id == dossier_id,
            HandoverItem.state == HandoverItemState.expected,
            Handover.status == HandoverStatus.pending,
            Handover.to_kind == CustodianKind.agency,
        )
        .limit(1)
    )
    if scope.agency is not None:
        stmt = stmt.where(Handover.to_org_id == scope.agency.id)
    row = (await session.exec(stmt)).first()
    return (row[0], row[1]) if row is not None else None
