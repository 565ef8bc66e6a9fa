"""The outbox dispatcher: claims due notifications, pushes them, records what happened.

Guarantees, and how:
- Each row is claimed by one worker at a time. On PostgreSQL the claim is one statement,
  ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED LIMIT n) RETURNING``, so concurrent workers
  skip each other's rows instead of waiting. On SQLite a write statement takes the database write lock
  before it reads, so the same statement is atomic there too.
- A claim is a lease: the row turns ``sending`` with ``claimed_by`` and ``claimed_until``, and its
  ``next_attempt_at`` becomes the lease expiry. If the worker dies, the row simply becomes due again
  when the lease runs out, and another worker takes it. None is lost.
- A live worker never loses its lease to a slow provider (issue 17: such a row was claimed and sent again
  by a second worker): while a chunk's requests are in flight a heartbeat extends the lease every
  ``heartbeat`` seconds, so only a dead worker's rows come due. Right before each chunk is sent the worker
  fences: it extends the lease of the chunk's rows only where it still holds them (``claimed_by`` and
  ``sending``) and sends only the rows that statement returned, so a row taken over, or withdrawn (a
  reminder of a cancelled appointment is deleted even while claimed), is not sent. FCM's HTTP v1 API has
  no idempotency key; a repeat that still slips through (a crash mid-request) is collapsed on the device
  by the notification id (below).
- Every token FCM accepted is written to ``notification_delivery`` in the same transaction that settles
  the row; a row that comes back (retry, or lease expiry after a crash between chunks) skips tokens already
  delivered. So a working device gets each notification once. The one window left is a crash while
  requests are in flight, before their answers are written: those tokens are sent again. The message then
  reuses the notification id as Android tag / APNs collapse id / web push Topic, so the device shows it
  once.
- Transient failures (quota, unavailable, internal, timeouts) go back to ``pending`` with exponential
  backoff and jitter, never sooner than the server's ``Retry-After``, until ``max_attempts``; then the row
  is ``failed`` with the reason. Dead tokens (unregistered, sender mismatch, invalid token) are deleted.
"""

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker

from notifications.claims import (
    Claimed,
    OnSent,
    Settled,
    Stats,
    backoff_seconds,
    default_worker_id,
    engine_of,
    lease_claim,
    message_for,
    send_chunks,
)
from notifications.push import Outcome, PushMessage, PushResult, PushSender
from notifications.wakes import woken
from schemas.base import utcnow
from schemas.channels import ChannelPreference
from schemas.notifications import (
    CLAIMABLE,
    DeviceTarget,
    Notification,
    NotificationDelivery,
    NotificationStatus,
)

log = logging.getLogger(__name__)

N = Notification.__table__  # type: ignore[attr-defined]
D = DeviceTarget.__table__  # type: ignore[attr-defined]
L = NotificationDelivery.__table__  # type: ignore[attr-defined]
P = ChannelPreference.__table__  # type: ignore[attr-defined]

_ROW_COLUMNS = (
    N.c.id,
    N.c.recipient_kind,
    N.c.recipient_id,
    N.c.template,
    N.c.title_vi,
    N.c.body_vi,
    N.c.title_en,
    N.c.body_en,
    N.c.deep_link,
    N.c.collapse_key,
    N.c.priority,
    N.c.data_only,
    N.c.attempts,
)


