"""The record of every SMS the service sends (``schemas/sms.py``): written before the provider is called, updated
from its answer and its delivery reports. A status only moves forward, so late or repeated reports change
nothing, and each change is an ``sms_event`` row in the same transaction."""

import contextlib
import uuid

from sqlalchemy import update
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.sms.base import Outcome, SendResult
from notifications.sms.text import Segments
from schemas.base import utcnow
from schemas.sms import RANK, SmsEvent, SmsMessage, SmsStatus


async def queue(
    session: AsyncSession, *, purpose: str, phone: str, provider: str, seg: Segments
) -> uuid.UUID:
    """Add the row of a message about to be sent (the caller commits before calling the provider)."""
    msg = SmsMessage(
        purpose=purpose,
        phone=phone,
        provider=provider,
        status=SmsStatus.queued,
        encoding=seg.encoding,
        segments=seg.count,
    )
    session.add(msg)
    await session.flush()  # the event row refers to it
    session.add(SmsEvent(message_id=msg.id, status=SmsStatus.queued, source="send"))
    return msg.id


async def _advance(
    session: AsyncSession,
    msg_id: uuid.UUID,
    status: SmsStatus,
    source: str,
    detail: str | None,
    **values: object,
) -> bool:
    """Move the message to ``status`` if that is forward of where it is; add the event row if it moved."""
    behind = [s.value for s in SmsStatus if RANK[s] < RANK[status]]
    table = SmsMessage.__table__  # type: ignore[attr-defined]
    moved = (
        await session.execute(
            update(table)
            .where(table.c.id == msg_id, table.c.status.in_(behind))
            .values(status=status.value, updated_at=utcnow(), **values)
            .returning(table.c.id)
        )
    ).one_or_none()
    if moved is not None:
        session.add(SmsEvent(message_id=msg_id, status=status, source=source, detail=detail))
    return moved is not None


async def record_result(session: AsyncSession, msg_id: uuid.UUID, result: SendResult) -> None:
    """The provider's answer to the send. The caller commits."""
    if result.outcome is Outcome.sent:
        table = SmsMessage.__table__  # type: ignore[attr-defined]
        # The id is kept even if a delivery report (matched by our RequestId) already got ahead of this.
        await session.execute(
            update(table).where(table.c.id == msg_id).values(provider_message_id=result.message_id)
        )
        await _advance(session, msg_id, SmsStatus.sent, "send", result.message_id)
        return
    await _advance(
        session,
        msg_id,
        SmsStatus.failed,
        "send",
        f"{result.outcome}: {result.error}"[:200],
        error=(result.error or "")[:200],
    )


async def find(
    session: AsyncSession, provider: str, message_id: str, request_id: str | None
) -> SmsMessage | None:
    """The message a delivery report is about: by the provider's id, or by our request id (its row's id), which
    the report echoes even when it arrives before the send's answer was recorded."""
    match = [col(SmsMessage.provider_message_id) == message_id]
    if request_id:
        with contextlib.suppress(ValueError):
            match.append(col(SmsMessage.id) == uuid.UUID(hex=request_id))
    stmt = select(SmsMessage).where(SmsMessage.provider == provider, or_(*match)).limit(1)
    return (await session.exec(stmt)).one_or_none()


async def apply_report(
    session: AsyncSession, msg: SmsMessage, status: SmsStatus, *, cost_vnd: int | None, detail: str
) -> tuple[SmsStatus, bool]:
    """A delivery report: the status after it and whether it changed anything. Commits."""
    msg_id = msg.id
    changed = await _advance(session, msg_id, status, "report", detail, cost_vnd=cost_vnd)
    await session.commit()
    now = (await session.exec(select(SmsMessage.status).where(SmsMessage.id == msg_id))).one()
    return SmsStatus(now), changed
