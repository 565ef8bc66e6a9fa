"""Courier offline sync: a batch of events recorded on the device, each with its own id and device time.

* Idempotent: an event already stored for this courier under the same ``client_event_id`` answers
  ``duplicate`` and changes nothing (the unique constraint backs this under concurrent replays).
* Out of order: the batch is applied in device-time order. An event older than the dossier's latest event is
  accepted as history only if it was allowed in the status the dossier had at that moment; it is stored in
  its place in the timeline without changing the current status (a later event already superseded it).
* Each event runs in its own savepoint: one bad event is rejected with a reason, the others still count.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.custody import codeguard
from backend.custody import transitions as tr
from backend.custody.custodians import custodian_at, held_at, not_held_then
from backend.custody.services import (
    Effects,
    create_dossier,
    event_time,
    load_dossier,
    record_event,
)
from backend.lib.auth import Principal
from backend.lib.problems import Problem
from backend.money import collect as money_collect
from schemas.base import utcnow
from schemas.dossiers import BatchEventIn, BatchIn, Dossier, DossierEvent


async def _existing(session: AsyncSession, principal: Principal, client_event_id: str) -> DossierEvent | None:
    stmt = select(DossierEvent).where(
        DossierEvent.actor_id == principal.id, DossierEvent.client_event_id == client_event_id
    )
    return (await session.exec(stmt)).first()


async def _latest_time(session: AsyncSession, dossier_id: Any) -> datetime | None:
    stmt = select(func.max(func.coalesce(DossierEvent.client_at, DossierEvent.at))).where(
        DossierEvent.dossier_id == dossier_id
    )
    return (await session.exec(stmt)).one()  # type: ignore[arg-type]


async def _status_at(session: AsyncSession, dossier_id: Any, at: datetime) -> str | None:
    when = func.coalesce(DossierEvent.client_at, DossierEvent.at)
    stmt = (
        select(DossierEvent.status)
        .where(DossierEvent.dossier_id == dossier_id, when <= at)
        .order_by(when.desc(), col(DossierEvent.seq).desc())
        .limit(1)
    )
    return (await session.exec(stmt)).first()


# Codes whose checks and effects only apply to the dossier as it is now: never stored as late history.
LIVE_ONLY = frozenset({"EMI", "KQN"})


async def _historical(
    session: AsyncSession, principal: Principal, ev: BatchEventIn, now: datetime
) -> DossierEvent | None:
    """Store a late event in its place in history when it was valid then; None if it is not late."""
    dossier = await load_dossier(session, ev.item_id)
    latest = await _latest_time(session, dossier.id)
    when = event_time(ev.client_at, now)
    if latest is None or when >= latest:
        return None
    if ev.code in LIVE_ONLY:
        # A hand-over to the recipient checks who received it and changes the result's record
        # (services.apply_effects): neither can be done in the past, so it is refused rather than stored
        # unchecked among the history (issue 17).
        raise Problem(
            409,
            "Giao kết quả phải được ghi theo đúng thứ tự / a delivery must be recorded in order",
            code="out_of_order",
        )
    before = await _status_at(session, dossier.id, when)
    if before is None:
        raise Problem(
            409, "Sự kiện trước khi hồ sơ tồn tại / event predates the dossier", code="out_of_order"
        )
    if not held_at(principal, await custodian_at(session, dossier.id, when)):
        # Only the holder at the event's time may add to the history (issue 17): a former custodian may not
        # write a "late" event into a stretch when someone else held the dossier. A caller who never took part
        # learns nothing about the dossier.
        seen = await session.exec(
            select(DossierEvent.id).where(
                DossierEvent.dossier_id == dossier.id, DossierEvent.actor_id == principal.id
            )
        )
        if seen.first() is None:
            raise Problem(404, "Không tìm thấy hồ sơ / dossier not found", code="not_found")
        raise not_held_then()
    try:
        to = tr.next_status(before, ev.code, principal.role)
    except tr.TransitionError as exc:
        raise Problem(409, str(exc), code="out_of_order", extra={"allowed": exc.allowed}) from None
    event = DossierEvent(
        dossier_id=dossier.id,
        seq=0,  # outside the live sequence: ordered by its time
        code=ev.code,
        status=to.value,
        portal_status=tr.portal_status(to),
        actor_kind=principal.role.value,
        actor_id=principal.id,
        org_id=principal.org_id,
        at=now,
        client_at=when,
        client_event_id=ev.client_event_id,
        place=ev.place,
        lat=ev.lat,
        lon=ev.lon,
        reason=ev.reason,
        data={"late": True, "reason_code": ev.reason_code} if ev.reason_code else {"late": True},
    )
    session.add(event)
    await session.flush()
    return event


def _rejected(client_event_id: str, item_id: str, exc: Problem) -> dict[str, Any]:
    return {
        "client_event_id": client_event_id,
        "accepted": False,
        "item_id": item_id,
        "error": exc.code,
        "detail": exc.detail,
        **exc.problem_extra,
    }


async def apply_batch(
    session: AsyncSession, principal: Principal, batch: BatchIn, *, now: datetime | None = None
) -> tuple[dict[str, Any], Effects]:
    now = now or utcnow()
    effects = Effects()
    pickups = await _apply_pickups(session, principal, batch, now, effects)
    results: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    order = sorted(range(len(batch.events)), key=lambda i: (batch.events[i].client_at, i))
    for i in order:
        ev = batch.events[i]
        if ev.client_event_id in seen:
            results[ev.client_event_id] = {
                "client_event_id": ev.client_event_id,
                "accepted": True,
                "duplicate": True,
                "item_id": ev.item_id,
            }
            continue
        seen.add(ev.client_event_id)
        existing = await _existing(session, principal, ev.client_event_id)
        if existing is not None:
            results[ev.client_event_id] = {
                "client_event_id": ev.client_event_id,
                "accepted": True,
                "duplicate": True,
                "item_id": ev.item_id,
                "status": existing.status,
            }
            continue
        try:
            async with session.begin_nested():
                late = await _historical(session, principal, ev, now)
                if late is not None:
                    results[ev.client_event_id] = {
                        "client_event_id": ev.client_event_id,
                        "accepted": True,
                        "duplicate": False,
                        "item_id": ev.item_id,
                        "status": late.status,
                        "historical": True,
                    }
                    continue
                dossier, event, fx = await record_event(
                    session,
                    principal,
                    ev.item_id,
                    ev,
                    now=now,
                    client_event_id=ev.client_event_id,
                    commit=False,
                )
            effects.feed.extend(fx.feed)
            results[ev.client_event_id] = {
                "client_event_id": ev.client_event_id,
                "accepted": True,
                "duplicate": False,
                "item_id": dossier.item_id,
                "status": dossier.status,
                "seq": event.seq,
            }
        except Problem as exc:
            await codeguard.settle(session, exc)  # a wrong recipient check still counts (SQLite)
            results[ev.client_event_id] = _rejected(ev.client_event_id, ev.item_id, exc)
    collections = await _apply_collections(session, principal, batch, now)
    await session.commit()
    ordered = [results[ev.client_event_id] for ev in batch.events if ev.client_event_id in results]
    # Duplicated ids within one batch answer once per position.
    every = [*pickups, *ordered, *collections]
    return {
        "pickups": pickups,
        "results": ordered,
        "collections": collections,
        "accepted": sum(1 for r in every if r["accepted"]),
        "rejected": sum(1 for r in every if not r["accepted"]),
    }, effects


async def _apply_collections(
    session: AsyncSession, principal: Principal, batch: BatchIn, now: datetime
) -> list[dict[str, Any]]:
    """Money taken at the door offline (issue 21), each in its own savepoint, after the pickups and events it
    may follow; a replay answers ``duplicate`` with the first receipt (backend/money/collect.py)."""
    out: list[dict[str, Any]] = []
    for c in batch.collections:
        try:
            async with session.begin_nested():
                done = await money_collect.collect(session, principal, c, now=now)
            out.append({**done.model_dump(mode="json", include=_COLLECTED), "accepted": True})
        except Problem as exc:
            out.append(
                {
                    "client_event_id": c.client_event_id,
                    "accepted": False,
                    "appointment_id": str(c.appointment_id),
                    "error": exc.code,
                    "detail": exc.detail,
                    **exc.problem_extra,
                }
            )
    return out


_COLLECTED = {"client_event_id", "appointment_id", "duplicate", "receipt_no", "amount_vnd", "outstanding_vnd"}


async def _apply_pickups(
    session: AsyncSession, principal: Principal, batch: BatchIn, now: datetime, effects: Effects
) -> list[dict[str, Any]]:
    """Home pickups recorded offline with reserved labels, before the events that may follow them. Replaying
    one answers ``duplicate`` with the dossier it made (the label is the idempotency key)."""
    results: dict[str, dict[str, Any]] = {}
    for p in sorted(batch.pickups, key=lambda p: p.client_at):
        if p.client_event_id in results:
            continue
        try:
            async with session.begin_nested():
                before = (await session.exec(select(Dossier.id).where(Dossier.item_id == p.item_id))).first()
                dossier, fx = await create_dossier(session, principal, p, now=now, commit=False)
            effects.feed.extend(fx.feed)
            results[p.client_event_id] = {
                "client_event_id": p.client_event_id,
                "accepted": True,
                "duplicate": before is not None,
                "item_id": dossier.item_id,
                "status": dossier.status,
            }
        except Problem as exc:
            await codeguard.settle(session, exc)  # a wrong handover code still counts (SQLite)
            results[p.client_event_id] = _rejected(p.client_event_id, p.item_id, exc)
    return [results[p.client_event_id] for p in batch.pickups if p.client_event_id in results]
