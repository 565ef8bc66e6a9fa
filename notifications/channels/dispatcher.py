"""The channel dispatcher: plans fallbacks, claims due SMS/ZNS deliveries, sends them, records what happened.

Beside the push dispatcher (``notifications.dispatcher``), with the same guarantees and the same lease claim
(``notifications.claims.lease_claim``): a claimed delivery is leased to one worker; a worker killed mid-batch
leaves its rows ``sending`` until the lease runs out, then another worker takes them. Right before sending, the
worker fences (extends the lease only where it still holds the row, and sends only those), so a row taken over or
suppressed by an opt-out is not sent. The request id each provider gets is the delivery's id: a delivery sent
again after a crash mid-request is refused by eSMS as a duplicate (and counted sent), and carried by Zalo as
``tracking_id``.

Per pass, for each channel with a sender that no provider's Retry-After pauses: claim up to ``batch_size`` due
rows; rows past ``max_attempts`` fail; a row whose citizen switched the channel off is ``suppressed``, one with no
phone number or no text/template for its kind ``skipped``; a row that falls in quiet hours (21:00-07:00 Vietnam
time) goes back to ``pending`` until 07:00 without counting an attempt. The rest reserve send slots at the
channel's rate (shared by every dispatcher: ``ratelimit``) and go out ``concurrency`` at a time. A 429/5xx or an
unreachable provider puts the row back with exponential backoff and jitter, never sooner than Retry-After, and
pauses the channel for every dispatcher until then; after ``max_attempts`` the row is ``failed``.
"""

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from notifications.channels import planner, ratelimit, store
from notifications.channels.policy import ChannelConfig, earliest_send
from notifications.channels.senders import ChannelSender, NotSendable, Prepared
from notifications.channels.store import Claim, Outcome
from notifications.claims import backoff_seconds, default_worker_id, engine_of
from notifications.sms.base import Outcome as SendOutcome
from notifications.sms.base import SendResult
from notifications.wakes import woken
from schemas.base import utcnow
from schemas.channels import DeliveryStatus, NoticeChannel

log = logging.getLogger(__name__)


@dataclass
class ChannelStats:
    claimed: int = 0
    planned: int = 0
    sent: dict[str, int] = field(default_factory=dict)
    retried: int = 0
    failed: int = 0
    suppressed: int = 0
    skipped: int = 0
    deferred: int = 0
    lost_leases: int = 0


