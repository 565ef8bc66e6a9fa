# ruff: noqa: F811  (pytest fixtures imported from channels_fixtures, then named as parameters)
"""The dispatchers killed mid-batch with three channels in flight (push to the loopback FCM, SMS to the loopback
eSMS, Zalo ZNS to the loopback Zalo), on SQLite and PostgreSQL: afterwards every message went out once per
channel, counted at the fakes, and none is lost.

The kill is a task cancel while the push dispatcher has a request hanging at FCM and the channel dispatcher is
half-way through paced SMS and ZNS batches. The rows stay leased to the dead worker; another worker takes them
when the lease runs out (the test clock moves). What was sent before the kill was written as each answer came,
so it is not sent again; a request on the wire at the kill is the one case a provider sees twice: eSMS refuses
it by our RequestId (counted once), FCM's hung request never completed, and Zalo (no idempotency key) may show it
twice, so Zalo's count is checked against the requests the kill caught on the wire.
"""

import multiprocessing as mp
import os
import signal
import uuid
from collections import Counter
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bench.fakes.esms_server import FakeEsms
from bench.fakes.fcm_server import HANG, FakeFcm
from bench.fakes.zns_server import FakeZalo
from notifications.dispatcher import Dispatcher
from notifications.outbox import insert_rows, notification_row
from notifications.push import FcmSender
from schemas.channels import NoticeChannel
from tests.notifications.channels_fixtures import (  # noqa: F401 (fixtures)
    PARAMS,
    add_citizen,
    cdb,
    channels_url,
    config,
    dead_worker_process,
    deliveries,
    dispatcher,
    esms,
    pg_channels_url,
    sms_channel,
    switch_off,
    vn_clock,
    zalo,
    zns_channel,
)
from tests.notifications.support import add_devices, eventually, status_counts

EACH = 12
PUSH_CHUNK = 4  # the dead worker's push chunk (dead_worker_process)


async def _write(engine: AsyncEngine, template: str, owners: list[uuid.UUID], push: str | None) -> None:
    rows = []
    for owner in owners:
        row = notification_row(
            recipient_kind="citizen", recipient_id=owner, template=template, params=PARAMS[template]
        )
        if push is not None:
            row.update(status=push)
        rows.append(row)
    async with engine.begin() as conn:
        await insert_rows(conn, rows)  # type: ignore[arg-type]


async def test_killed_mid_batch_with_three_channels_in_flight_none_lost_none_twice(
    cdb: AsyncEngine,
    channels_url: str,
    esms: FakeEsms,
    zalo: FakeZalo,
    fcm: FakeFcm,
    sender: FcmSender,
    service_account: Path,
) -> None:
    clock = vn_clock(10)
    cfg = config(available=frozenset(NoticeChannel))
    app_users = [await add_citizen(cdb, f"+8491300{i:04d}") for i in range(EACH)]
    zalo_users = [await add_citizen(cdb, f"+8491400{i:04d}") for i in range(EACH)]
    sms_users = [await add_citizen(cdb, f"+8491500{i:04d}") for i in range(EACH)]
    for u in sms_users:
        await switch_off(cdb, u, NoticeChannel.zns)
    await add_devices(cdb, [("citizen", u, f"tok-{i}", "android") for i, u in enumerate(app_users)])
    fcm.script("tok-5", HANG)  # one push hangs at FCM while the worker dies
    await _write(cdb, "dossier.picked_up", app_users, None)  # push only (it reaches them)
    await _write(cdb, "dossier.result_ready", zalo_users + sms_users, "skipped")  # no device: Zalo or SMS

    rates = {"sms": 5.0, "zns": 5.0}  # 12 each take about 2.4 s: the kill lands mid-batch
    zns_started = mp.get_context("spawn").Value("i", 0)
    zalo_conf = {
        "app_id": zalo.app_id,
        "app_secret": zalo.app_secret,
        "url": zalo.base_url,
        "refresh": zalo.refresh_token,
    }
    victim = mp.get_context("spawn").Process(
        target=dead_worker_process,
        args=(
            channels_url,
            str(service_account),
            esms.base_url,
            zalo_conf,
            clock.now.isoformat(),
            rates,
            zns_started,
        ),
        daemon=True,
    )
    victim.start()
    # A push hanging at FCM, and SMS and ZNS batches under way: then SIGKILL, mid-batch on all three channels.
    await eventually(lambda: fcm.pending_hung() >= 1 and len(esms.sent) >= 2 and len(zalo.sent) >= 2)
    assert victim.pid is not None
    os.kill(victim.pid, signal.SIGKILL)
    victim.join(10)
    # Requests the dead worker started whose answer it had not written: on the wire, or answered but unrecorded.
    written = sum(1 for r in await deliveries(cdb) if r["channel"] == "zns" and r["status"] == "sent")
    unrecorded_zns = zns_started.value - written
    assert len(esms.sent) < EACH and len(zalo.sent) < EACH  # killed mid-batch
    fcm.script("tok-5")
    fcm.release_hung()

    clock.advance(seconds=61)  # the dead worker's leases run out
    push2 = Dispatcher(cdb, sender, "alive", clock=clock)
    chan2 = dispatcher(
        cdb,
        {NoticeChannel.sms: sms_channel(esms, cfg), NoticeChannel.zns: zns_channel(cdb, zalo, cfg)},
        cfg,
        clock,
    )
    for _ in range(20):
        await push2.run_once()
        await chan2.run_once()
        rows = await deliveries(cdb)
        if len(rows) == 3 * EACH and all(r["status"] in ("sent", "suppressed", "skipped") for r in rows):
            break
        clock.advance(seconds=5)

    # Push: each notification acknowledged for its device; FCM has no idempotency key, so the chunk the kill caught
    # (the hung request and its chunk-mates, answered but not yet written) goes again, under the same notification
    # id, which the device collapses (notifications/dispatcher.py); chunks written before the kill do not.
    assert (await status_counts(cdb)).get("sent") == EACH
    pairs = fcm.acknowledged_pairs()
    assert len(pairs) == EACH
    assert sum(pairs.values()) - EACH <= PUSH_CHUNK - 1
    rows = await deliveries(cdb)
    by_channel = Counter((r["channel"], r["status"]) for r in rows)
    assert by_channel == {("zns", "sent"): EACH, ("zns", "suppressed"): EACH, ("sms", "sent"): EACH}
    sms_ids = {r["id"].hex for r in rows if r["channel"] == "sms"}
    zns_ids = {r["id"].hex for r in rows if r["channel"] == "zns" and r["status"] == "sent"}
    # SMS: exactly once each at the gateway (a repeat of a request on the wire is refused by RequestId).
    assert Counter(s.request_id for s in esms.sent) == Counter(sms_ids)
    # Zalo: every message, and a second copy only of a request the kill caught on the wire.
    seen = Counter(s.tracking_id for s in zalo.sent)
    assert set(seen) == zns_ids
    assert sum(seen.values()) - EACH <= unrecorded_zns
