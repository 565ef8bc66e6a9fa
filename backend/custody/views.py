"""What callers see of a dossier: lists scoped to the caller, one dossier with its chain of custody, and the
public tracking page.

Personal data (Decree 13/2023/NĐ-CP): public tracking shows statuses, times and office names only (never the
free-text place a courier typed, which may be an address); the citizen's phone and name are shown to the owner
and to staff of an office holding the dossier, and to a courier only while it is in their hands.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import and_, col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.phones import normalise_phone
from backend.audit import services as audit
from backend.audit.services import Access
from backend.catalogue.calendar import WorkingCalendar
from backend.catalogue.calendar_service import working_calendar
from backend.custody import transitions as tr
from backend.custody.ids import parse_item_id
from backend.custody.services import load_dossier, result_of, timeliness_now, was_custodian
from backend.lib.auth import Principal
from backend.lib.paging import Paging, fetch_page
from backend.lib.privacy import mask_phone
from backend.lib.problems import Problem, not_found
from backend.money import dues as money_dues
from schemas import s10
from schemas.accounts import Citizen
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
    PickupRecord,
    ResultItem,
)
from schemas.enums import Role
from schemas.orgs import Organisation
from schemas.returns import ReturnOffer, ReturnOfferStatus

VIEWS = ("incoming", "on_hand", "outgoing", "due_soon", "overdue")
DUE_SOON_WORKING_DAYS = 2


async def _orgs(session: AsyncSession, ids: set[uuid.UUID | None]) -> dict[uuid.UUID, Organisation]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = await session.exec(select(Organisation).where(col(Organisation.id).in_(wanted)))
    return {o.id: o for o in rows.all()}


def _code(orgs: dict[uuid.UUID, Organisation], org_id: uuid.UUID | None) -> str | None:
    return orgs[org_id].code if org_id is not None and org_id in orgs else None


async def dossier_rows(
    session: AsyncSession, dossiers: list[Dossier], principal: Principal, calendar: WorkingCalendar
) -> list[dict[str, Any]]:
    ids: set[uuid.UUID | None] = set()
    for d in dossiers:
        ids.update({d.custodian_org_id, d.post_office_id, d.desk_id, d.agency_id})
    orgs = await _orgs(session, ids)
    procs = (
        {
            p.id: p
            for p in (
                await session.exec(
                    select(Procedure).where(col(Procedure.id).in_({d.procedure_id for d in dossiers}))
                )
            ).all()
        }
        if dossiers
        else {}
    )
    results = (
        {
            r.dossier_id: r
            for r in (
                await session.exec(
                    select(ResultItem).where(col(ResultItem.dossier_id).in_([d.id for d in dossiers]))
                )
            ).all()
        }
        if dossiers
        else {}
    )
    now = utcnow()
    out = []
    for d in dossiers:
        proc = procs.get(d.procedure_id)
        result = results.get(d.id)
        org = orgs.get(d.custodian_org_id) if d.custodian_org_id else None
        out.append(
            {
                "item_id": d.item_id,
                "result_item_id": result.item_id if result else None,
                "procedure": proc.code if proc else None,
                "procedure_name": proc.name if proc else None,
                "status": d.status,
                "status_label": _status_label(d.status),
                "portal_status": d.portal_status,
                "custodian": {
                    "kind": d.custodian_kind.value,
                    "org": org.code if org else None,
                    "org_name": org.name if org else None,
                    "user_id": str(d.custodian_user_id) if d.custodian_user_id else None,
                },
                "channel": d.channel.value,
                "postal_pickup": d.postal_pickup,
                "postal_return": d.postal_return,
                "post_office": _code(orgs, d.post_office_id),
                "desk": _code(orgs, d.desk_id),
                "agency": _code(orgs, d.agency_id),
                "agency_code": d.agency_code,
                "appointment_id": str(d.appointment_id) if d.appointment_id else None,
                "submitted_at": d.submitted_at,
                "received_at": d.received_at,
                "due_at": d.due_at,
                "paused_at": d.paused_at,
                "paused_working_days": d.paused_working_days,
                "resolved_at": d.resolved_at,
                "returned_at": d.returned_at,
                "outcome": d.outcome,
                "timeliness": timeliness_now(d, calendar, now),
                "supplement_required": d.supplement_required,
                "missing_documents": d.data.get("missing", []),
                "delivery_attempts": result.delivery_attempts if result else 0,
                "counter_pickup": result.counter_pickup if result else False,
                "allowed_events": tr.allowed_codes(d.status, principal.role) if principal.is_staff else [],
                "created_at": d.created_at,
                "updated_at": d.updated_at,
            }
        )
    return out


def _status_label(status: str) -> dict[str, str]:
    labels = {
        "collected": ("Bưu tá đã nhận hồ sơ", "Collected by the courier"),
        "at_post_office": ("Tại bưu cục", "At the post office"),
        "in_transit_to_desk": ("Đang chuyển đến Bộ phận Một cửa", "On the way to the desk"),
        "received": ("Đã tiếp nhận", "Received"),
        "not_accepted": ("Không được tiếp nhận", "Not accepted"),
        "processing": ("Đang giải quyết", "Being processed"),
        "awaiting_supplement": ("Chờ bổ sung hồ sơ", "Waiting for supplements"),
        "supplement_in_transit": (
            "Hồ sơ bổ sung đang chuyển đến Bộ phận Một cửa",
            "Supplement on its way to the desk",
        ),
        "resolved": ("Đã có kết quả", "Decided"),
        "withdrawn": ("Đã rút hồ sơ", "Withdrawn"),
        "result_ready": ("Kết quả tại Bộ phận Một cửa", "Result at the desk"),
        "result_in_transit": ("Kết quả đang chuyển đến bưu cục", "Result on the way to the post office"),
        "result_at_post_office": ("Kết quả tại bưu cục phát", "Result at the delivery office"),
        "out_for_delivery": ("Đang phát kết quả", "Out for delivery"),
        "delivery_failed": ("Phát không thành công", "Delivery failed"),
        "returned_to_desk": ("Chờ nhận tại quầy", "Waiting for counter pickup"),
        "delivered": ("Đã trả kết quả", "Delivered"),
    }
    vi, en = labels.get(status, (status, status))
    return {"vi": vi, "en": en}


def _timeline_order() -> Any:
    return func.coalesce(DossierEvent.client_at, DossierEvent.at)


async def _events(session: AsyncSession, dossier_id: uuid.UUID) -> list[DossierEvent]:
    stmt = (
        select(DossierEvent)
        .where(DossierEvent.dossier_id == dossier_id)
        .order_by(_timeline_order(), col(DossierEvent.seq))
    )
    return list((await session.exec(stmt)).all())


def _shows_citizen(principal: Principal, d: Dossier) -> bool:
    if principal.role == Role.courier:
        return d.custodian_user_id == principal.id
    return True


async def dossier_detail(
    session: AsyncSession, principal: Principal, raw_id: str, access: Access | None = None
) -> dict[str, Any]:
    """One dossier with its timeline and chain of custody; a staff read of the citizen's name and phone is
    written to the personal-data audit (``access``: the request's route, purpose and address)."""
    dossier = await load_dossier(session, raw_id)
    if not await was_custodian(session, principal, dossier):
        # The same 404 as for an unknown id: nobody learns that someone else's dossier exists.
        raise not_found("hồ sơ / dossier", parse_item_id(raw_id))
    calendar = await working_calendar(session)
    (row,) = await dossier_rows(session, [dossier], principal, calendar)
    events = await _events(session, dossier.id)
    orgs = await _orgs(session, {e.org_id for e in events})
    custody_orgs: set[uuid.UUID | None] = set()
    for e in events:
        org_id = (e.data.get("custodian") or {}).get("org_id")
        custody_orgs.add(uuid.UUID(org_id) if org_id else None)
    orgs.update(await _orgs(session, custody_orgs))
    row["events"] = [
        {
            "seq": e.seq,
            "code": e.code,
            "label": dict(zip(("vi", "en"), tr.label(e.code), strict=True)),
            "status": e.status,
            "portal_status": e.portal_status,
            "at": e.client_at or e.at,
            "server_at": e.at,
            "client_at": e.client_at,
            "place": e.place,
            "org": _code(orgs, e.org_id),
            "lat": e.lat,
            "lon": e.lon,
            "actor_kind": e.actor_kind,
            "actor_id": str(e.actor_id) if e.actor_id else None,
            "reason": e.reason,
            "data": {k: v for k, v in e.data.items() if k != "custodian"},
        }
        for e in events
    ]
    row["custody"] = _chain(events, orgs)
    contact = await _citizen_contact(session, principal, dossier, access)
    if contact is not None:
        row["citizen"] = contact
    pickup = (
        await session.exec(select(PickupRecord).where(PickupRecord.dossier_id == dossier.id))
    ).one_or_none()
    if (
        pickup is not None
        and principal.role != Role.courier
        or (pickup is not None and pickup.courier_id == principal.id)
    ):
        assert pickup is not None
        # The money taken at the visit as the ledger has it (issue 21); the stored number for older records.
        ledger = (
            await money_dues.door_money(session, dossier.appointment_id) if dossier.appointment_id else None
        )
        row["pickup"] = {
            "documents": pickup.documents,
            "missing": pickup.missing,
            "seal_number": pickup.seal_number,
            "fee_collected": ledger[0] if ledger else pickup.fee_collected,
            "receipt_number": (ledger[1] if ledger else None) or pickup.receipt_number,
            "confirmed_by": pickup.confirmed_by,
            "signature_proof_id": pickup.signature_proof_id,  # GET /proofs/{id}
        }
    result = await result_of(session, dossier)
    if result is not None:
        row["result"] = {
            "item_id": result.item_id,
            "delivery_attempts": result.delivery_attempts,
            "counter_pickup": result.counter_pickup,
            "delivered_at": result.delivered_at,
            "recipient_check": result.recipient_check,
            "proof_id": result.proof_id,  # GET /proofs/{id}
        }
    return row


async def _citizen_contact(
    session: AsyncSession, principal: Principal, dossier: Dossier, access: Access | None
) -> dict[str, Any] | None:
    """The citizen's name and phone for those who may see them, the read written to the audit. An agency decides
    in the applicant's name and never calls them (issue 23): the phone masked, as GET /citizens/{id} shows it
    to an agency (Decree 13/2023/NĐ-CP: least data for the purpose)."""
    if not _shows_citizen(principal, dossier) or not dossier.citizen_id:
        return None
    citizen = await session.get(Citizen, dossier.citizen_id)
    if citizen is None:
        return None
    masked = principal.role == Role.agency
    phone = (mask_phone(citizen.phone) or "") if masked else citizen.phone
    shown = {"phone_masked" if masked else "phone"} | ({"full_name"} if citizen.full_name else set())
    audit.record(session, principal, access, [(citizen.id, shown, dossier.item_id)])
    return {"phone": phone, "full_name": citizen.full_name}


def _chain(events: list[DossierEvent], orgs: dict[uuid.UUID, Organisation]) -> list[dict[str, Any]]:
    """Successive holders, from the events' recorded custodian (consecutive equal holders merged)."""
    chain: list[dict[str, Any]] = []
    for e in events:
        c = e.data.get("custodian") or {}
        org_id = uuid.UUID(c["org_id"]) if c.get("org_id") else None
        holder = (c.get("kind"), org_id, c.get("user_id"))
        at = e.client_at or e.at
        if chain and chain[-1]["_key"] == holder:
            continue
        if chain:
            chain[-1]["until"] = at
        chain.append(
            {
                "_key": holder,
                "kind": c.get("kind"),
                "org": _code(orgs, org_id),
                "org_name": orgs[org_id].name if org_id in orgs else None,
                "user_id": c.get("user_id"),
                "since": at,
                "until": None,
            }
        )
    for link in chain:
        link.pop("_key")
    return chain


async def track(session: AsyncSession, raw_id: str) -> dict[str, Any]:
    """Public: statuses, times and office names; nothing about the person or the documents (``dossier_id``
    is for the caller's cache tags, not for the answer)."""
    item_id = parse_item_id(raw_id)
    try:
        dossier = await load_dossier(session, item_id)
    except Problem:
        raise not_found("bưu gửi / item", item_id) from None
    events = await _events(session, dossier.id)
    orgs = await _orgs(session, {e.org_id for e in events})
    return {
        "dossier_id": dossier.id,
        "item_id": item_id,
        "kind": "result" if s10.parse(item_id).service == s10.PREFIX_RESULT else "dossier",
        "status": dossier.status,
        "status_label": _status_label(dossier.status),
        "portal_status": dossier.portal_status,
        "due_at": dossier.due_at,
        "timeline": [
            {
                "code": e.code,
                "label": dict(zip(("vi", "en"), tr.label(e.code), strict=True)),
                "status": e.status,
                "at": e.client_at or e.at,
                "place": orgs[e.org_id].name if e.org_id in orgs else None,
            }
            for e in events
        ],
    }


def _scope(principal: Principal) -> Any:
    if principal.role == Role.admin:
        return None
    if principal.role == Role.citizen:
        return Dossier.citizen_id == principal.id
    if principal.role == Role.courier:
        incoming = (
            select(HandoverItem.dossier_id)
            .join(Handover, col(Handover.id) == HandoverItem.handover_id)
            .where(Handover.status == HandoverStatus.pending, Handover.to_user_id == principal.id)
        )
        return or_(Dossier.custodian_user_id == principal.id, col(Dossier.id).in_(incoming))
    org = principal.org_id
    if org is None:
        return col(Dossier.id).is_(None)
    touched = select(DossierEvent.dossier_id).where(DossierEvent.org_id == org)
    return or_(
        Dossier.custodian_org_id == org,
        Dossier.post_office_id == org,
        Dossier.desk_id == org,
        Dossier.agency_id == org,
        col(Dossier.id).in_(touched),
        col(Dossier.id).in_(_in_handover(principal, incoming=True)),
    )


def _in_handover(principal: Principal, *, incoming: bool) -> Any:
    stmt = (
        select(HandoverItem.dossier_id)
        .join(Handover, col(Handover.id) == HandoverItem.handover_id)
        .where(Handover.status == HandoverStatus.pending, HandoverItem.state == HandoverItemState.expected)
    )
    if principal.role == Role.courier:
        who = Handover.to_user_id if incoming else Handover.from_user_id
        return stmt.where(who == principal.id)
    who_org = Handover.to_org_id if incoming else Handover.from_org_id
    stmt = stmt.where(who_org == principal.org_id)
    if not incoming:
        stmt = stmt.where(col(Handover.from_user_id).is_(None))
    return stmt


def _open() -> Any:
    return and_(
        col(Dossier.received_at).is_not(None),
        col(Dossier.resolved_at).is_(None),
        col(Dossier.outcome).is_(None),
        col(Dossier.paused_at).is_(None),
    )


async def list_dossiers(
    session: AsyncSession,
    principal: Principal,
    paging: Paging,
    *,
    status: str | None = None,
    custodian: str | None = None,
    due_before: datetime | None = None,
    overdue: bool | None = None,
    view: str | None = None,
    q: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    now = utcnow()
    calendar = await working_calendar(session)
    stmt = select(Dossier).order_by(col(Dossier.due_at).asc().nulls_last(), col(Dossier.created_at).desc())
    scope = _scope(principal)
    if scope is not None:
        stmt = stmt.where(scope)
    if status:
        statuses = [s.strip() for s in status.split(",") if s.strip()]
        stmt = stmt.where(col(Dossier.status).in_(statuses))
    if custodian:
        if custodian in {k.value for k in CustodianKind}:
            stmt = stmt.where(Dossier.custodian_kind == custodian)
        else:
            org = (await session.exec(select(Organisation.id).where(Organisation.code == custodian))).first()
            stmt = stmt.where(Dossier.custodian_org_id == org)
    if due_before is not None:
        stmt = stmt.where(col(Dossier.due_at) <= due_before)
    if overdue is not None:
        late = and_(_open(), col(Dossier.due_at) < now)
        stmt = stmt.where(late if overdue else ~late)
    if view == "incoming":
        stmt = stmt.where(col(Dossier.id).in_(_in_handover(principal, incoming=True)))
    elif view == "outgoing":
        stmt = stmt.where(col(Dossier.id).in_(_in_handover(principal, incoming=False)))
    elif view == "on_hand":
        if principal.role == Role.courier:
            stmt = stmt.where(Dossier.custodian_user_id == principal.id)
        elif principal.org_id is not None:
            stmt = stmt.where(
                Dossier.custodian_org_id == principal.org_id, Dossier.custodian_kind != CustodianKind.courier
            )
        stmt = stmt.where(~col(Dossier.id).in_(_in_handover(principal, incoming=False)))
    elif view == "due_soon":
        horizon = calendar.end_of_day(
            calendar.add_days(calendar.effective_receipt_day(now), DUE_SOON_WORKING_DAYS)
        )
        stmt = stmt.where(_open(), col(Dossier.due_at) >= now, col(Dossier.due_at) <= horizon)
    elif view == "overdue":
        stmt = stmt.where(_open(), col(Dossier.due_at) < now)
    elif view == "return_unplaceable":  # a return offer with no address to deliver to (issue 20)
        stmt = stmt.where(
            col(Dossier.id).in_(
                select(ReturnOffer.dossier_id).where(ReturnOffer.status == ReturnOfferStatus.unplaceable)
            )
        )
    if q:
        stmt = stmt.where(await _search(session, q.strip()))
    rows, total = await fetch_page(session, stmt, paging)
    return await dossier_rows(session, rows, principal, calendar), total


async def _search(session: AsyncSession, q: str) -> Any:
    """An item id (dossier or result), the agency's own code, or the citizen's phone."""
    clauses: list[Any] = [Dossier.agency_code == q]
    if s10.is_valid(q):
        item_id = s10.parse(q).item_id
        clauses.append(Dossier.item_id == item_id)
        clauses.append(
            col(Dossier.id).in_(select(ResultItem.dossier_id).where(ResultItem.item_id == item_id))
        )
    try:
        phone = normalise_phone(q)
    except Problem:
        phone = None
    if phone:
        clauses.append(col(Dossier.citizen_id).in_(select(Citizen.id).where(Citizen.phone == phone)))
    return or_(*clauses)