class ChannelDispatcher:
    def __init__(
        self,
        db: AsyncEngine | async_sessionmaker[Any],
        senders: Mapping[NoticeChannel, ChannelSender],
        config: ChannelConfig,
        worker_id: str | None = None,
        *,
        rates: Mapping[NoticeChannel, float] | None = None,
        batch_size: int = 200,
        concurrency: int = 20,
        lease: timedelta = timedelta(minutes=2),
        max_attempts: int = 6,
        backoff_base: timedelta = timedelta(seconds=30),
        backoff_cap: timedelta = timedelta(hours=1),
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        idle_interval: float = 1.0,
    ) -> None:
        self.engine = engine_of(db)
        self.senders = dict(senders)
        self.config = config
        self.worker_id = worker_id or default_worker_id()
        self.rates = dict(rates or {})
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.lease = lease
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base.total_seconds()
        self.backoff_cap = backoff_cap.total_seconds()
        self.clock = clock
        self.rng = rng or random.Random()
        self.idle_interval = idle_interval
        self.stats = ChannelStats()
        self._wake: asyncio.Event | None = None

    def wake(self) -> None:
        """Ask ``run_forever`` to look for work now: at once when waiting, or right after the pass under way."""
        if self._wake is not None:
            self._wake.set()

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Dispatch until ``stop`` is set; errors are logged and the pass retried after a pause."""
        self._wake = asyncio.Event()
        while not stop.is_set():
            # Cleared before the pass, not after: a wake during it (a push that just failed to reach a citizen)
            # makes the wait below return at once instead of leaving that notice to the next poll.
            self._wake.clear()
            try:
                busy = await self.run_once()
            except Exception:
                log.exception("channel dispatcher %s: pass failed", self.worker_id)
                busy = 0
            if busy >= self.batch_size:
                continue
            await woken(self._wake, stop, self.idle_interval)

    async def run_once(self) -> int:
        """Plan fallbacks, then claim and send each channel's due rows. Returns the most rows one channel claimed."""
        now = self.clock()
        self.stats.planned += await planner.plan(
            self.engine, self.config, now, self.worker_id, self.batch_size
        )
        paused = await ratelimit.paused(self.engine, now)
        busiest = 0
        channels = [c for c in self.senders if c.value not in paused]
        results = await asyncio.gather(*(self._channel_pass(c, now) for c in channels))
        for n in results:
            busiest = max(busiest, n)
        return busiest

    async def _channel_pass(self, channel: NoticeChannel, now: datetime) -> int:
        # No more than a third of the lease's worth at the channel's rate: paced sends end well inside the lease.
        rate = self.rates.get(channel, 0.0)
        batch = (
            self.batch_size
            if rate <= 0
            else max(1, min(self.batch_size, int(rate * self.lease.total_seconds() / 3)))
        )
        claims = await store.claim(self.engine, channel.value, self.worker_id, now, now + self.lease, batch)
        if not claims:
            return 0
        self.stats.claimed += len(claims)
        sender = self.senders[channel]
        ctx = await store.context(self.engine, claims)
        first: list[Outcome] = []
        ready: list[tuple[Claim, str, Prepared]] = []
        for c in claims:
            decided = self._screen(c, sender, ctx, now)
            if isinstance(decided, Outcome):
                first.append(decided)
            else:
                ready.append((c, *decided))
        if first:
            await self._settle(first)
        if ready:
            await self._send(channel, sender, ready)
        return len(claims)

    def _screen(
        self, c: Claim, sender: ChannelSender, ctx: store.Context, now: datetime
    ) -> Outcome | tuple[str, Prepared]:
        """A claimed row's fate before any request: an outcome, or (phone, prepared message) to send."""
        if c.attempts > self.max_attempts:
            return Outcome(c, DeliveryStatus.failed, f"no outcome after {c.attempts - 1} attempts")
        if (c.recipient_id, c.channel) in ctx.off:
            return Outcome(c, DeliveryStatus.suppressed, "the citizen switched this channel off")
        wait_until = earliest_send(NoticeChannel(c.channel), c.template, now)
        if wait_until > now:
            return Outcome(
                c,
                DeliveryStatus.pending,
                "quiet hours (21:00-07:00 Vietnam time): waits for 07:00",
                {"next_attempt_at": wait_until, "attempts": c.attempts - 1},
            )
        phone = ctx.phones.get(c.recipient_id)
        if not phone:
            return Outcome(c, DeliveryStatus.skipped, "no phone number", {"last_error": "no phone number"})
        try:
            prepared = sender.prepare(c.template, ctx.params.get(c.notification_id) or {})
        except NotSendable as exc:
            return Outcome(c, DeliveryStatus.skipped, str(exc), {"last_error": str(exc)[:500]})
        return phone, prepared

    async def _send(
        self, channel: NoticeChannel, sender: ChannelSender, ready: list[tuple[Claim, str, Prepared]]
    ) -> None:
        now = self.clock()
        held = await store.fence(self.engine, [c.id for c, _, _ in ready], self.worker_id, now + self.lease)
        if len(held) < len(ready):
            self.stats.lost_leases += len(ready) - len(held)
            ready = [r for r in ready if r[0].id in held]
        if not ready:
            return
        slots = await ratelimit.reserve(
            self.engine, channel.value, len(ready), self.rates.get(channel, 0.0), now
        )
        loop = asyncio.get_running_loop()
        start = loop.time() + max(0.0, (slots.first - now).total_seconds())
        gate = asyncio.Semaphore(self.concurrency)

        async def one(i: int, c: Claim, phone: str, prepared: Prepared) -> None:
            delay = start + i * slots.interval_s - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            async with gate:
                try:
                    result = await sender.send(phone, prepared, request_id=c.id.hex)
                except Exception as exc:  # an adapter's bug must not lose the row: retried like an outage
                    log.exception("%s sender raised", channel)
                    result = SendResult(SendOutcome.retry, sender.provider, error=f"{type(exc).__name__}")
            # Written as soon as it is known: a worker killed mid-batch leaves only the requests on the wire
            # unrecorded (sent again after its lease; eSMS refuses the repeat by our RequestId).
            await self._finish(channel, sender, [(c, prepared, result)])

        await asyncio.gather(*(one(i, c, p, m) for i, (c, p, m) in enumerate(ready)))

    async def _finish(
        self, channel: NoticeChannel, sender: ChannelSender, answers: list[tuple[Claim, Prepared, SendResult]]
    ) -> None:
        now = self.clock()
        outcomes: list[Outcome] = []
        pause_for = 0.0
        for c, prepared, res in answers:
            base: dict[str, Any] = {"provider": res.provider or sender.provider}
            if res.outcome is SendOutcome.sent:
                values = {
                    **base,
                    "provider_message_id": res.message_id,
                    "cost_vnd": prepared.cost_vnd,
                    "segments": prepared.segments,
                    "last_error": None,
                }
                outcomes.append(Outcome(c, DeliveryStatus.sent, res.message_id, values))
            elif res.outcome is SendOutcome.retry and c.attempts < self.max_attempts:
                wait = backoff_seconds(
                    c.attempts,
                    base=self.backoff_base,
                    cap=self.backoff_cap,
                    rng=self.rng,
                    retry_after=res.retry_after_s,
                )
                pause_for = max(pause_for, res.retry_after_s or 0.0)
                error = f"{res.error} (attempt {c.attempts}, again in {wait:.0f} s)"
                values = {**base, "next_attempt_at": now + timedelta(seconds=wait), "last_error": error[:500]}
                outcomes.append(Outcome(c, DeliveryStatus.pending, error, values))
            else:
                why = (
                    res.error
                    if res.outcome is SendOutcome.fatal
                    else f"gave up after {c.attempts} attempts: {res.error}"
                )
                outcomes.append(
                    Outcome(c, DeliveryStatus.failed, why, {**base, "last_error": (why or "")[:500]})
                )
        if pause_for:
            await ratelimit.pause(self.engine, channel.value, now + timedelta(seconds=pause_for), now)
        await self._settle(outcomes)

    async def _settle(self, outcomes: list[Outcome]) -> None:
        lost = await store.settle(self.engine, outcomes, self.worker_id, self.clock())
        self.stats.lost_leases += lost
        for o in outcomes:
            if o.status is DeliveryStatus.sent:
                self.stats.sent[o.claim.channel] = self.stats.sent.get(o.claim.channel, 0) + 1
            elif o.status is DeliveryStatus.pending:
                if o.values and "attempts" in o.values:
                    self.stats.deferred += 1
                else:
                    self.stats.retried += 1
            elif o.status is DeliveryStatus.failed:
                self.stats.failed += 1
            elif o.status is DeliveryStatus.suppressed:
                self.stats.suppressed += 1
            else:
                self.stats.skipped += 1

    async def aclose(self) -> None:
        for sender in self.senders.values():
            await sender.aclose()
