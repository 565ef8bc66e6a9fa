"""What the outbox dispatcher (``notifications.dispatcher``) passes between its steps: a claimed row, what
became of it, the counters, and the pure helpers that turn rows into messages, group them for sending and
space out retries."""

import os
import random
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.sql.dml import Update

from notifications.push import PushMessage
from schemas.notifications import NotificationStatus


@dataclass(frozen=True)
class Claimed:
    """A claimed row, as much of it as sending needs."""

    id: uuid.UUID
    recipient_kind: str
    recipient_id: uuid.UUID
    template: str
    title_vi: str
    body_vi: str
    title_en: str
    body_en: str
    deep_link: str | None
    collapse_key: str | None
    priority: str
    data_only: bool
    attempts: int


@dataclass(frozen=True)
class Settled:
    """What became of one row in one pass."""

    row: Claimed
    status: NotificationStatus
    error: str | None = None
    next_attempt_at: datetime | None = None
    delivered_to: tuple[str, ...] = ()


@dataclass
class Stats:
    claimed: int = 0
    messages: int = 0
    sent: int = 0
    skipped: int = 0
    retried: int = 0
    failed: int = 0
    dead_targets: int = 0
    lost_leases: int = 0


OnSent = Callable[[Sequence[Settled]], Awaitable[None]]


def lease_claim(
    table: Table,
    *,
    claimable: Sequence[str],
    sending: str,
    worker_id: str,
    now: datetime,
    lease_until: datetime,
    batch_size: int,
    dialect: str,
    where: Sequence[Any] = (),
) -> Update:
    """The statement that leases up to ``batch_size`` due rows of an outbox table to ``worker_id`` until
    ``lease_until`` (the notification outbox and the partners' webhook deliveries share it; the caller adds its
    ``RETURNING`` columns). Due first; on PostgreSQL rows another worker is claiming are skipped, not waited
    for. A row whose lease runs out becomes due again at ``lease_until``, so a killed worker's rows are
    retried by the others; ``attempts`` counts every claim. ``where`` narrows the due rows (one channel's)."""
    due = (
        select(table.c.id)
        .where(table.c.status.in_(claimable), table.c.next_attempt_at <= now, *where)
        .order_by(table.c.next_attempt_at)
        .limit(batch_size)
    )
    if dialect == "postgresql":
        due = due.with_for_update(skip_locked=True)
    return (
        update(table)
        .where(table.c.id.in_(due))
        .values(
            status=sending,
            claimed_by=worker_id,
            claimed_until=lease_until,
            next_attempt_at=lease_until,
            attempts=table.c.attempts + 1,
        )
    )


def backoff_seconds(
    attempt: int, *, base: float, cap: float, rng: random.Random, retry_after: float | None = None
) -> float:
    """Exponential backoff with "equal jitter" (half fixed, half random), never below ``Retry-After``."""
    exp = min(cap, base * 2 ** max(0, attempt - 1))
    return max(exp / 2 + rng.random() * exp / 2, retry_after or 0.0)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def engine_of(db: AsyncEngine | async_sessionmaker[Any]) -> AsyncEngine:
    if isinstance(db, AsyncEngine):
        return db
    bind = db.kw.get("bind")
    if not isinstance(bind, AsyncEngine):
        raise TypeError("the session factory must be bound to an AsyncEngine")
    return bind


def message_for(row: Claimed, token: str, platform: str) -> PushMessage:
    return PushMessage(
        token=token,
        platform=platform,
        notification_id=row.id,
        template=row.template,
        title_vi=row.title_vi,
        body_vi=row.body_vi,
        title_en=row.title_en,
        body_en=row.body_en,
        deep_link=row.deep_link,
        collapse_key=row.collapse_key,
        priority=row.priority,
        data_only=row.data_only,
    )


def send_chunks(
    plans: list[tuple[Claimed, list[PushMessage]]], size: int
) -> list[list[tuple[Claimed, list[PushMessage]]]]:
    """Groups of whole rows with at most ``size`` messages (a row with more devices goes alone)."""
    chunks: list[list[tuple[Claimed, list[PushMessage]]]] = []
    current: list[tuple[Claimed, list[PushMessage]]] = []
    count = 0
    for plan in plans:
        n = len(plan[1])
        if current and count + n > size:
            chunks.append(current)
            current, count = [], 0
        current.append(plan)
        count += n
    if current:
        chunks.append(current)
    return chunks
