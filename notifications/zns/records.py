"""The record of every ZNS message (``schemas/zns.py``): written before Zalo is called, updated from its answer
and from its webhook events. A status only moves forward, so duplicate and out-of-order events change nothing,
and each change is a ``zns_event`` row in the same transaction.

How a channel sends one message (the caller owns the session and commits):

    msg_id = await records.queue(session, purpose=kind, phone=phone, template_id=t.template_id)
    await session.commit()                         # the row exists before Zalo is called
    result = await sender.send(phone, t.template_id, data, request_id=msg_id.hex)
    await records.record_result(session, msg_id, result, cost_vnd=settings.zns_cost_vnd)
    await session.commit()
"""

import contextlib
import uuid
from datetime import datetime

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from notifications._db import scalars
from notifications.sms.base import Outcome, SendResult
from schemas.base import utcnow
from schemas.zns import RANK, ZnsEvent, ZnsMessage, ZnsStatus

_M = ZnsMessage.__table__  # type: ignore[attr-defined]


async def queue(session: AsyncSession, *, purpose: str, phone: str, template_id: str) -> uuid.UUID:
    """Add the row of a message about to be sent; its id (hex) is the ``tracking_id`` given to Zalo."""
    msg = ZnsMessage(purpose=purpose, phone=phone, template_id=template_id, status=ZnsStatus.queued)
    session.add(msg)
    await session.flush()  # the event row refers to it
    session.add(ZnsEvent(message_id=msg.id, status=ZnsStatus.queued, source="send"))
    return msg.id


async def _advance(
    session: AsyncSession,
    msg_id: uuid.UUID,
    status: ZnsStatus,
    source: str,
    detail: str | None,
    **values: object,
) -> bool:
    """Move the message to ``status`` if that is forward of where it is; add the event row if it moved."""
    behind = [s.value for s in ZnsStatus if RANK[s] < RANK[status]]
    moved = (
        await session.execute(
            update(_M)
            .where(_M.c.id == msg_id, _M.c.status.in_(behind))
            .values(status=status.value, updated_at=utcnow(), **values)
            .returning(_M.c.id)
        )
    ).one_or_none()
    if moved is not None:
        session.add(ZnsEvent(message_id=msg_id, status=status, source=source, detail=detail))
    return moved is not None


async def record_result(
    session: AsyncSession, msg_id: uuid.UUID, result: SendResult, *, cost_vnd: int | None
) -> None:
    """Zalo's answer to the send; ``cost_vnd`` (integer VND) is recorded when Zalo took the message (ZNS is
    charged per message sent). A ``retry`` result leaves the row queued for the next attempt. The caller
    commits."""
    if result.outcome is Outcome.sent:
        # The id is kept even if a webhook event (matched by our tracking_id) already got ahead of this.
        await session.execute(
            update(_M)
            .where(_M.c.id == msg_id)
            .values(provider_message_id=result.message_id, cost_vnd=cost_vnd)
        )
        await _advance(session, msg_id, ZnsStatus.sent, "send", result.message_id)
        return
    if result.outcome is Outcome.retry:
        await session.execute(update(_M).where(_M.c.id == msg_id).values(error=(result.error or "")[:200]))
        return
    await _advance(
        session,
        msg_id,
        ZnsStatus.failed,
        "send",
        f"fatal: {result.error}"[:200],
        error=(result.error or "")[:200],
    )


async def find(session: AsyncSession, message_id: str | None, tracking_id: str | None) -> ZnsMessage | None:
    """The message an event is about: by Zalo's msg_id, or by our tracking_id (the row's id)."""
    match = []
    if message_id:
        match.append(col(ZnsMessage.provider_message_id) == message_id)
    if tracking_id:
        with contextlib.suppress(ValueError):
            match.append(col(ZnsMessage.id) == uuid.UUID(hex=tracking_id))
    if not match:
        return None
    stmt = select(ZnsMessage).where(or_(*match)).limit(1)
    return (await scalars(session, stmt)).one_or_none()  # type: ignore[no-any-return]


async def apply_event(
    session: AsyncSession,
    msg_id: uuid.UUID,
    status: ZnsStatus,
    *,
    delivered_at: datetime | None,
    detail: str,
) -> tuple[ZnsStatus, bool]:
    """A webhook event: the status after it and whether it changed anything. Commits."""
    values: dict[str, object] = {}
    if delivered_at is not None:
        values["delivered_at"] = delivered_at
    changed = await _advance(session, msg_id, status, "webhook", detail[:200], **values)
    await session.commit()
    now = (await scalars(session, select(ZnsMessage.status).where(ZnsMessage.id == msg_id))).one()
    return ZnsStatus(now), changed