class Dispatcher:
    def __init__(
        self,
        db: AsyncEngine | async_sessionmaker[Any],
        sender: PushSender,
        worker_id: str | None = None,
        *,
        batch_size: int = 500,
        send_chunk: int = 500,
        lease: timedelta = timedelta(minutes=2),
        max_attempts: int = 6,
        backoff_base: timedelta = timedelta(seconds=15),
        backoff_cap: timedelta = timedelta(hours=1),
        on_sent: OnSent | None = None,
        after_settle: Callable[[list[Settled]], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        idle_interval: float = 1.0,
        gather: float = 0.0,
        heartbeat: float | None = None,
        honour_opt_out: bool = False,
    ) -> None:
        self.engine = engine_of(db)
        self.sender = sender
        self.worker_id = worker_id or default_worker_id()
        self.batch_size = batch_size
        self.send_chunk = send_chunk
        self.lease = lease
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base.total_seconds()
        self.backoff_cap = backoff_cap.total_seconds()
        self.on_sent = on_sent
        # Told every outcome once it is committed (in the loop, keep it quick): the worker wakes the channel
        # dispatcher with it when a citizen's push did not reach them (backend/notices/worker.py).
        self.after_settle = after_settle
        self.clock = clock
        self.rng = rng or random.Random()
        self.idle_interval = idle_interval
        # Seconds a wake waits before its pass, so that notices committed together (a burst of one-notice
        # transactions) are claimed by one pass instead of a pass each (see ``run_forever``).
        self.gather = gather
        # Real seconds between lease extensions while a chunk is in flight (a third of the lease).
        self.heartbeat = heartbeat if heartbeat is not None else lease.total_seconds() / 3
        # Citizens who switched push off (channel_preference, notifications/channels) get none: their rows are
        # skipped, which the channel policy takes as "push could not reach them".
        self.honour_opt_out = honour_opt_out
        self.stats = Stats()
        self._dialect = self.engine.dialect.name
        self._wake: asyncio.Event | None = None

    # --- the loop -------------------------------------------------------------------------------------------

    def wake(self) -> None:
        """Ask ``run_forever`` to look for work now (e.g. right after a commit that enqueued): at once when
        waiting, or right after the pass under way. Wakes before the next pass are one."""
        if self._wake is not None:
            self._wake.set()

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Dispatch until ``stop`` is set. Database or sender errors are logged and retried after a pause. A wake
        starts a pass ``gather`` seconds later (a poll at once)."""
        self._wake = asyncio.Event()
        while not stop.is_set():
            # Cleared before the pass, not after: a wake during it (a notice committed after its claim looked)
            # makes the wait below return at once instead of leaving that notice to the next poll.
            self._wake.clear()
            try:
                claimed = await self.run_once()
            except Exception:
                log.exception("notification dispatcher %s: pass failed", self.worker_id)
                claimed = 0
            if claimed >= self.batch_size:
                continue  # more is probably waiting
            if await woken(self._wake, stop, self.idle_interval) and self.gather > 0:
                # Woken by a notice: the notices committed in the next moment go in the same pass. A wake
                # always comes after its notice's commit, so whatever woke us is visible to the claim.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.gather)

    async def run_once(self) -> int:
        """Claim up to ``batch_size`` due rows and settle them. Returns how many rows were claimed."""
        now = self.clock()
        rows = await self._claim(now)
        if not rows:
            return 0
        self.stats.claimed += len(rows)

        abandoned = [r for r in rows if r.attempts > self.max_attempts]
        live = [r for r in rows if r.attempts <= self.max_attempts]
        first: list[Settled] = [
            Settled(
                r,
                NotificationStatus.failed,
                error=f"no outcome after {r.attempts - 1} attempts (the last worker's lease expired)",
            )
            for r in abandoned
        ]
        if not self.sender.enabled:
            first += [Settled(r, NotificationStatus.skipped, error="push is off") for r in live]
            await self._settle(first, [], [], now)
            return len(rows)

        targets, delivered, off = await self._lookup(live)
        plans: list[tuple[Claimed, list[PushMessage]]] = []
        for row in live:
            done = delivered.get(row.id, set())
            tokens = [
                (t, p) for t, p in targets.get((row.recipient_kind, row.recipient_id), []) if t not in done
            ]
            if row.recipient_kind == "citizen" and row.recipient_id in off:
                first.append(
                    Settled(row, NotificationStatus.skipped, error="push switched off by the citizen")
                )
            elif tokens:
                plans.append((row, [message_for(row, t, p) for t, p in tokens]))
            elif done:
                first.append(Settled(row, NotificationStatus.sent))
            else:
                first.append(Settled(row, NotificationStatus.skipped, error="no device registered"))
        if first:
            await self._settle(first, [], [], now)

        for chunk in send_chunks(plans, self.send_chunk):
            # The fence: only rows this worker still holds go out (and their lease starts afresh).
            held = await self._extend_lease([r.id for r, _ in chunk], self.clock())
            if len(held) < len(chunk):
                self._count([], 0, len(chunk) - len(held))
                chunk = [plan for plan in chunk if plan[0].id in held]
                if not chunk:
                    continue
            messages = [m for _, ms in chunk for m in ms]
            # Stopped by an event, never cancelled: a cancelled extension would abandon its database
            # statement half-way (on SQLite the connection keeps the write lock and every writer waits).
            sent = asyncio.Event()
            beat = asyncio.ensure_future(self._keep_leases([r.id for r, _ in chunk], sent))
            try:
                results = await self.sender.send(messages)
            finally:
                sent.set()
                await beat
            if len(results) != len(messages):
                raise RuntimeError(f"sender answered {len(results)} results for {len(messages)} messages")
            self.stats.messages += len(messages)
            await self._finish_chunk(chunk, results, delivered)
        return len(rows)

    async def _keep_leases(self, ids: list[uuid.UUID], done: asyncio.Event) -> None:
        """The heartbeat of a chunk in flight: extend its rows' lease until ``done`` (an extension under way
        finishes first). A failed extension is logged and tried again at the next beat (the lease is three
        beats long)."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), self.heartbeat)
            if done.is_set():
                return
            try:
                await self._extend_lease(ids, self.clock())
            except Exception:
                log.warning(
                    "%s: could not extend the lease of %d rows", self.worker_id, len(ids), exc_info=True
                )

    # --- database steps -------------------------------------------------------------------------------------

    async def _claim(self, now: datetime) -> list[Claimed]:
        stmt = lease_claim(
            N,
            claimable=CLAIMABLE,
            sending=NotificationStatus.sending.value,
            worker_id=self.worker_id,
            now=now,
            lease_until=now + self.lease,
            batch_size=self.batch_size,
            dialect=self._dialect,
        ).returning(*_ROW_COLUMNS)
        async with self.engine.begin() as conn:
            result = await conn.execute(stmt)
            return [Claimed(**row._mapping) for row in result]

    async def _lookup(
        self, rows: list[Claimed]
    ) -> tuple[dict[tuple[str, uuid.UUID], list[tuple[str, str]]], dict[uuid.UUID, set[str]], set[uuid.UUID]]:
        """Device targets of the rows' recipients, tokens already delivered for retried rows, and the citizens
        among the recipients who switched push off (when honoured)."""
        targets: dict[tuple[str, uuid.UUID], list[tuple[str, str]]] = {}
        delivered: dict[uuid.UUID, set[str]] = {}
        off: set[uuid.UUID] = set()
        if not rows:
            return targets, delivered, off
        owners = list({r.recipient_id for r in rows})
        retried = [r.id for r in rows if r.attempts > 1]
        async with self.engine.connect() as conn:
            for start in range(0, len(owners), 1000):
                q = select(D.c.owner_kind, D.c.owner_id, D.c.token, D.c.platform).where(
                    D.c.owner_id.in_(owners[start : start + 1000])
                )
                for kind, owner, token, platform in await conn.execute(q):
                    targets.setdefault((kind, owner), []).append((token, platform))
            for start in range(0, len(retried), 1000):
                q = select(L.c.notification_id, L.c.token).where(
                    L.c.notification_id.in_(retried[start : start + 1000])
                )
                for nid, token in await conn.execute(q):
                    delivered.setdefault(nid, set()).add(token)
            if self.honour_opt_out:
                q = select(P.c.citizen_id).where(
                    P.c.citizen_id.in_(owners), P.c.channel == "push", P.c.enabled.is_(False)
                )
                off = set((await conn.execute(q)).scalars())
            await conn.rollback()
        return targets, delivered, off

    async def _extend_lease(self, ids: list[uuid.UUID], now: datetime) -> set[uuid.UUID]:
        """Extend the lease of the rows of ``ids`` this worker still holds; returns those rows' ids."""
        until = now + self.lease
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(N)
                .where(
                    N.c.id.in_(ids),
                    N.c.claimed_by == self.worker_id,
                    N.c.status == NotificationStatus.sending.value,
                )
                .values(claimed_until=until, next_attempt_at=until)
                .returning(N.c.id)
            )
            return set(result.scalars())

    async def _finish_chunk(
        self,
        chunk: list[tuple[Claimed, list[PushMessage]]],
        results: list[PushResult],
        delivered_before: dict[uuid.UUID, set[str]],
    ) -> None:
        now = self.clock()
        answers = iter(results)
        settled: list[Settled] = []
        deliveries: list[dict[str, Any]] = []
        dead: list[str] = []
        for row, messages in chunk:
            mine = [next(answers) for _ in messages]
            for res in mine:
                if res.outcome is Outcome.sent:
                    deliveries.append(
                        {
                            "id": uuid.uuid4(),
                            "notification_id": row.id,
                            "token": res.token,
                            "message_id": res.message_id,
                            "delivered_at": now,
                        }
                    )
                elif res.outcome is Outcome.dead:
                    dead.append(res.token)
            settled.append(self._decide(row, mine, bool(delivered_before.get(row.id)), now))
        await self._settle(settled, deliveries, dead, now)

    def _decide(
        self, row: Claimed, results: list[PushResult], had_deliveries: bool, now: datetime
    ) -> Settled:
        sent = tuple(r.token for r in results if r.outcome is Outcome.sent)
        retry = [r for r in results if r.outcome is Outcome.retry]
        fatal = [r for r in results if r.outcome is Outcome.fatal]
        errors = "; ".join(f"{r.token[:12]}…: {r.error}" for r in retry + fatal)[:1000] or None
        if retry:
            if row.attempts >= self.max_attempts:
                return Settled(
                    row,
                    NotificationStatus.failed,
                    f"gave up after {row.attempts} attempts: {errors}"[:1000],
                    None,
                    sent,
                )
            wait = backoff_seconds(
                row.attempts,
                base=self.backoff_base,
                cap=self.backoff_cap,
                rng=self.rng,
                retry_after=max((r.retry_after or 0.0) for r in retry) or None,
            )
            return Settled(row, NotificationStatus.pending, errors, now + timedelta(seconds=wait), sent)
        if sent or had_deliveries:
            return Settled(row, NotificationStatus.sent, errors, None, sent)
        if fatal:
            return Settled(row, NotificationStatus.failed, errors, None, sent)
        return Settled(
            row, NotificationStatus.skipped, "no working device (all targets unregistered)", None, sent
        )

    async def _settle(
        self, settled: list[Settled], deliveries: list[dict[str, Any]], dead: list[str], now: datetime
    ) -> None:
        """Write one chunk's outcome in one transaction: deliveries, dead targets, row statuses."""
        plain_sent = [s.row.id for s in settled if s.status is NotificationStatus.sent and not s.error]
        others = [s for s in settled if not (s.status is NotificationStatus.sent and not s.error)]
        fence = (N.c.claimed_by == self.worker_id, N.c.status == NotificationStatus.sending.value)
        lost = 0
        async with self.engine.begin() as conn:
            if deliveries:
                # A row deleted while its request was in flight (a withdrawn reminder) has no deliveries to
                # log; the rows kept are locked against deletion until this transaction ends.
                existing = select(N.c.id).where(N.c.id.in_({d["notification_id"] for d in deliveries}))
                if self._dialect == "postgresql":
                    existing = existing.with_for_update(read=True, key_share=True)
                alive = set((await conn.execute(existing)).scalars())
                deliveries = [d for d in deliveries if d["notification_id"] in alive]
            if deliveries:
                await conn.execute(self._insert_ignore_deliveries(), deliveries)
            if dead:
                await conn.execute(delete(D).where(D.c.token.in_(sorted(set(dead)))))
            if plain_sent:
                result = await conn.execute(
                    update(N)
                    .where(N.c.id.in_(plain_sent), *fence)
                    .values(
                        status=NotificationStatus.sent.value, sent_at=now, claimed_until=None, last_error=None
                    )
                )
                lost += len(plain_sent) - max(result.rowcount, 0)
            if others:
                lost += await self._update_each(conn, others, now)
        self._count(settled, len(set(dead)), lost)
        if self.after_settle is not None:
            try:
                self.after_settle(settled)
            except Exception:  # the outcome is committed: a hook's failure must not fail the pass
                log.exception("after_settle hook failed")
        if self.on_sent is not None:
            done = [s for s in settled if s.status in (NotificationStatus.sent, NotificationStatus.skipped)]
            if done:
                try:
                    await self.on_sent(done)
                except Exception:
                    log.exception("on_sent hook failed")

    async def _update_each(self, conn: AsyncConnection, settled: list[Settled], now: datetime) -> int:
        stmt = (
            update(N)
            .where(
                N.c.id == bindparam("b_id"),
                N.c.claimed_by == self.worker_id,
                N.c.status == NotificationStatus.sending.value,
            )
            .values(
                status=bindparam("b_status"),
                last_error=bindparam("b_error"),
                next_attempt_at=bindparam("b_next", type_=N.c.next_attempt_at.type),
                sent_at=bindparam("b_sent", type_=N.c.sent_at.type),
                claimed_until=None,
            )
        )
        params = [
            {
                "b_id": s.row.id,
                "b_status": s.status.value,
                "b_error": s.error,
                "b_next": s.next_attempt_at or now,
                "b_sent": now if s.status is NotificationStatus.sent else None,
            }
            for s in settled
        ]
        result = await conn.execute(stmt, params)
        return len(params) - max(result.rowcount, 0) if result.rowcount >= 0 else 0

    def _insert_ignore_deliveries(self) -> Any:
        # Another worker that took over an expired lease may have logged the same token already.
        if self._dialect == "postgresql":
            return postgresql.insert(L).on_conflict_do_nothing(index_elements=["notification_id", "token"])
        if self._dialect == "sqlite":
            return sqlite.insert(L).on_conflict_do_nothing(index_elements=["notification_id", "token"])
        return insert(L)

    def _count(self, settled: list[Settled], dead: int, lost: int) -> None:
        for s in settled:
            if s.status is NotificationStatus.sent:
                self.stats.sent += 1
            elif s.status is NotificationStatus.skipped:
                self.stats.skipped += 1
            elif s.status is NotificationStatus.pending:
                self.stats.retried += 1
            else:
                self.stats.failed += 1
        self.stats.dead_targets += dead
        if lost:
            self.stats.lost_leases += lost
            log.warning(
                "%s: %d rows were taken over by another worker before we settled them", self.worker_id, lost
            )


__all__ = ["Claimed", "Dispatcher", "OnSent", "Settled", "Stats", "backoff_seconds"]
