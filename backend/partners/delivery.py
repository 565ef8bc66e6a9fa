"""The delivery worker: leases due webhook deliveries, POSTs them signed, records every attempt.

The pattern is the notification outbox's (``notifications/dispatcher.py``), with its backoff and worker ids:
- A claim is one statement (``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n) RETURNING`` on
  PostgreSQL; SQLite's write lock makes the same statement atomic). The row turns ``sending`` with a lease
  (``claimed_by``, ``claimed_until``); ``next_attempt_at`` becomes the lease's end, so a worker killed while
  its request is in flight leaves a row that comes due again when the lease runs out, and another worker
  sends it: at least once. The lease (``WEBHOOK_LEASE_S``) is longer than a request may take
  (``WEBHOOK_TIMEOUT_S``, checked by the settings), so a live worker never loses one it is still sending.
- The outcome is written only where this worker still holds the row (the fence), with an attempt row
  (status code, error, duration) in the same transaction. A lease that ran out with no outcome is recorded
  as an attempt too, by the worker that takes the row over.
- 2xx: delivered. Network errors, timeouts, 408, 429 and 5xx: retried with exponential backoff and jitter,
  never sooner than ``Retry-After``, until ``WEBHOOK_MAX_ATTEMPTS`` (about a day with the defaults), then
  failed. Any other status (4xx, and 3xx: redirects are not followed) fails for good at once.
- Receivers dedupe by ``Webhook-Id`` (the event id): a delivery whose answer was lost is sent again.
"""

import asyncio
import contextlib
import email.utils
import json
import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.partners import signing
from backend.partners.urls import RefusedUrl, check_url
from notifications.claims import backoff_seconds, default_worker_id, lease_claim
from schemas.base import utcnow
from schemas.webhooks import CLAIMABLE, DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint

log = logging.getLogger("backend.partners")

W = WebhookDelivery.__table__  # type: ignore[attr-defined]
E = WebhookEndpoint.__table__  # type: ignore[attr-defined]
A = WebhookAttempt.__table__  # type: ignore[attr-defined]

RETRYABLE = frozenset({408, 429})


@dataclass(frozen=True)
class Job:
    id: uuid.UUID
    event_id: uuid.UUID
    payload: Mapping[str, Any]
    attempts: int
    url: str | None
    secret: str | None
    active: bool


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    error: str | None
    duration_ms: int
    retry_after: float | None = None


def encode(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact JSON, UTF-8, Vietnamese letters as they are."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    with contextlib.suppress(TypeError, ValueError):
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - now).total_seconds())
    return None


