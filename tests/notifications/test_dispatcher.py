"""The dispatcher on SQLite and PostgreSQL with the real FcmSender against the fake FCM server."""

import asyncio
import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bench.fakes.fcm_server import HANG, OK, QUOTA, UNAVAILABLE, UNREGISTERED, FakeFcm
from notifications.dispatcher import Claimed, Dispatcher, Settled, backoff_seconds
from notifications.outbox import enqueue
from notifications.push import FcmSender, NullSender
from schemas.notifications import DeviceTarget, Notification, NotificationDelivery
from tests.notifications.support import Clock, add_devices, eventually, status_counts

START = datetime(2025, 3, 1, 1, 30, tzinfo=UTC)


def booked(appointment: uuid.UUID | None = None) -> dict[str, object]:
    return {"appointment_id": appointment or uuid.uuid4(), "start": START, "post_office": "Bưu cục Ba Đình"}


async def write(
    engine: AsyncEngine, *rows: tuple[str, uuid.UUID, str, dict[str, object]], **kw: object
) -> list[uuid.UUID]:
    """Enqueue rows in one business transaction; returns their ids."""
    factory = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
    async with factory() as session:
        made = [
            enqueue(session, recipient_kind=k, recipient_id=r, template=t, params=p, **kw)  # type: ignore[arg-type]
            for k, r, t, p in rows
        ]
        await session.commit()
        return [m.id for m in made]


async def load(engine: AsyncEngine, nid: uuid.UUID) -> Notification:
    factory = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
    async with factory() as session:
        row = await session.get(Notification, nid)
        assert row is not None
        return row


