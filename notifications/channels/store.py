"""The channel deliveries' database steps: claim, fence, settle, opt-out and delivery reports.

Every change of a delivery's status writes a ``channel_delivery_event`` row in the same transaction, naming who
changed it (the dispatcher's worker id, the provider of a report, the citizen of an opt-out) and from where.
Statuses only move forward (``schemas.channels.RANK``) once a delivery has left ``sending``, so a report that comes
late, twice or out of order changes nothing.
"""

import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from notifications.claims import lease_claim
from schemas.accounts import Citizen
from schemas.channels import (
    CLAIMABLE_DELIVERY,
    RANK,
    ChannelDelivery,
    ChannelDeliveryEvent,
    ChannelPreference,
    DeliveryStatus,
)
from schemas.notifications import Notification

D = ChannelDelivery.__table__  # type: ignore[attr-defined]
E = ChannelDeliveryEvent.__table__  # type: ignore[attr-defined]
P = ChannelPreference.__table__  # type: ignore[attr-defined]
N = Notification.__table__  # type: ignore[attr-defined]
C = Citizen.__table__  # type: ignore[attr-defined]
SENDING = DeliveryStatus.sending.value


@dataclass(frozen=True)
class Claim:
    id: uuid.UUID
    notification_id: uuid.UUID
    channel: str
    recipient_id: uuid.UUID
    template: str
    attempts: int


@dataclass(frozen=True)
class Outcome:
    """What becomes of one claimed delivery; ``values`` are further columns to set."""

    claim: Claim
    status: DeliveryStatus
    detail: str | None = None
    values: dict[str, Any] | None = None


def event(
    delivery_id: uuid.UUID, status: str, source: str, actor: str | None, detail: str | None, at: datetime
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "delivery_id": delivery_id,
        "status": status,
        "source": source,
        "actor": (actor or "")[:120] or None,
        "detail": (detail or "")[:300] or None,
        "at": at,
    }


async def claim(
    engine: AsyncEngine, channel: str, worker_id: str, now: datetime, lease_until: datetime, batch: int
) -> list[Claim]:
    stmt = lease_claim(
        D,
        claimable=CLAIMABLE_DELIVERY,
        sending=SENDING,
        worker_id=worker_id,
        now=now,
        lease_until=lease_until,
        batch_size=batch,
        dialect=engine.dialect.name,
        where=(D.c.channel == channel,),
    ).returning(D.c.id, D.c.notification_id, D.c.channel, D.c.recipient_id, D.c.template, D.c.attempts)
    async with engine.begin() as conn:
        return [Claim(**r._mapping) for r in await conn.execute(stmt)]


@dataclass
class Context:
    params: dict[uuid.UUID, dict[str, Any]]  # by notification id
    phones: dict[uuid.UUID, str]  # by citizen id
    off: set[tuple[uuid.UUID, str]]  # (citizen id, channel) switched off


async def context(engine: AsyncEngine, claims: Sequence[Claim]) -> Context:
    """The notifications' params, the citizens' phone numbers and their switched-off channels."""
    ctx = Context({}, {}, set())
    nids = list({c.notification_id for c in claims})
    owners = list({c.recipient_id for c in claims})
    async with engine.connect() as conn:
        for start in range(0, len(nids), 1000):
            rows = await conn.execute(
                select(N.c.id, N.c.params).where(N.c.id.in_(nids[start : start + 1000]))
            )
            ctx.params.update({i: p for i, p in rows})
        for start in range(0, len(owners), 1000):
            part = owners[start : start + 1000]
            phones = await conn.execute(select(C.c.id, C.c.phone).where(C.c.id.in_(part)))
            ctx.phones.update({i: p for i, p in phones})
            rows = await conn.execute(
                select(P.c.citizen_id, P.c.channel).where(P.c.citizen_id.in_(part), P.c.enabled.is_(False))
            )
            ctx.off.update((o, str(ch)) for o, ch in rows)
        await conn.rollback()
    return ctx


async def fence(
    engine: AsyncEngine, ids: Sequence[uuid.UUID], worker_id: str, until: datetime
) -> set[uuid.UUID]:
    """Extend the lease of the rows of ``ids`` this worker still holds; only those may be sent."""
    if not ids:
        return set()
    async with engine.begin() as conn:
        result = await conn.execute(
            update(D)
            .where(D.c.id.in_(ids), D.c.claimed_by == worker_id, D.c.status == SENDING)
            .values(claimed_until=until, next_attempt_at=until)
            .returning(D.c.id)
        )
        return set(result.scalars())


