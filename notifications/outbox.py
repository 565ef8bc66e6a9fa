"""Writing notifications: the transactional outbox.

``enqueue`` only adds a row to the caller's session; the caller's commit writes it together with the
business change that caused it, and a rollback drops both. The dispatcher sends it later.
"""

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import select

from notifications._db import scalars
from notifications.templates import get_template, render
from schemas.base import row_values, utcnow
from schemas.notifications import Notification, NotificationStatus, Priority, RecipientKind

_AUDIENCE_KINDS = {"citizen": RecipientKind.citizen, "staff": RecipientKind.staff}


def json_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Params as JSON values: instants as ISO strings in UTC, ids as strings (what the JSON column keeps)."""
    return {str(k): _json_value(v) for k, v in params.items()}


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return json_params(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_value(v) for v in value]
    return value


def build(
    *,
    recipient_kind: str,
    recipient_id: uuid.UUID,
    template: str,
    params: Mapping[str, Any],
    not_before: datetime | None = None,
    dedupe_key: str | None = None,
) -> Notification:
    """A rendered, unsaved notification row. Raises ``TemplateError`` (a ``ValueError``) on bad input."""
    return Notification(
        **notification_row(
            recipient_kind=recipient_kind,
            recipient_id=recipient_id,
            template=template,
            params=params,
            not_before=not_before,
            dedupe_key=dedupe_key,
        )
    )


def notification_row(
    *,
    recipient_kind: str,
    recipient_id: uuid.UUID,
    template: str,
    params: Mapping[str, Any],
    not_before: datetime | None = None,
    dedupe_key: str | None = None,
) -> dict[str, Any]:
    """``build``'s row as column values, for ``insert_rows`` (no model instance: the hottest writes)."""
    tpl = get_template(template)
    kind = RecipientKind(recipient_kind)
    if _AUDIENCE_KINDS[tpl.audience] != kind:
        raise ValueError(f"template {template!r} is for {tpl.audience} recipients, not {kind.value}")
    if not_before is not None and not_before.tzinfo is None:
        raise ValueError("not_before must be timezone-aware")
    # Render from the JSON form so what the inbox shows is exactly what the stored params say.
    stored = json_params(params)
    text = render(template, stored)
    now = utcnow()
    return row_values(
        Notification,
        recipient_kind=kind,
        recipient_id=recipient_id,
        template=template,
        params=stored,
        title_vi=text.title_vi,
        body_vi=text.body_vi,
        title_en=text.title_en,
        body_en=text.body_en,
        deep_link=text.deep_link,
        collapse_key=text.collapse_key,
        priority=Priority(text.priority),
        data_only=text.data_only,
        dedupe_key=dedupe_key,
        not_before=not_before,
        status=NotificationStatus.pending,
        next_attempt_at=max(not_before, now) if not_before else now,
        created_at=now,
    )


async def insert_rows(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write ``notification_row``s in the caller's transaction in one statement (like ``enqueue``, no commit; the same
    dedupe rule: a repeated key fails the statement and so the caller's transaction)."""
    if rows:
        await session.execute(_INSERT, list(rows))


_INSERT = Notification.__table__.insert()  # type: ignore[attr-defined]


def enqueue(
    session: Session | AsyncSession,
    *,
    recipient_kind: str,
    recipient_id: uuid.UUID,
    template: str,
    params: Mapping[str, Any],
    not_before: datetime | None = None,
    dedupe_key: str | None = None,
) -> Notification:
    """Add a notification to the caller's session (sync or async) without flushing or committing.

    ``dedupe_key`` names the business event (e.g. ``"appointment.booked:<appointment id>"``); a second row
    with the same key for the same recipient violates ``uq_notification_dedupe`` when the caller flushes,
    which rolls the caller's transaction back. When a repeat is expected and harmless (a reminder job
    that may run twice), use ``enqueue_once`` instead.
    """
    row = build(
        recipient_kind=recipient_kind,
        recipient_id=recipient_id,
        template=template,
        params=params,
        not_before=not_before,
        dedupe_key=dedupe_key,
    )
    session.add(row)
    return row


async def enqueue_once(
    session: AsyncSession,
    *,
    recipient_kind: str,
    recipient_id: uuid.UUID,
    template: str,
    params: Mapping[str, Any],
    dedupe_key: str,
    not_before: datetime | None = None,
) -> tuple[Notification, bool]:
    """Like ``enqueue`` but returns ``(existing row, False)`` when this recipient already has one with
    ``dedupe_key`` (committed or pending in this session), else ``(new row, True)``. Still no commit.

    Two transactions racing on the same key are still stopped by the unique constraint at commit.
    """
    kind = RecipientKind(recipient_kind)
    for obj in session.new:
        if (
            isinstance(obj, Notification)
            and obj.dedupe_key == dedupe_key
            and obj.recipient_id == recipient_id
            and obj.recipient_kind == kind
        ):
            return obj, False
    existing = (
        await scalars(
            session,
            select(Notification).where(
                Notification.recipient_kind == kind.value,  # type: ignore[arg-type]
                Notification.recipient_id == recipient_id,  # type: ignore[arg-type]
                Notification.dedupe_key == dedupe_key,  # type: ignore[arg-type]
            ),
        )
    ).first()
    if existing is not None:
        return existing, False
    row = enqueue(
        session,
        recipient_kind=kind,
        recipient_id=recipient_id,
        template=template,
        params=params,
        not_before=not_before,
        dedupe_key=dedupe_key,
    )
    return row, True
