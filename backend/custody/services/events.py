"""Recording a dossier's events: the transition, its side effects, the custodian, the event row and what it tells.

Every change and its event (who, when on the server and on the device, where, raw code, status, portal status)
and the notifications it causes are written in one transaction (transactional outbox).
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue.calendar import WorkingCalendar
from backend.catalogue.calendar_service import working_calendar
from backend.custody import custodians
from backend.custody import transitions as tr
from backend.custody.services import side_effects
from backend.custody.services.access import Actor, actor_for, load_dossier, may_act
from backend.custody.services.clock import event_time
from backend.lib.auth import Principal
from backend.lib.problems import Problem, not_found
from notifications.outbox import enqueue
from schemas.base import utcnow
from schemas.catalogue import Procedure
from schemas.dossiers import CustodianKind, Dossier, DossierEvent, EventIn
from schemas.enums import OrgKind, Role
from schemas.orgs import Organisation


@dataclass
class Effects:
    """What to do after the commit (the desk live feed is best effort, never part of the transaction)."""

    feed: list[tuple[uuid.UUID, dict[str, Any]]] = field(default_factory=list)


@dataclass
class Move:
    """One transition to record: the code, where it leads, and the context its side effects need."""

    code: str
    to: tr.Status
    when: datetime
    now: datetime
    where: Any
    ev: EventIn | None
    calendar: WorkingCalendar
    procedure: Procedure
    target_org: Organisation | None = None
    target_user: uuid.UUID | None = None
    client_event_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _problem_from(exc: tr.TransitionError) -> Problem:
    return Problem(
        409, str(exc), code="invalid_transition", extra={"current_status": exc.status, "allowed": exc.allowed}
    )


async def record_event(
    session: AsyncSession,
    principal: Principal,
    raw_id: str,
    ev: EventIn,
    *,
    now: datetime | None = None,
    client_event_id: str | None = None,
    commit: bool = True,
) -> tuple[Dossier, DossierEvent, Effects]:
    now = now or utcnow()
    actor = await actor_for(session, principal)
    dossier = await load_dossier(session, raw_id, for_update=True)
    if not may_act(actor, dossier):
        # Same answer as an unknown id: staff elsewhere learn nothing about the dossier.
        raise not_found("hồ sơ / dossier", dossier.item_id)
    try:
        to = tr.next_status(dossier.status, ev.code, principal.role)
    except tr.TransitionError as exc:
        raise _problem_from(exc) from None
    when = event_time(ev.client_at, now)
    if ev.client_at is not None:  # stamped before the latest event: only its holder then (issue 17)
        await custodians.check_held_then(session, principal, dossier.id, when)
    effects = Effects()
    procedure = await session.get(Procedure, dossier.procedure_id)
    assert procedure is not None
    calendar = await working_calendar(session)
    move = Move(
        ev.code,
        to,
        when=when,
        now=now,
        where=ev,
        ev=ev,
        calendar=calendar,
        procedure=procedure,
        client_event_id=client_event_id,
    )
    event = await transition(session, actor, dossier, move, effects)
    if commit:
        await session.commit()
    return dossier, event, effects


async def handover_transition(
    session: AsyncSession,
    actor: Actor,
    dossier: Dossier,
    code: str | None,
    *,
    now: datetime,
    target_org: Organisation | None,
    target_user: uuid.UUID | None,
    handover_id: uuid.UUID,
    effects: Effects,
) -> DossierEvent:
    """A move caused by a handover: the table decides the status; the handover itself is the authority, so no
    role check (a desk clerk scanning in a courier's bag records the courier's arrival)."""
    procedure = await session.get(Procedure, dossier.procedure_id)
    assert procedure is not None
    if code is None:
        to = tr.Status(dossier.status)
        code = tr.CUSTODY_CODE
    else:
        try:
            to = tr.next_status(dossier.status, code)
        except tr.TransitionError as exc:
            raise _problem_from(exc) from None
    move = Move(
        code,
        to,
        when=now,
        now=now,
        where=None,
        ev=None,
        calendar=await working_calendar(session),
        procedure=procedure,
        target_org=target_org,
        target_user=target_user,
        extra={"handover_id": str(handover_id)},
    )
    return await transition(session, actor, dossier, move, effects)


async def transition(
    session: AsyncSession, actor: Actor, dossier: Dossier, move: Move, effects: Effects
) -> DossierEvent:
    """Side effects (``backend/custody/effects.py``), custodian, status and the event row, its notifications and
    the desk feed; then the follow-up a side effect asked for, as the system."""
    scan = side_effects.Scan(
        session=session,
        actor=actor,
        dossier=dossier,
        code=move.code,
        when=move.when,
        ev=move.ev,
        calendar=move.calendar,
        procedure=move.procedure,
        target_org=move.target_org,
        data=dict(move.extra),
    )
    await side_effects.apply(scan)
    _set_custodian(dossier, actor, move.to, move.target_org, move.target_user)
    dossier.status = move.to.value
    dossier.portal_status = tr.portal_status(move.to)
    dossier.version += 1
    dossier.updated_at = move.now
    scan.data["custodian"] = {
        "kind": dossier.custodian_kind.value,
        "org_id": str(dossier.custodian_org_id) if dossier.custodian_org_id else None,
        "user_id": str(dossier.custodian_user_id) if dossier.custodian_user_id else None,
    }
    event = _event_row(actor, dossier, move, scan.data)
    session.add(event)
    await session.flush()
    _tell(session, dossier, event, move.when, scan.notes, effects)
    if scan.follow_up is not None:
        await _follow_up(session, actor, dossier, move, scan.follow_up, effects)
    return event


async def _follow_up(
    session: AsyncSession,
    actor: Actor,
    dossier: Dossier,
    move: Move,
    up: side_effects.FollowUp,
    effects: Effects,
) -> None:
    """Recorded by the system, at the same time as the event that caused it."""
    system = Actor(principal=Principal(id=actor.principal.id, role=Role.admin), org=None)
    auto = Move(
        up.code,
        up.to,
        when=move.when,
        now=move.now,
        where=None,
        ev=None,
        calendar=move.calendar,
        procedure=move.procedure,
        target_org=up.target_org,
        extra=up.extra,
    )
    await transition(session, system, dossier, auto, effects)


def _event_row(actor: Actor, dossier: Dossier, move: Move, data: dict[str, Any]) -> DossierEvent:
    where, target_org = move.where, move.target_org
    return DossierEvent(
        dossier_id=dossier.id,
        seq=dossier.version,
        code=move.code,
        status=move.to.value,
        portal_status=dossier.portal_status,
        actor_kind=actor.kind,
        actor_id=actor.principal.id,
        org_id=actor.org.id if actor.org else (target_org.id if target_org else None),
        at=move.now,
        client_at=move.when if move.when != move.now else None,
        client_event_id=move.client_event_id,
        place=getattr(where, "place", None) or (actor.org.name if actor.org else None),
        lat=getattr(where, "lat", None),
        lon=getattr(where, "lon", None),
        reason=(move.ev.reason if move.ev else None),
        data=data,
    )


def _tell(
    session: AsyncSession,
    dossier: Dossier,
    event: DossierEvent,
    when: datetime,
    notes: list[tuple[str, dict[str, Any]]],
    effects: Effects,
) -> None:
    """The citizen's notifications (outbox rows in this transaction) and the desk's live feed (after commit)."""
    for template, params in notes:
        if dossier.citizen_id is not None:
            enqueue(
                session,
                recipient_kind="citizen",
                recipient_id=dossier.citizen_id,
                template=template,
                params={"item_id": dossier.item_id, **params},
                dedupe_key=f"{template}:{event.id}",
            )
    if dossier.desk_id is not None:
        effects.feed.append(
            (
                dossier.desk_id,
                {
                    "type": "dossier.event",
                    "item_id": dossier.item_id,
                    "code": event.code,
                    "status": event.status,
                    "at": when.isoformat(),
                    "due_at": dossier.due_at.isoformat() if dossier.due_at else None,
                },
            )
        )


def _set_custodian(
    dossier: Dossier,
    actor: Actor,
    to: tr.Status,
    target_org: Organisation | None,
    target_user: uuid.UUID | None,
) -> None:
    kind = tr.custodian_after(to)
    actor_org = actor.org
    org_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    if kind == CustodianKind.courier:
        user_id = target_user or (
            actor.principal.id if actor.role == Role.courier else dossier.custodian_user_id
        )
        org_id = target_org.id if target_org else (actor_org.id if actor_org else dossier.custodian_org_id)
    elif kind == CustodianKind.citizen:
        org_id = None
    else:
        wanted = {
            CustodianKind.post_office: OrgKind.post_office,
            CustodianKind.desk: OrgKind.desk,
            CustodianKind.agency: OrgKind.agency,
        }[kind]
        if target_org is not None and target_org.kind == wanted:
            org_id = target_org.id
        elif actor_org is not None and actor_org.kind == wanted:
            org_id = actor_org.id
        elif kind == CustodianKind.desk:
            org_id = dossier.desk_id
        elif kind == CustodianKind.agency:
            org_id = dossier.agency_id
        elif kind == CustodianKind.post_office:
            org_id = dossier.post_office_id
    if kind == CustodianKind.post_office and org_id is not None:
        dossier.post_office_id = org_id
    dossier.custodian_kind = kind
    dossier.custodian_org_id = org_id
    dossier.custodian_user_id = user_id
