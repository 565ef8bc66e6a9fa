"""Dispatch throughput against a local fake FCM server: ``python -m bench.notifications`` (from the repo root).

Seeds N notifications (one device each) in a fresh PostgreSQL database, then times dispatcher processes
running production's sender (firebase-admin's public ``messaging.send_each_async``: HTTP/2 over TLS to
``https://fcm.googleapis.com``) until every row is sent, with 1 and with 2 workers. The fake FCM and the
CONNECT proxy that tunnels FCM's name to it run in their own process (bench/fakes); the workers reach it
through ``HTTPS_PROXY`` on ``ProxyingLoop`` like the tests. Checks that every row was acknowledged exactly once.

The rate to hold, national peak (``PEAK_RATE``), from these figures:
- D = 30 million dossiers a year carried by the public postal service (an assumption taken high: Vietnam
  Post's published yearly totals for administrative dossiers and results carried under Decision
  45/2016/QĐ-TTg are of the order of tens of millions; re-check against its latest annual report);
- n = 12 push messages per dossier: the citizen's booking, two reminders, courier on the way, picked up,
  handed to the agency, result ready, out for delivery, delivered (notifications/templates.py), plus the
  staff's data-only route and batch updates, times 1.2 devices per recipient (14.4 messages);
- 250 working days a year, the busiest day twice an average one (after Tết, before deadlines), and its busiest
  hour 15 % of the day (mornings at the one-stop desks).
So P = 30e6 × 14.4 × 2 × 0.15 / (250 × 3600) ≈ 144 messages/s, all of Vietnam on one dispatcher pool.

Options: --rows 10000, --workers 1,2, --batch 500, --loop uvloop|asyncio, --db postgresql+asyncpg://...test
(admin DB in which a ``bench_notif_*`` database is created and dropped).
"""

import argparse
import asyncio
import multiprocessing as mp
import os
import tempfile
import time
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import SQLModel

from schemas.base import utcnow
from schemas.notifications import NOTIFICATION_TABLES, DeviceTarget, Notification

DEFAULT_DB = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
DOSSIERS_PER_YEAR = 30e6
MESSAGES_PER_DOSSIER = 12 * 1.2
WORKING_DAYS = 250
BUSIEST_DAY_FACTOR = 2.0
BUSIEST_HOUR_SHARE = 0.15
PEAK_RATE = (
    DOSSIERS_PER_YEAR * MESSAGES_PER_DOSSIER * BUSIEST_DAY_FACTOR * BUSIEST_HOUR_SHARE / (WORKING_DAYS * 3600)
)


@dataclass
class FakeInfo:
    env: dict[str, str]  # HTTPS_PROXY, NO_PROXY, SSL_CERT_FILE, REQUESTS_CA_BUNDLE for the workers
    service_account: str


def _fake_server(conn: Connection) -> None:
    from bench.fakes.fcm_server import FakeFcm
    from bench.fakes.proxy import ConnectProxy
    from bench.fakes.tlsca import TestCA

    ca = TestCA()
    fake = FakeFcm(project_id="bench", record_bodies=False, ca=ca, uvloop=True).start()
    proxy = ConnectProxy(fake.routes, use_uvloop=True).start()
    sa = fake.write_service_account(Path(tempfile.mkdtemp(prefix="bench-fcm-")))
    conn.send(FakeInfo(proxy.env(str(ca.bundle)), str(sa)))
    cpu = time.process_time()
    while True:
        cmd = conn.recv()
        if cmd == "mark":
            cpu = time.process_time()
        elif cmd == "stats":
            pairs = fake.acknowledged_pairs()
            used = time.process_time() - cpu
            conn.send(
                (len(fake.requests), sum(pairs.values()), max(pairs.values(), default=0), len(pairs), used)
            )
            fake.clear()
        elif cmd == "stop":
            proxy.stop()
            fake.stop()
            return


def _worker(
    url: str,
    info: FakeInfo,
    name: str,
    batch: int,
    use_uvloop: bool,
    start: Any,
    out: Any,
    profile: str | None,
) -> None:
    from bench.fakes import proxy
    from notifications.dispatcher import Dispatcher
    from notifications.push import FcmSender

    os.environ.update(info.env)

    async def main() -> None:
        engine = create_async_engine(url, pool_size=4)
        sender = FcmSender(info.service_account)  # production's sender, at FCM's real address
        d = Dispatcher(engine, sender, name, batch_size=batch, send_chunk=batch)
        await d.run_once()  # warm up: OAuth token (no rows yet)
        start.wait()
        began = time.perf_counter()
        cpu0 = time.process_time()
        prof = None
        if profile:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        while await d.run_once():
            pass
        if prof is not None:
            prof.disable()
            prof.dump_stats(f"{profile}.{name}")
        out.put((name, began, time.perf_counter(), time.process_time() - cpu0, d.stats.sent))
        await sender.aclose()
        await engine.dispose()

    proxy.run(main(), use_uvloop=use_uvloop)