async def settle(engine: AsyncEngine, outcomes: Sequence[Outcome], worker_id: str, now: datetime) -> int:
    """Write outcomes in one transaction; returns how many rows this worker no longer held (taken over)."""
    lost = 0
    events: list[dict[str, Any]] = []
    async with engine.begin() as conn:
        for o in outcomes:
            values = dict(o.values or {})
            if o.status is DeliveryStatus.sent:
                values.setdefault("sent_at", now)
            moved = await conn.execute(
                update(D)
                .where(D.c.id == o.claim.id, D.c.claimed_by == worker_id, D.c.status == SENDING)
                .values(status=o.status.value, claimed_until=None, updated_at=now, **values)
                .returning(D.c.id)
            )
            if moved.one_or_none() is not None:
                events.append(event(o.claim.id, o.status.value, "dispatch", worker_id, o.detail, now))
            elif o.status is DeliveryStatus.sent:
                events += await _sent_anyway(conn, o, values, worker_id, now)
            else:
                lost += 1
        if events:
            await conn.execute(E.insert(), events)
    return lost


async def _sent_anyway(
    conn: AsyncConnection, o: Outcome, values: dict[str, Any], worker_id: str, now: datetime
) -> list[dict[str, Any]]:
    """The provider took a message whose row moved meanwhile: a delivery report got ahead (keep its final status,
    add what the send tells), an opt-out came while the request was in flight (it went: record it sent), or the
    lease was lost (the other worker's re-send is refused by the provider as a duplicate request id)."""
    keep = {k: func.coalesce(D.c[k], v) for k, v in values.items()}
    status = case(
        (D.c.status == DeliveryStatus.suppressed.value, DeliveryStatus.sent.value), else_=D.c.status
    )
    result = await conn.execute(
        update(D)
        .where(D.c.id == o.claim.id)
        .values(status=status, updated_at=now, **keep)
        .returning(D.c.status)
    )
    row = result.one_or_none()
    if row is not None and row.status == DeliveryStatus.sent.value:
        return [event(o.claim.id, "sent", "dispatch", worker_id, "sent while an opt-out came in", now)]
    return []


async def suppress(
    conn: AsyncConnection | AsyncSession, citizen_id: uuid.UUID, channel: str, actor: str, now: datetime
) -> int:
    """A citizen switched ``channel`` off: their deliveries on it not yet sent become ``suppressed`` at once (one in
    flight is fenced out before its request unless it is already on the wire). In the caller's transaction."""
    result = await conn.execute(
        update(D)
        .where(D.c.recipient_id == citizen_id, D.c.channel == channel, D.c.status.in_(CLAIMABLE_DELIVERY))
        .values(
            status=DeliveryStatus.suppressed.value, claimed_until=None, updated_at=now, last_error="opted out"
        )
        .returning(D.c.id)
    )
    ids = list(result.scalars())
    if ids:
        await conn.execute(E.insert(), [event(i, "suppressed", "opt_out", actor, None, now) for i in ids])
    return len(ids)


@dataclass(frozen=True)
class ReportResult:
    delivery_id: uuid.UUID
    status: DeliveryStatus
    changed: bool


async def apply_report(
    conn: AsyncConnection | AsyncSession,
    *,
    provider: str,
    message_id: str,
    request_id: str | None,
    status: DeliveryStatus,
    cost_vnd: int | None,
    detail: str,
    now: datetime,
) -> ReportResult | None:
    """A provider's delivery report for a channel delivery (found by the provider's message id, or by our request
    id, which is the delivery's id): moves its status forward only, with an event row. None: not one of ours.
    In the caller's transaction (the caller commits)."""
    match = [and_(D.c.provider == provider, D.c.provider_message_id == message_id)]
    if request_id:
        with contextlib.suppress(ValueError):
            match.append(D.c.id == uuid.UUID(hex=request_id))
    found = (await conn.execute(select(D.c.id, D.c.status).where(or_(*match)).limit(1))).one_or_none()
    if found is None:
        return None
    behind = [s.value for s in DeliveryStatus if RANK[s] < RANK[status]]
    values: dict[str, Any] = {"status": status.value, "updated_at": now}
    if cost_vnd is not None:
        values["cost_vnd"] = cost_vnd
    moved = (
        await conn.execute(
            update(D)
            .where(D.c.id == found.id, D.c.status.in_(behind), D.c.status != SENDING)
            .values(**values)
            .returning(D.c.id)
        )
    ).one_or_none()
    if (
        moved is None
        and status in (DeliveryStatus.delivered, DeliveryStatus.failed)
        and found.status == SENDING
    ):
        # The report came before the send's answer was written: record it now; the send's settle keeps it.
        moved = (
            await conn.execute(update(D).where(D.c.id == found.id).values(**values).returning(D.c.id))
        ).one_or_none()
    if moved is not None:
        await conn.execute(E.insert(), [event(found.id, status.value, "report", provider, detail, now)])
        return ReportResult(found.id, status, True)
    current = (await conn.execute(select(D.c.status).where(D.c.id == found.id))).scalar_one()
    return ReportResult(found.id, DeliveryStatus(current), False)
