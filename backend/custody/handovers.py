"""Handovers: a manifest of items passed from one holder to another, confirmed by the receiver's scan.

Custody moves only for what the receiver scanned; anything on the manifest but not scanned is ``missing`` (it
stays with the sender) and anything scanned but not on the manifest is ``extra``. Both are shown to both sides.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.custody import transitions as tr
from backend.custody.ids import parse_item_id
from backend.custody.services import (
    ORG_CUSTODY,
    Actor,
    Effects,
    actor_for,
    handover_transition,
    load_dossier,
    staff_ids,
)
from backend.lib.auth import Principal
from backend.lib.paging import Paging, fetch_page
from backend.lib.problems import Problem, not_found
from notifications.outbox import enqueue
from schemas.accounts import StaffUser
from schemas.base import utcnow
from schemas.dossiers import (
    CustodianKind,
    Dossier,
    Handover,
    HandoverConfirm,
    HandoverCreate,
    HandoverItem,
    HandoverItemState,
    HandoverStatus,
)
from schemas.enums import Role
from schemas.orgs import Organisation


async def in_open_handover(session: AsyncSession, dossier_id: uuid.UUID) -> bool:
    row = await session.exec(
        select(HandoverItem.id)
        .join(Handover, col(Handover.id) == HandoverItem.handover_id)
        .where(
            HandoverItem.dossier_id == dossier_id,
            Handover.status == HandoverStatus.pending,
            HandoverItem.state == HandoverItemState.expected,
        )
        .limit(1)
    )
    return row.first() is not None


def _sender(actor: Actor) -> tuple[CustodianKind, uuid.UUID | None, uuid.UUID | None]:
    if actor.role == Role.courier:
        return CustodianKind.courier, actor.org.id if actor.org else None, actor.principal.id
    if actor.org is None:
        raise Problem(403, "Tài khoản không thuộc đơn vị nào / no organisation", code="no_org")
    return ORG_CUSTODY[actor.org.kind], actor.org.id, None


def _holds(actor: Actor, dossier: Dossier) -> bool:
    if actor.role == Role.courier:
        return dossier.custodian_user_id == actor.principal.id
    return (
        actor.org is not None
        and dossier.custodian_org_id == actor.org.id
        and dossier.custodian_kind != CustodianKind.courier
    )


async def create_handover(
    session: AsyncSession, principal: Principal, body: HandoverCreate, *, now: datetime | None = None
) -> tuple[Handover, Effects]:
    now = now or utcnow()
    actor = await actor_for(session, principal)
    from_kind, from_org, from_user = _sender(actor)
    to_kind, to_org, to_user = await _receiver(session, body.to)
    same = (
        to_user.id == from_user
        if to_user
        else (from_user is None and to_org is not None and to_org.id == from_org)
    )
    if same:
        raise Problem(
            422, "Không thể tự bàn giao cho mình / cannot hand over to yourself", code="same_holder"
        )
    dossiers = await _handed(session, actor, body.items, to_kind)
    handover = Handover(
        from_org_id=from_org,
        from_user_id=from_user,
        from_kind=from_kind,
        to_org_id=to_org.id if to_org else None,
        to_user_id=to_user.id if to_user else None,
        to_kind=to_kind,
        created_by=principal.id,
        created_at=now,
        eta=body.eta,
        seal_number=body.seal_number,
        note=body.note,
    )
    session.add(handover)
    await session.flush()
    effects = Effects()
    for item_id, d in dossiers:
        # The manifest keeps the label that travels (HS for a dossier, KQ for its result): that is what is scanned.
        session.add(HandoverItem(handover_id=handover.id, item_id=item_id, dossier_id=d.id))
        code = tr.departure_code(d.status, to_kind)
        if code is not None:
            await handover_transition(
                session,
                actor,
                d,
                code,
                now=now,
                target_org=actor.org,
                target_user=None,
                handover_id=handover.id,
                effects=effects,
            )
    if to_org is not None and to_kind in {CustodianKind.desk, CustodianKind.agency}:
        sender = actor.org.name if actor.org else "—"
        await _announce_incoming(session, handover, to_org, sender, len(dossiers), body.eta or now, effects)
    await session.commit()
    return handover, effects


async def _receiver(
    session: AsyncSession, to: str
) -> tuple[CustodianKind, Organisation | None, StaffUser | None]:
    """An organisation by its code, else a courier by their username (with the courier's post office)."""
    to_org = (await session.exec(select(Organisation).where(Organisation.code == to))).one_or_none()
    if to_org is not None:
        return ORG_CUSTODY[to_org.kind], to_org, None
    to_user = (
        await session.exec(select(StaffUser).where(StaffUser.username == to, StaffUser.role == Role.courier))
    ).one_or_none()
    if to_user is None:
        raise Problem(422, f"Không có nơi nhận '{to}' / unknown receiver", code="unknown_receiver")
    to_org = await session.get(Organisation, to_user.organisation_id) if to_user.organisation_id else None
    return CustodianKind.courier, to_org, to_user


async def _handed(
    session: AsyncSession, actor: Actor, items: list[str], to_kind: CustodianKind
) -> list[tuple[str, Dossier]]:
    """The items, locked; all or none: any that the sender may not hand over refuses the whole manifest."""
    dossiers: list[tuple[str, Dossier]] = []
    problems: list[dict[str, Any]] = []
    for item_id in dict.fromkeys(parse_item_id(i) for i in items):
        try:
            d = await load_dossier(session, item_id, for_update=True)
        except Problem:
            problems.append({"item_id": item_id, "error": "not_found"})
            continue
        if not _holds(actor, d):
            problems.append({"item_id": item_id, "error": "not_in_your_custody"})
        elif not tr.can_hand_over(d.status, to_kind):
            problems.append({"item_id": item_id, "error": "cannot_hand_over", "current_status": d.status})
        elif await in_open_handover(session, d.id):
            problems.append({"item_id": item_id, "error": "already_in_a_handover"})
        else:
            dossiers.append((item_id, d))
    if problems:
        raise Problem(
            409,
            "Một số bưu gửi không bàn giao được / some items cannot be handed over",
            code="handover_rejected",
            extra={"items": problems},
        )
    return dossiers


async def _announce_incoming(
    session: AsyncSession,
    handover: Handover,
    to_org: Organisation,
    sender: str,
    count: int,
    eta: datetime,
    effects: Effects,
) -> None:
    """The receiving desk's or agency's staff learn a batch is on its way; a desk's live feed shows it."""
    for staff_id in await staff_ids(session, to_org.id):
        enqueue(
            session,
            recipient_kind="staff",
            recipient_id=staff_id,
            template="desk.incoming_batch",
            params={"count": count, "sender": sender, "eta": eta, "handover_id": handover.id},
            dedupe_key=f"desk.incoming_batch:{handover.id}",
        )
    if handover.to_kind == CustodianKind.desk:
        effects.feed.append(
            (
                to_org.id,
                {
                    "type": "handover.incoming",
                    "handover_id": str(handover.id),
                    "count": count,
                    "sender": sender,
                },
            )
        )


def _is_receiver(principal: Principal, h: Handover) -> bool:
    if principal.role == Role.admin:
        return True
    if h.to_kind == CustodianKind.courier:
        return h.to_user_id == principal.id
    return principal.role != Role.courier and principal.org_id is not None and principal.org_id == h.to_org_id


def _is_party(principal: Principal, h: Handover) -> bool:
    if principal.role == Role.admin:
        return True
    if principal.role == Role.courier:
        return principal.id in {h.from_user_id, h.to_user_id}
    return principal.org_id is not None and principal.org_id in {h.from_org_id, h.to_org_id}


async def get_handover(session: AsyncSession, principal: Principal, handover_id: uuid.UUID) -> Handover:
    h = await session.get(Handover, handover_id)
    if h is None or not _is_party(principal, h):
        raise not_found("lô bàn giao / handover", handover_id)
    return h


async def confirm_handover(
    session: AsyncSession,
    principal: Principal,
    handover_id: uuid.UUID,
    body: HandoverConfirm,
    *,
    now: datetime | None = None,
) -> tuple[Handover, Effects]:
    now = now or utcnow()
    h = await session.get(Handover, handover_id, with_for_update=True)
    if h is None or not _is_party(principal, h):
        raise not_found("lô bàn giao / handover", handover_id)
    if not _is_receiver(principal, h):
        raise Problem(403, "Chỉ bên nhận được xác nhận / only the receiver confirms", code="not_receiver")
    if h.status != HandoverStatus.pending:
        raise Problem(409, "Lô bàn giao đã được xác nhận / already confirmed", code="already_confirmed")
    actor = await actor_for(session, principal)
    scanned = list(dict.fromkeys(parse_item_id(i) for i in body.scanned))
    items = list((await session.exec(select(HandoverItem).where(HandoverItem.handover_id == h.id))).all())
    to_org = await session.get(Organisation, h.to_org_id) if h.to_org_id else None
    effects = Effects()
    missing: list[str] = []
    for item in items:
        # already received one by one (the agency console's scan)
        if item.state == HandoverItemState.received:
            continue
        if item.item_id not in scanned:
            item.state = HandoverItemState.missing
            missing.append(item.item_id)
            continue
        item.state = HandoverItemState.received
        dossier = await load_dossier(session, item.item_id, for_update=True)
        code = tr.receipt_code(dossier.status, h.to_kind)
        await handover_transition(
            session,
            actor,
            dossier,
            code,
            now=now,
            target_org=to_org,
            target_user=h.to_user_id,
            handover_id=h.id,
            effects=effects,
        )
    on_manifest = {i.item_id for i in items}
    extra = [item_id for item_id in scanned if item_id not in on_manifest]
    for item_id in extra:
        found = (await session.exec(select(Dossier.id).where(Dossier.item_id == item_id))).first()
        session.add(
            HandoverItem(handover_id=h.id, item_id=item_id, dossier_id=found, state=HandoverItemState.extra)
        )
    h.status = HandoverStatus.discrepancy if missing or extra else HandoverStatus.confirmed
    h.confirmed_by = principal.id
    h.confirmed_at = now
    if missing or extra:
        await _report_discrepancy(session, h, to_org, missing, extra, effects)
    await session.commit()
    return h, effects


async def _report_discrepancy(
    session: AsyncSession,
    h: Handover,
    to_org: Organisation | None,
    missing: list[str],
    extra: list[str],
    effects: Effects,
) -> None:
    """Both sides' staff (and couriers) are told what was missing or extra; desks see it on their live feed."""
    detail = "; ".join(
        part
        for part in (
            f"thiếu / missing: {', '.join(missing)}" if missing else "",
            f"thừa / extra: {', '.join(extra)}" if extra else "",
        )
        if part
    )
    from_org = await session.get(Organisation, h.from_org_id) if h.from_org_id else None
    sender = from_org.name if from_org else "—"
    recipients: set[uuid.UUID] = set()
    for org_id in {h.from_org_id, h.to_org_id} - {None}:
        assert org_id is not None
        recipients.update(await staff_ids(session, org_id))
    recipients.update(u for u in (h.from_user_id, h.to_user_id) if u)
    for staff_id in recipients:
        enqueue(
            session,
            recipient_kind="staff",
            recipient_id=staff_id,
            template="desk.discrepancy",
            params={"sender": sender, "detail": detail, "handover_id": h.id},
            dedupe_key=f"desk.discrepancy:{h.id}",
        )
    for org in (from_org, to_org):
        if org is not None and ORG_CUSTODY.get(org.kind) == CustodianKind.desk:
            effects.feed.append(
                (
                    org.id,
                    {
                        "type": "handover.discrepancy",
                        "handover_id": str(h.id),
                        "missing": missing,
                        "extra": extra,
                    },
                )
            )


async def handover_items(session: AsyncSession, handover_id: uuid.UUID) -> list[HandoverItem]:
    stmt = select(HandoverItem).where(HandoverItem.handover_id == handover_id).order_by(HandoverItem.item_id)
    return list((await session.exec(stmt)).all())


async def handover_out(session: AsyncSession, h: Handover) -> dict[str, Any]:
    items = await handover_items(session, h.id)
    orgs = {
        o.id: o
        for o in (
            await session.exec(
                select(Organisation).where(col(Organisation.id).in_([h.from_org_id, h.to_org_id]))
            )
        ).all()
    }

    def org_code(org_id: uuid.UUID | None) -> str | None:
        return orgs[org_id].code if org_id in orgs else None

    return {
        "id": str(h.id),
        "status": h.status.value,
        "from": {
            "kind": h.from_kind.value,
            "org": org_code(h.from_org_id),
            "user_id": str(h.from_user_id) if h.from_user_id else None,
        },
        "to": {
            "kind": h.to_kind.value,
            "org": org_code(h.to_org_id),
            "user_id": str(h.to_user_id) if h.to_user_id else None,
        },
        "created_at": h.created_at,
        "confirmed_at": h.confirmed_at,
        "eta": h.eta,
        "seal_number": h.seal_number,
        "note": h.note,
        "items": [{"item_id": i.item_id, "state": i.state.value} for i in items],
        "discrepancies": [
            {"item_id": i.item_id, "kind": i.state.value}
            for i in items
            if i.state in {HandoverItemState.missing, HandoverItemState.extra}
        ],
    }


async def list_handovers(
    session: AsyncSession,
    principal: Principal,
    paging: Paging,
    *,
    status: HandoverStatus | None,
    direction: str | None,
) -> tuple[list[dict[str, Any]], int]:
    stmt = select(Handover).order_by(col(Handover.created_at).desc())
    mine_in: Any
    mine_out: Any
    if principal.role == Role.courier:
        mine_in, mine_out = (
            col(Handover.to_user_id) == principal.id,
            col(Handover.from_user_id) == principal.id,
        )
    elif principal.role == Role.admin:
        mine_in = mine_out = col(Handover.id).is_not(None)
    else:
        if principal.org_id is None:
            return [], 0
        mine_in = Handover.to_org_id == principal.org_id
        mine_out = Handover.from_org_id == principal.org_id
    if direction == "incoming":
        stmt = stmt.where(mine_in)
    elif direction == "outgoing":
        stmt = stmt.where(mine_out)
    else:
        stmt = stmt.where(or_(mine_in, mine_out))
    if status is not None:
        stmt = stmt.where(Handover.status == status)
    rows, total = await fetch_page(session, stmt, paging)
    return [await handover_out(session, h) for h in rows], total
