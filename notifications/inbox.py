"""The in-app inbox: every notification a person was sent, whatever happened to the push.

These functions work in the caller's session and do not commit.
"""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from notifications._db import execute, scalars
from schemas.base import utcnow
from schemas.notifications import Notification, RecipientKind


def _mine(recipient_kind: str, recipient_id: uuid.UUID) -> list[object]:
    return [
        Notification.recipient_id == recipient_id,
        Notification.recipient_kind == RecipientKind(recipient_kind).value,
        # Scheduled reminders appear when they are due, not when they were written.
        (Notification.not_before.is_(None)) | (Notification.not_before <= utcnow()),  # type: ignore[union-attr,operator]
    ]


async def list_inbox(
    session: AsyncSession,
    *,
    recipient_kind: str,
    recipient_id: uuid.UUID,
    limit: int = 50,
    offset: int = 0,
    unread_only: bool = False,
) -> tuple[list[Notification], int]:
    """One page of the recipient's notifications, newest first, and the total count."""
    where = _mine(recipient_kind, recipient_id)
    if unread_only:
        where.append(Notification.read_at.is_(None))  # type: ignore[union-attr]
    total = (await scalars(session, select(func.count()).select_from(Notification).where(*where))).one()  # type: ignore[arg-type]
    rows = await scalars(
        session,
        select(Notification)
        .where(*where)  # type: ignore[arg-type]
        .order_by(Notification.created_at.desc(), Notification.id.desc())  # type: ignore[attr-defined]
        .limit(limit)
        .offset(offset),
    )
    return list(rows), int(total)


async def version(session: AsyncSession, *, recipient_kind: str, recipient_id: uuid.UUID) -> tuple[Any, ...]:
    """What the recipient's inbox shows, in one indexed read: how many entries are due, the newest, how many
    are read and the latest read. Any change an inbox page can show (a notice written by any process or
    statement, a reminder coming due, entries marked read, entries deleted) changes it; a rendered page kept
    under it stays right (``backend/notices/inbox_answer.py``)."""
    n = Notification
    row = (
        await execute(
            session,
            select(func.count(), func.max(n.created_at), func.count(n.read_at), func.max(n.read_at)).where(  # type: ignore[arg-type]
                *_mine(recipient_kind, recipient_id)  # type: ignore[arg-type]
            ),
        )
    ).one()
    return tuple(row)


async def unread_count(session: AsyncSession, *, recipient_kind: str, recipient_id: uuid.UUID) -> int:
    _, total = await list_inbox(
        session, recipient_kind=recipient_kind, recipient_id=recipient_id, limit=0, unread_only=True
    )
    return total


async def mark_read(
    session: AsyncSession,
    *,
    recipient_kind: str,
    recipient_id: uuid.UUID,
    ids: Sequence[uuid.UUID] | None = None,
) -> int:
    """Mark the given notifications (all when ``ids`` is None) read; only the recipient's own are touched."""
    where = _mine(recipient_kind, recipient_id)
    where.append(Notification.read_at.is_(None))  # type: ignore[union-attr]
    if ids is not None:
        if not ids:
            return 0
        where.append(Notification.id.in_(list(ids)))  # type: ignore[attr-defined]
    result = await execute(session, update(Notification).where(*where).values(read_at=utcnow()))  # type: ignore[arg-type]
    return int(getattr(result, "rowcount", 0))