async def tokens_of(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set((await conn.execute(select(DeviceTarget.token))).scalars())  # type: ignore[call-overload]


async def deliveries(engine: AsyncEngine) -> list[tuple[uuid.UUID, str]]:
    async with engine.connect() as conn:
        result = await conn.execute(select(NotificationDelivery.notification_id, NotificationDelivery.token))  # type: ignore[call-overload]
        return [(a, b) for a, b in result]


def dispatcher(db: AsyncEngine, sender: object, clock: Clock | None = None, **kw: object) -> Dispatcher:
    return Dispatcher(db, sender, "w-test", clock=clock or Clock(), rng=random.Random(7), **kw)  # type: ignore[arg-type]


async def test_sends_to_every_device_and_keeps_the_inbox(
    db: AsyncEngine, sender: FcmSender, fcm: FakeFcm
) -> None:
    citizen, courier, no_device = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await add_devices(
        db,
        [
            ("citizen", citizen, "cit-android", "android"),
            ("citizen", citizen, "cit-iphone", "ios"),
            ("staff", courier, "courier-phone", "android"),
        ],
    )
    appt = uuid.uuid4()
    ids = await write(
        db,
        (
            "citizen",
            citizen,
            "courier.on_the_way",
            {"appointment_id": appt, "eta": START, "courier_name": "An", "track_url": "https://x.vn/v/t"},
        ),
        ("staff", courier, "courier.route_updated", {"service_date": "2025-03-01"}),
        ("citizen", no_device, "appointment.booked", booked()),
    )
    seen: list[Settled] = []

    async def on_sent(done: Sequence[Settled]) -> None:
        seen.extend(done)

    d = dispatcher(db, sender, on_sent=on_sent)
    assert await d.run_once() == 3
    assert await d.run_once() == 0  # nothing left to claim

    eta, route, lonely = [await load(db, i) for i in ids]
    assert (eta.status, route.status, lonely.status) == ("sent", "sent", "skipped")
    assert lonely.last_error == "no device registered"
    assert eta.sent_at is not None and eta.attempts == 1 and eta.claimed_by == "w-test"

    by_token = {r.token: r.message for r in fcm.requests}
    assert set(by_token) == {"cit-android", "cit-iphone", "courier-phone"}
    for token in ("cit-android", "cit-iphone"):
        m = by_token[token]
        assert m["notification"]["title"] == "Bưu tá đang đến"
        assert "01/03/2025 08:30" in m["notification"]["body"]
        assert m["data"]["link"] == f"/appointments/{appt}"
        assert m["data"]["nid"] == str(ids[0])
        assert m["android"]["collapse_key"] == f"eta-{appt}"
        assert m["apns"]["headers"]["apns-collapse-id"] == f"eta-{appt}"
        assert m["android"]["priority"] == "high"
    courier_msg = by_token["courier-phone"]
    assert "notification" not in courier_msg and courier_msg["android"]["priority"] == "high"

    assert sorted(await deliveries(db)) == sorted(
        [(ids[0], "cit-android"), (ids[0], "cit-iphone"), (ids[1], "courier-phone")]
    )
    assert {s.row.id for s in seen} == set(ids)


async def test_dead_targets_are_removed(db: AsyncEngine, sender: FcmSender, fcm: FakeFcm) -> None:
    both, only_dead = uuid.uuid4(), uuid.uuid4()
    await add_devices(
        db,
        [
            ("citizen", both, "alive", "android"),
            ("citizen", both, "uninstalled", "android"),
            ("citizen", only_dead, "also-uninstalled", "ios"),
        ],
    )
    fcm.script("uninstalled", UNREGISTERED)
    fcm.script("also-uninstalled", UNREGISTERED)
    a, b = await write(
        db,
        ("citizen", both, "appointment.booked", booked()),
        ("citizen", only_dead, "appointment.booked", booked()),
    )
    d = dispatcher(db, sender)
    await d.run_once()
    assert await tokens_of(db) == {"alive"}
    assert (await load(db, a)).status == "sent"
    row_b = await load(db, b)
    assert row_b.status == "skipped" and "unregistered" in (row_b.last_error or "")
    assert d.stats.dead_targets == 2


async def test_transient_errors_retry_with_backoff_then_fail_at_the_limit(
    db: AsyncEngine, sender: FcmSender, fcm: FakeFcm
) -> None:
    who = uuid.uuid4()
    await add_devices(db, [("citizen", who, "flaky", "android")])
    # A 429 without Retry-After: firebase-admin does not retry it, so each attempt is the outbox's own.
    fcm.script("flaky", QUOTA(retry_after=None))
    [nid] = await write(db, ("citizen", who, "dossier.result_ready", {"item_id": "HS123456785VN"}))
    clock = Clock()
    d = dispatcher(db, sender, clock, max_attempts=3, backoff_base=timedelta(seconds=10))

    for attempt in (1, 2):
        assert await d.run_once() == 1
        row = await load(db, nid)
        assert row.status == "pending" and row.attempts == attempt
        assert "QuotaExceededError" in (row.last_error or "")
        wait = (row.next_attempt_at - clock.now).total_seconds()
        # Equal jitter: between half and all of 10 s * 2^(attempt-1).
        full = 10 * 2 ** (attempt - 1)
        assert full / 2 <= wait <= full
        # Not due yet: a pass just before the retry time claims nothing.
        clock.now = row.next_attempt_at - timedelta(milliseconds=1)
        assert await d.run_once() == 0
        clock.now = row.next_attempt_at

    assert await d.run_once() == 1
    row = await load(db, nid)
    assert row.status == "failed" and row.attempts == 3
    assert "gave up after 3 attempts" in (row.last_error or "") and "QuotaExceededError" in (
        row.last_error or ""
    )
    assert len(fcm.for_token("flaky")) == 3  # one request per attempt
    clock.advance(days=1)
    assert await d.run_once() == 0  # failed rows stay failed
    assert await tokens_of(db) == {"flaky"}  # a transient error never removes the device


async def test_retry_after_is_honoured(db: AsyncEngine, sender: FcmSender, fcm: FakeFcm) -> None:
    who = uuid.uuid4()
    await add_devices(db, [("citizen", who, "throttled", "android")])
    fcm.script("throttled", QUOTA(retry_after=600), QUOTA(retry_after=600), QUOTA(retry_after=None))
    [nid] = await write(db, ("citizen", who, "dossier.delivered", {"item_id": "HS123456785VN"}))
    clock = Clock()
    d = dispatcher(db, sender, clock, backoff_base=timedelta(seconds=5))
    await d.run_once()
    row = await load(db, nid)
    # Backoff alone would be 2.5..5 s; the server asked for 600 s.
    assert row.next_attempt_at == clock.now + timedelta(seconds=600)
    assert "QuotaExceededError" in (row.last_error or "")

    clock.now = row.next_attempt_at
    await d.run_once()
    row = await load(db, nid)
    assert row.next_attempt_at == clock.now + timedelta(seconds=600)

    # Without Retry-After the exponential backoff applies again (attempt 3: 10..20 s).
    clock.now = row.next_attempt_at
    await d.run_once()
    row = await load(db, nid)
    wait = (row.next_attempt_at - clock.now).total_seconds()
    assert 10 <= wait <= 20


async def test_retry_skips_devices_that_already_got_it(
    db: AsyncEngine, sender: FcmSender, fcm: FakeFcm
) -> None:
    """firebase-admin retries a 503 four more times itself; a token still failing then is the outbox's to
    retry later, and only that token is sent again."""
    who = uuid.uuid4()
    await add_devices(db, [("citizen", who, "phone", "android"), ("citizen", who, "tablet", "android")])
    fcm.script("tablet", *[UNAVAILABLE] * 5, OK)
    [nid] = await write(db, ("citizen", who, "dossier.picked_up", {"item_id": "HS123456785VN"}))
    clock = Clock()
    d = dispatcher(db, sender, clock)
    await d.run_once()
    row = await load(db, nid)
    assert row.status == "pending" and row.attempts == 1 and "UnavailableError" in (row.last_error or "")
    assert len(fcm.for_token("tablet")) == 5  # the SDK's five tries within the one attempt
    clock.now = row.next_attempt_at
    await d.run_once()
    row = await load(db, nid)
    assert row.status == "sent" and row.attempts == 2
    assert len(fcm.for_token("phone")) == 1  # the working device got it exactly once
    assert len(fcm.for_token("tablet")) == 6
    assert sorted(t for _, t in await deliveries(db)) == ["phone", "tablet"]


async def test_scheduled_reminders_wait_for_not_before(
    db: AsyncEngine, sender: FcmSender, fcm: FakeFcm
) -> None:
    who = uuid.uuid4()
    await add_devices(db, [("citizen", who, "phone-r", "android")])
    clock = Clock()
    remind_at = clock.now + timedelta(hours=20)
    [nid] = await write(
        db, ("citizen", who, "appointment.reminder_day_before", booked()), not_before=remind_at
    )
    d = dispatcher(db, sender, clock)
    assert await d.run_once() == 0
    clock.now = remind_at
    assert await d.run_once() == 1
    assert (await load(db, nid)).status == "sent"


async def test_push_off_marks_rows_skipped_but_keeps_them(db: AsyncEngine, fcm: FakeFcm) -> None:
    who = uuid.uuid4()
    await add_devices(db, [("citizen", who, "phone-x", "android")])
    [nid] = await write(db, ("citizen", who, "appointment.booked", booked()))
    d = dispatcher(db, NullSender())
    assert await d.run_once() == 1
    row = await load(db, nid)
    assert row.status == "skipped" and row.last_error == "push is off"
    assert row.title_vi == "Đặt lịch hẹn thành công"
    assert fcm.requests == []


async def test_rows_of_a_dead_worker_wait_for_the_lease_then_go_out_once(
    db: AsyncEngine, sender: FcmSender, fcm: FakeFcm
) -> None:
    who = uuid.uuid4()
    await add_devices(db, [("citizen", who, "phone-l", "android")])
    [nid] = await write(db, ("citizen", who, "dossier.result_ready", {"item_id": "HS123456785VN"}))
    fcm.script("phone-l", HANG)
    clock = Clock()
    crashed = dispatcher(db, sender, clock, lease=timedelta(seconds=30))
    task = asyncio.create_task(crashed.run_once())
    await eventually(lambda: fcm.pending_hung() >= 1)
    task.cancel()  # the worker dies with the request in flight, before any answer
    with pytest.raises(asyncio.CancelledError):
        await task
    fcm.script("phone-l")  # FCM answers normally again
    fcm.release_hung()

    row = await load(db, nid)
    assert row.status == "sending" and row.claimed_by == "w-test"
    assert row.claimed_until == clock.now + timedelta(seconds=30)
    other = Dispatcher(db, sender, "w-other", clock=clock)
    assert await other.run_once() == 0  # leased
    clock.advance(seconds=31)
    assert await other.run_once() == 1
    row = await load(db, nid)
    assert row.status == "sent" and row.claimed_by == "w-other" and row.attempts == 2
    assert [r.acknowledged for r in fcm.for_token("phone-l")] == [False, True]


async def test_a_row_whose_workers_keep_dying_is_failed(
    db: AsyncEngine, sender: FcmSender, fcm: FakeFcm
) -> None:
    who = uuid.uuid4()
    await add_devices(db, [("citizen", who, "phone-p", "android")])
    [nid] = await write(db, ("citizen", who, "dossier.result_ready", {"item_id": "HS123456785VN"}))
    fcm.script("phone-p", HANG)
    clock = Clock()
    d = dispatcher(db, sender, clock, max_attempts=1, lease=timedelta(seconds=10))
    task = asyncio.create_task(d.run_once())
    await eventually(lambda: fcm.pending_hung() >= 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    fcm.release_hung()
    clock.advance(seconds=11)
    assert await d.run_once() == 1
    row = await load(db, nid)
    assert row.status == "failed" and "lease expired" in (row.last_error or "")
    assert len(fcm.for_token("phone-p")) == 1  # not sent again


async def test_run_forever_stops_on_request_and_wakes_early(
    db: AsyncEngine, sender: FcmSender, fcm: FakeFcm
) -> None:
    who = uuid.uuid4()
    await add_devices(db, [("citizen", who, "phone-f", "android")])
    d = Dispatcher(db, sender, "w-loop", idle_interval=30.0)
    stop = asyncio.Event()
    loop = asyncio.create_task(d.run_forever(stop))
    await asyncio.sleep(0.2)  # the loop is now idle, waiting up to 30 s
    [nid] = await write(db, ("citizen", who, "dossier.delivered", {"item_id": "HS123456785VN"}))
    d.wake()
    for _ in range(200):
        if (await load(db, nid)).status == "sent":
            break
        await asyncio.sleep(0.02)
    assert (await load(db, nid)).status == "sent"
    stop.set()
    await asyncio.wait_for(loop, 5)


async def test_status_counts_helper_sees_every_row(db: AsyncEngine, fcm: FakeFcm) -> None:
    await write(db, *[("citizen", uuid.uuid4(), "appointment.booked", booked()) for _ in range(3)])
    assert await status_counts(db) == {"pending": 3}


def test_backoff_grows_and_is_capped() -> None:
    rng = random.Random(1)
    waits = [backoff_seconds(a, base=10, cap=300, rng=rng) for a in range(1, 10)]
    for attempt, wait in enumerate(waits, start=1):
        full = min(300, 10 * 2 ** (attempt - 1))
        assert full / 2 <= wait <= full
    assert backoff_seconds(1, base=10, cap=300, rng=rng, retry_after=900) == 900


async def test_a_send_slower_than_the_lease_is_not_sent_again_by_another_worker(
    db: AsyncEngine, sender: FcmSender, fcm: FakeFcm
) -> None:
    """Issue 17: a send that outlived its row's lease was claimed and sent again by a second dispatcher. The
    first one now extends the lease while its request is in flight (heartbeat), so the row is never due."""
    who = uuid.uuid4()
    await add_devices(db, [("citizen", who, "phone-slow", "android")])
    [nid] = await write(db, ("citizen", who, "dossier.result_ready", {"item_id": "HS123456785VN"}))
    fcm.delay = 1.0  # FCM is slow: each answer takes a second
    clock = Clock()
    slow = dispatcher(db, sender, clock, lease=timedelta(seconds=30), heartbeat=0.02)
    task = asyncio.create_task(slow.run_once())
    await eventually(lambda: len(fcm.for_token("phone-slow")) >= 1)
    clock.advance(seconds=31)  # longer than the lease the row was claimed with
    await asyncio.sleep(0.3)  # the first worker is alive: its heartbeat runs meanwhile
    other = Dispatcher(db, sender, "w-other", clock=clock)
    assert await other.run_once() == 0
    assert await asyncio.wait_for(task, 10) == 1
    row = await load(db, nid)
    assert row.status == "sent" and row.claimed_by == "w-test" and row.attempts == 1
    assert len(fcm.for_token("phone-slow")) == 1


async def test_a_lease_extension_in_flight_is_never_cancelled(
    db: AsyncEngine, sender: FcmSender, fcm: FakeFcm
) -> None:
    """The heartbeat stops by an event: an extension under way when the send ends finishes. Cancelling it
    abandoned its statement half-way, and on SQLite the connection kept the write lock (CI saw every later
    writer wait until the test timed out)."""
    who = uuid.uuid4()
    await add_devices(db, [("citizen", who, "phone-beat", "android")])
    [nid] = await write(db, ("citizen", who, "dossier.result_ready", {"item_id": "HS123456785VN"}))
    fcm.delay = 0.05
    cancelled: list[int] = []

    class SlowExtension(Dispatcher):
        async def _extend_lease(self, ids: Any, now: Any) -> Any:
            try:
                await asyncio.sleep(0.04)  # the extension is still under way when the answer comes
                return await super()._extend_lease(ids, now)
            except asyncio.CancelledError:
                cancelled.append(1)
                raise

    d = SlowExtension(db, sender, "w-test", clock=Clock(), rng=random.Random(7), heartbeat=0.02)
    assert await asyncio.wait_for(d.run_once(), 30) == 1
    assert cancelled == []
    assert (await load(db, nid)).status == "sent"


async def test_a_row_taken_over_before_its_chunk_is_sent_is_not_sent(
    db: AsyncEngine, sender: FcmSender, fcm: FakeFcm
) -> None:
    """The fence before each send: rows no longer held (taken over, or withdrawn) are dropped, not sent."""
    who = uuid.uuid4()
    await add_devices(db, [("citizen", who, "phone-fence", "android")])
    [nid] = await write(db, ("citizen", who, "dossier.result_ready", {"item_id": "HS123456785VN"}))
    clock = Clock()

    class Withdrawing(Dispatcher):
        async def _lookup(self, rows: list[Claimed]) -> Any:
            found = await super()._lookup(rows)
            async with db.begin() as conn:  # e.g. the appointment was cancelled meanwhile
                await conn.execute(delete(Notification.__table__).where(Notification.__table__.c.id == nid))  # type: ignore[attr-defined]
            return found

    d = Withdrawing(db, sender, "w-test", clock=clock, rng=random.Random(7))
    assert await d.run_once() == 1
    assert fcm.for_token("phone-fence") == []
    assert d.stats.lost_leases == 1