class Delivery:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        production: bool,
        worker_id: str | None = None,
        batch_size: int = 50,
        concurrency: int = 16,
        timeout_s: float = 10.0,
        lease: timedelta = timedelta(seconds=60),
        max_attempts: int = 14,
        backoff_base: timedelta = timedelta(seconds=30),
        backoff_cap: timedelta = timedelta(hours=6),
        idle_interval: float = 1.0,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.engine = engine
        self.production = production
        self.worker_id = worker_id or default_worker_id()
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.lease = lease
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base.total_seconds()
        self.backoff_cap = backoff_cap.total_seconds()
        self.idle_interval = idle_interval
        self.clock = clock
        self.rng = rng or random.Random()
        self._dialect = engine.dialect.name
        # No redirects (a 3xx could point anywhere, past the address check); no proxy from the environment
        # unless the operator sets one: the check is of the receiver's own address.
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            transport=transport,
            headers={"User-Agent": "hoso-buudien-webhooks/1"},
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                claimed = await self.run_once()
            except Exception:
                log.exception("webhook delivery %s: pass failed", self.worker_id)
                claimed = 0
            if claimed >= self.batch_size:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.idle_interval)

    async def run_once(self) -> int:
        """Claim up to ``batch_size`` due deliveries, send them (``concurrency`` at once) and settle each."""
        jobs = await self._claim(self.clock())
        if not jobs:
            return 0
        gate = asyncio.Semaphore(self.concurrency)

        async def one(job: Job) -> None:
            async with gate:
                await self._settle(job, await self._send(job))

        await asyncio.gather(*(one(job) for job in jobs))
        return len(jobs)

    async def _claim(self, now: datetime) -> list[Job]:
        claim = lease_claim(
            W,
            claimable=CLAIMABLE,
            sending=DeliveryStatus.sending.value,
            worker_id=self.worker_id,
            now=now,
            lease_until=now + self.lease,
            batch_size=self.batch_size,
            dialect=self._dialect,
        ).returning(W.c.id, W.c.event_id, W.c.endpoint_id, W.c.payload, W.c.attempts)
        async with self.engine.begin() as conn:
            claimed = [r._mapping for r in await conn.execute(claim)]
            if not claimed:
                return []
            ids = [r["id"] for r in claimed]
            endpoints = {
                r.id: r
                for r in await conn.execute(
                    select(E.c.id, E.c.url, E.c.secret, E.c.active).where(
                        E.c.id.in_({r["endpoint_id"] for r in claimed})
                    )
                )
            }
            counted = select(A.c.delivery_id, func.count()).where(A.c.delivery_id.in_(ids))
            recorded: dict[uuid.UUID, int] = {
                d: n for d, n in await conn.execute(counted.group_by(A.c.delivery_id))
            }
            # A previous worker's lease ran out with no outcome: say so in the delivery's history.
            lost = [
                {
                    "id": uuid.uuid4(),
                    "delivery_id": r["id"],
                    "attempt": r["attempts"] - 1,
                    "at": now,
                    "worker": self.worker_id,
                    "status_code": None,
                    "error": "no outcome recorded: the sending worker's lease ran out",
                    "duration_ms": None,
                    "outcome": DeliveryStatus.sending.value,
                }
                for r in claimed
                if recorded.get(r["id"], 0) < r["attempts"] - 1
            ]
            if lost:
                await conn.execute(insert(A), lost)
        jobs = []
        for r in claimed:
            endpoint = endpoints.get(r["endpoint_id"])
            jobs.append(
                Job(
                    r["id"],
                    r["event_id"],
                    r["payload"],
                    r["attempts"],
                    endpoint.url if endpoint else None,
                    endpoint.secret if endpoint else None,
                    bool(endpoint and endpoint.active),
                )
            )
        return jobs

    async def _send(self, job: Job) -> Answer:
        if job.attempts > self.max_attempts:
            return Answer(None, f"gave up: {job.attempts - 1} attempts with no outcome", 0)
        if not job.active or job.url is None or job.secret is None:
            return Answer(None, "endpoint inactive", 0)
        started = time.perf_counter()
        try:
            # Checked again before each request: a host name may point somewhere private by now (production
            # resolves it, in a thread; elsewhere the check reads the URL only).
            if self.production:
                await asyncio.to_thread(check_url, job.url, production=True)
            else:
                check_url(job.url, production=False)
        except RefusedUrl as exc:
            return Answer(None, f"refused: {exc}"[:500], 0)
        body = encode(job.payload)
        headers = signing.headers(job.secret, str(job.event_id), int(time.time()), body)
        try:
            response = await self.http.post(job.url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            return Answer(None, f"timeout ({type(exc).__name__})", _ms(started))
        except httpx.HTTPError as exc:
            return Answer(None, f"{type(exc).__name__}: {exc}"[:500], _ms(started))
        return Answer(
            response.status_code,
            None if response.is_success else f"HTTP {response.status_code}",
            _ms(started),
            retry_after_seconds(response.headers.get("retry-after"), self.clock()),
        )

    def _outcome(
        self, job: Job, answer: Answer, now: datetime
    ) -> tuple[DeliveryStatus, datetime | None, str | None]:
        code = answer.status_code
        if code is not None and 200 <= code < 300:
            return DeliveryStatus.delivered, None, None
        if (
            job.attempts > self.max_attempts
            or answer.error in ("endpoint inactive",)
            or (answer.error or "").startswith("refused:")
        ):
            return DeliveryStatus.failed, None, answer.error
        transient = code is None or code in RETRYABLE or code >= 500
        if not transient:
            return DeliveryStatus.failed, None, answer.error
        if job.attempts >= self.max_attempts:
            return DeliveryStatus.failed, None, f"gave up after {job.attempts} attempts: {answer.error}"[:500]
        wait = backoff_seconds(
            job.attempts,
            base=self.backoff_base,
            cap=self.backoff_cap,
            rng=self.rng,
            retry_after=min(answer.retry_after, self.backoff_cap) if answer.retry_after else None,
        )
        return DeliveryStatus.pending, now + timedelta(seconds=wait), answer.error

    async def _settle(self, job: Job, answer: Answer) -> None:
        now = self.clock()
        status, next_at, error = self._outcome(job, answer, now)
        values: dict[str, Any] = {
            "status": status.value,
            "claimed_until": None,
            "last_status_code": answer.status_code,
            "last_error": error,
        }
        if status is DeliveryStatus.delivered:
            values["delivered_at"] = now
        if next_at is not None:
            values["next_attempt_at"] = next_at
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(W)
                .where(
                    W.c.id == job.id,
                    W.c.claimed_by == self.worker_id,
                    W.c.status == DeliveryStatus.sending.value,
                )
                .values(**values)
            )
            if result.rowcount != 1:
                log.warning(
                    "webhook delivery %s: lost the lease of %s before settling", self.worker_id, job.id
                )
                return
            await conn.execute(
                insert(A).values(
                    id=uuid.uuid4(),
                    delivery_id=job.id,
                    attempt=job.attempts,
                    at=now,
                    worker=self.worker_id,
                    status_code=answer.status_code,
                    error=answer.error,
                    duration_ms=answer.duration_ms,
                    outcome=status.value,
                )
            )


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
