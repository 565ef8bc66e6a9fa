"""Which notifications need a fallback channel now, and their new delivery rows (``policy.next_steps``).

A citizen's notice of a fallback kind is a candidate while it is unread and push did not reach them (push
``skipped``: no device, push off; ``failed``) or, for the kinds where it matters, push went out but the notice was
not opened within ``unread_after``; and while none of its fallback deliveries is under way or sent, and not every
fallback channel has been tried. Rows are inserted with "on conflict do nothing" on (notification, channel), so two
dispatchers planning the same notice add each channel once. A new row waits for the end of quiet hours.
"""

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from notifications.channels.policy import (
    FALLBACK,
    FALLBACK_KINDS,
    UNREAD_MATTERS,
    ChannelConfig,
    earliest_send,
    next_steps,
)
from notifications.channels.store import D, E, P, event
from schemas.channels import GAVE_UP, NoticeChannel
from schemas.notifications import Notification

N = Notification.__table__  # type: ignore[attr-defined]
HORIZON = timedelta(days=3)  # older notices are not worth an SMS any more


def _candidates(now: datetime, config: ChannelConfig, limit: int) -> Any:
    gave_up = [s.value for s in GAVE_UP]
    active = exists().where(D.c.notification_id == N.c.id, D.c.status.notin_(gave_up))
    tried = select(func.count()).where(D.c.notification_id == N.c.id).scalar_subquery()
    unreached = N.c.status.in_(("skipped", "failed"))
    unopened = (
        N.c.template.in_(sorted(UNREAD_MATTERS))
        & (N.c.status == "sent")
        & (N.c.sent_at <= now - config.unread_after)
    )
    return (
        select(N.c.id, N.c.template, N.c.recipient_id)
        .where(
            N.c.recipient_kind == "citizen",
            N.c.template.in_(sorted(FALLBACK_KINDS)),
            N.c.created_at >= now - HORIZON,
            N.c.read_at.is_(None),
            or_(unreached, unopened),
            ~active,
            tried < len(FALLBACK),
        )
        .order_by(N.c.created_at)
        .limit(limit)
    )


async def plan(
    engine: AsyncEngine, config: ChannelConfig, now: datetime, worker_id: str, limit: int = 500
) -> int:
    """Add the fallback deliveries due now; returns how many rows were added."""
    async with engine.connect() as conn:
        found = list(await conn.execute(_candidates(now, config, limit)))
        await conn.rollback()
    if not found:
        return 0
    ids = [r.id for r in found]
    owners = list({r.recipient_id for r in found})
    recorded: dict[uuid.UUID, dict[NoticeChannel, str]] = {}
    off: set[tuple[uuid.UUID, str]] = set()
    async with engine.begin() as conn:
        for nid, channel, status in await conn.execute(
            select(D.c.notification_id, D.c.channel, D.c.status).where(D.c.notification_id.in_(ids))
        ):
            recorded.setdefault(nid, {})[NoticeChannel(channel)] = status
        for owner, channel in await conn.execute(
            select(P.c.citizen_id, P.c.channel).where(P.c.citizen_id.in_(owners), P.c.enabled.is_(False))
        ):
            off.add((owner, str(channel)))
        rows: list[dict[str, Any]] = []
        for r in found:
            enabled = {ch: (r.recipient_id, ch.value) not in off for ch in NoticeChannel}
            for step in next_steps(
                r.template, recorded.get(r.id, {}), enabled=enabled, available=config.available
            ):
                rows.append(_row(r, step.channel, step.status, step.reason, now))
        added = await _insert(conn, rows)
        if added:
            await conn.execute(
                E.insert(),
                [event(a["id"], a["status"], "plan", worker_id, a["last_error"], now) for a in added],
            )
    return len(added)


def _row(r: Any, channel: NoticeChannel, status: str, reason: str | None, now: datetime) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "notification_id": r.id,
        "channel": channel.value,
        "recipient_id": r.recipient_id,
        "template": r.template,
        "status": status,
        "attempts": 0,
        "next_attempt_at": earliest_send(channel, r.template, now),
        "last_error": reason,
        "created_at": now,
        "updated_at": now,
    }


async def _insert(conn: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert, skipping (notification, channel) pairs another dispatcher added first; returns the rows added."""
    if not rows:
        return []
    ins = (
        postgresql.insert(D) if conn.dialect.name == "postgresql" else sqlite.insert(D)
    ).on_conflict_do_nothing(index_elements=["notification_id", "channel"])
    added_ids = set((await conn.execute(ins.returning(D.c.id), rows)).scalars())
    return [r for r in rows if r["id"] in added_ids]
