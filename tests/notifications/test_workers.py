"""Dispatcher processes on SQLite and PostgreSQL: concurrent workers, and a worker killed mid-batch.

Each worker is a separate ``multiprocessing`` process running the real FcmSender against the fake FCM
server of this test process; the fake records every (notification, token) it acknowledged.
"""

import asyncio
import multiprocessing as mp
import os
import signal
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.fakes.fcm_server import FakeFcm
from notifications.dispatcher import Dispatcher
from notifications.outbox import build
from notifications.push import FcmSender
from schemas.base import utcnow
from schemas.notifications import Notification
from tests.notifications.procs import dispatcher_process
from tests.notifications.support import add_devices, eventually, status_counts

N = Notification.__table__  # type: ignore[attr-defined]


async def seed(engine: AsyncEngine, count: int) -> dict[str, str]:
    """``count`` notifications, each to a citizen with one device; returns nid -> token."""
    owners = [uuid.uuid4() for _ in range(count)]
    await add_devices(engine, [("citizen", o, f"tok-{i:05d}", "android") for i, o in enumerate(owners)])
    rows = [
        build(
            recipient_kind="citizen",
            recipient_id=o,
            template="dossier.result_ready",
            params={"item_id": f"HS{i:09d}VN"},
        )
        for i, o in enumerate(owners)
    ]
    async with engine.begin() as conn:
        await conn.execute(N.insert(), [r.model_dump() for r in rows])
    return {str(r.id): f"tok-{i:05d}" for i, r in enumerate(rows)}


def spawn(
    url: str, sa: Path, fake: FakeFcm, worker: str, start: object, **kw: object
) -> mp.process.BaseProcess:
    ctx = mp.get_context("spawn")
    proc = ctx.Process(
        target=dispatcher_process,
        args=(url, str(sa), worker, start),
        kwargs=kw,
        daemon=True,
    )
    proc.start()
    return proc


async def test_two_worker_processes_never_send_the_same_row(
    db: AsyncEngine, notif_db: str, fcm: FakeFcm, service_account: Path
) -> None:
    expected = await seed(db, 300)
    fcm.delay = 0.002  # keep each batch in flight a little, so the workers overlap
    start = mp.get_context("spawn").Event()
    # Both workers must be past their imports before either starts: the first one up used to drain all 300
    # rows before the other had started, failing the "both took part" check now and then.
    ready = mp.get_context("spawn").Semaphore(0)
    procs = [
        spawn(
            notif_db,
            service_account,
            fcm,
            name,
            start,
            batch_size=20,
            send_chunk=20,
            lease_s=60,
            until_idle=True,
            ready=ready,
        )
        for name in ("worker-a", "worker-b")
    ]
    for _ in procs:
        assert await asyncio.to_thread(ready.acquire, True, 120)
    start.set()
    for p in procs:
        await asyncio.to_thread(p.join, 120)
        assert p.exitcode == 0

    assert await status_counts(db) == {"sent": 300}
    acked = fcm.acknowledged_pairs()
    assert set(acked) == {(nid, tok) for nid, tok in expected.items()}
    assert max(acked.values()) == 1, "a notification reached the same device twice"
    assert len(fcm.requests) == 300
    async with db.connect() as conn:
        workers = set((await conn.execute(select(N.c.claimed_by).distinct())).scalars())
    assert workers == {"worker-a", "worker-b"}  # both really took part


async def test_killed_worker_mid_batch_loses_nothing_and_duplicates_nothing(
    db: AsyncEngine, notif_db: str, fcm: FakeFcm, service_account: Path, tmp_path: Path
) -> None:
    expected = await seed(db, 100)
    # Batch 1 (40 rows, 2 chunks of 20) and chunk 1 of batch 2 are acknowledged; then FCM stops answering,
    # so the worker is stuck mid-batch with chunk 2 in flight when we SIGKILL it.
    fcm.hang_after(60)
    start = mp.get_context("spawn").Event()
    victim = spawn(
        notif_db,
        service_account,
        fcm,
        "victim",
        start,
        batch_size=40,
        send_chunk=20,
        lease_s=60,
        until_idle=False,
    )
    start.set()
    await eventually(lambda: fcm.pending_hung() == 20)
    assert victim.pid is not None
    os.kill(victim.pid, signal.SIGKILL)
    await asyncio.to_thread(victim.join, 30)
    assert victim.exitcode == -signal.SIGKILL
    fcm.release_hung()  # FCM recovers; the 20 hung requests were never acknowledged

    # Killed mid-batch: 60 settled, 20 leased to the dead worker, 20 never claimed.
    assert await status_counts(db) == {"sent": 60, "sending": 20, "pending": 20}
    async with db.connect() as conn:
        leased = {
            str(i) for i in (await conn.execute(select(N.c.id).where(N.c.status == "sending"))).scalars()
        }

    sender = FcmSender(str(service_account))
    try:
        now = utcnow()
        rescuer = Dispatcher(db, sender, "rescuer", clock=lambda: now, batch_size=500)
        # Before the lease runs out, the dead worker's rows are left alone; the unclaimed ones go out.
        assert await rescuer.run_once() == 20
        assert await status_counts(db) == {"sent": 80, "sending": 20}
        # After the lease expires, they are claimed again and sent.
        later = now + timedelta(seconds=61)
        rescuer.clock = lambda: later
        assert await rescuer.run_once() == 20
        assert await rescuer.run_once() == 0
    finally:
        await sender.aclose()

    assert await status_counts(db) == {"sent": 100}
    acked = fcm.acknowledged_pairs()
    assert set(acked) == {(nid, tok) for nid, tok in expected.items()}, "a notification was lost"
    assert max(acked.values()) == 1, "a notification reached the same device twice"
    hung = [r for r in fcm.requests if r.reply == "hang"]
    assert {r.nid for r in hung} == leased  # exactly the rows in flight at the kill were re-sent
    async with db.connect() as conn:
        attempts = dict((str(i), a) for i, a in await conn.execute(select(N.c.id, N.c.attempts)))
    assert {attempts[nid] for nid in leased} == {2}