async def _seed(engine: AsyncEngine, rows: int) -> None:
    n = Notification.__table__  # type: ignore[attr-defined]
    dt = DeviceTarget.__table__  # type: ignore[attr-defined]
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE notification_delivery, notification, device_target"))
    now = utcnow()
    for start in range(0, rows, 2000):
        owners = [uuid.uuid4() for _ in range(start, min(rows, start + 2000))]
        devices = [
            {
                "id": uuid.uuid4(),
                "owner_kind": "citizen",
                "owner_id": o,
                "token": f"bench-{o.hex}",
                "platform": "android",
                "created_at": now,
                "last_seen_at": now,
            }
            for o in owners
        ]
        notes = [
            {
                "id": uuid.uuid4(),
                "recipient_kind": "citizen",
                "recipient_id": o,
                "template": "dossier.result_ready",
                "params": {"item_id": "HS123456785VN"},
                "title_vi": "Đã có kết quả hồ sơ HS123456785VN",
                "body_vi": "Kết quả giải quyết hồ sơ HS123456785VN đã sẵn sàng.",
                "title_en": "Result ready",
                "body_en": "The result for dossier HS123456785VN is ready.",
                "deep_link": "/dossiers/HS123456785VN",
                "collapse_key": None,
                "priority": "normal",
                "data_only": False,
                "dedupe_key": None,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for o in owners
        ]
        async with engine.begin() as conn:
            await conn.execute(dt.insert(), devices)
            await conn.execute(n.insert(), notes)
    async with engine.begin() as conn:
        await conn.execute(text("ANALYZE notification"))
        await conn.execute(text("ANALYZE device_target"))


async def _sent(engine: AsyncEngine) -> int:
    n = Notification.__table__  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).where(n.c.status == "sent"))).scalar_one())


async def _admin(url: str, sql: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(sql))
    await engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(
        prog="python -m bench.notifications",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--batch", type=int, default=500)
    # uvicorn runs the app (and so an embedded dispatcher) on uvloop when it is installed, as it is here.
    ap.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    ap.add_argument("--db", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_DB))
    ap.add_argument("--profile", metavar="FILE", help="cProfile each worker into FILE.<worker name>")
    args = ap.parse_args()

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    fake_proc = ctx.Process(target=_fake_server, args=(child,), daemon=True)
    fake_proc.start()
    info: FakeInfo = parent.recv()

    name = f"bench_notif_{uuid.uuid4().hex[:8]}"
    db_url = make_url(args.db).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_admin(args.db, f'CREATE DATABASE "{name}"'))
    try:

        async def setup() -> None:
            engine = create_async_engine(db_url)
            async with engine.begin() as conn:
                await conn.run_sync(
                    lambda c: SQLModel.metadata.create_all(c, tables=list(NOTIFICATION_TABLES))
                )
            await engine.dispose()

        asyncio.run(setup())
        print(
            f"cores={os.cpu_count()} load={os.getloadavg()[0]:.2f} rows={args.rows} batch={args.batch} "
            f"transport=firebase-admin send_each_async, HTTP/2+TLS through a CONNECT proxy loop={args.loop} "
            f"peak_needed={PEAK_RATE:.0f}/s"
        )
        for workers in [int(w) for w in args.workers.split(",")]:

            async def seed() -> None:
                engine = create_async_engine(db_url)
                await _seed(engine, args.rows)
                await engine.dispose()

            asyncio.run(seed())
            start, out = ctx.Event(), ctx.Queue()
            procs = [
                ctx.Process(
                    target=_worker,
                    args=(
                        db_url,
                        info,
                        f"bench-{i}",
                        args.batch,
                        args.loop == "uvloop",
                        start,
                        out,
                        args.profile,
                    ),
                )
                for i in range(workers)
            ]
            for p in procs:
                p.start()
            time.sleep(3.0)  # let the workers import and warm up before the clock starts
            parent.send("mark")
            start.set()
            results = [out.get(timeout=600) for _ in procs]
            for p in procs:
                p.join(30)
            began = min(r[1] for r in results)
            ended = max(r[2] for r in results)
            elapsed = ended - began

            async def count() -> int:
                engine = create_async_engine(db_url)
                try:
                    return await _sent(engine)
                finally:
                    await engine.dispose()

            sent = asyncio.run(count())
            parent.send("stats")
            requests, acked, worst, pairs, fake_cpu = parent.recv()
            cpu = ", ".join(f"{r[0]} {r[3]:.1f}s cpu/{r[4]} rows" for r in results)
            print(
                f"workers={workers}: {sent} rows sent in {elapsed:.2f}s = {sent / elapsed:,.0f} rows/s "
                f"({acked} acknowledged, {pairs} distinct, max per pair {worst}, {requests} requests; {cpu})"
            )
            if sent != args.rows or pairs != args.rows or worst != 1:
                print("  !! not every row was sent exactly once")
            sender_cpu = sum(r[3] for r in results)
            print(
                f"  national peak {PEAK_RATE:.0f}/s: margin x{sent / elapsed / PEAK_RATE:.1f}; sender CPU "
                f"{sender_cpu / max(sent, 1) * 1e3:.2f} ms/message (one core: {sent / max(sender_cpu, 1e-9):,.0f}/s); "
                f"fake FCM + proxy {fake_cpu:.1f}s CPU (the same {os.cpu_count()} cores)"
            )
    finally:
        asyncio.run(_admin(args.db, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        parent.send("stop")
        fake_proc.join(10)


if __name__ == "__main__":
    main()
