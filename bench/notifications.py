"""Dispatch throughput against a local fake FCM server: ``python -m bench.notifications`` (from the repo root).

Seeds N notifications (one device each) in a fresh PostgreSQL database, then times dispatcher processes
(real FcmSender, HTTP/2 over TLS like fcm.googleapis.com) until every row is sent, with 1 and with 2
workers. The fake FCM runs in its own process. Checks that every row was acknowledged exactly once.

Options: --rows 10000, --workers 1,2, --batch 500, --http 1.1|2, --loop uvloop|asyncio, --plain-http, --db postgresql+asyncpg://...test (admin DB in
which a ``bench_notif_*`` database is created and dropped).
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


@dataclass
class FakeInfo:
    send_base_url: str
    ca_file: str | None
    service_account: str


def _fake_server(conn: Connection, tls: bool) -> None:
    from bench.fakes.fcm_server import FakeFcm

    fake = FakeFcm(project_id="bench", record_bodies=False, tls=tls, uvloop=True).start()
    sa = fake.write_service_account(Path(tempfile.mkdtemp(prefix="bench-fcm-")))
    conn.send(FakeInfo(fake.send_base_url, fake.ca_file, str(sa)))
    while True:
        cmd = conn.recv()
        if cmd == "stats":
            pairs = fake.acknowledged_pairs()
            conn.send((len(fake.requests), sum(pairs.values()), max(pairs.values(), default=0), len(pairs)))
            fake.clear()
        elif cmd == "stop":
            fake.stop()
            return


def _worker(
    url: str,
    info: FakeInfo,
    name: str,
    batch: int,
    use_uvloop: bool,
    http: str,
    start: Any,
    out: Any,
    profile: str | None,
) -> None:
    from notifications.dispatcher import Dispatcher
    from notifications.push import FcmSender

    async def main() -> None:
        engine = create_async_engine(url, pool_size=4)
        sender = FcmSender(info.service_account, base_url=info.send_base_url, ca_file=info.ca_file, http=http)
        d = Dispatcher(engine, sender, name, batch_size=batch, send_chunk=batch)
        await d.run_once()  # warm up: OAuth token, TLS, connection pool (no rows yet)
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

    if use_uvloop:
        import uvloop

        uvloop.run(main())
    else:
        asyncio.run(main())


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
    ap.add_argument("--plain-http", action="store_true", help="the fake without TLS (http://)")
    ap.add_argument(
        "--http",
        choices=["1.1", "2"],
        default="1.1",
        help="FcmSender wire: our HTTP/1.1 pool or httpx HTTP/2",
    )
    ap.add_argument("--db", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_DB))
    ap.add_argument("--profile", metavar="FILE", help="cProfile each worker into FILE.<worker name>")
    args = ap.parse_args()

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    fake_proc = ctx.Process(target=_fake_server, args=(child, not args.plain_http), daemon=True)
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
            f"transport=HTTP/{args.http}{'' if args.plain_http else '+TLS'} loop={args.loop}"
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
                        args.http,
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
            requests, acked, worst, pairs = parent.recv()
            cpu = ", ".join(f"{r[0]} {r[3]:.1f}s cpu/{r[4]} rows" for r in results)
            print(
                f"workers={workers}: {sent} rows sent in {elapsed:.2f}s = {sent / elapsed:,.0f} rows/s "
                f"({acked} acknowledged, {pairs} distinct, max per pair {worst}, {requests} requests; {cpu})"
            )
            if sent != args.rows or pairs != args.rows or worst != 1:
                print("  !! not every row was sent exactly once")
    finally:
        asyncio.run(_admin(args.db, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        parent.send("stop")
        fake_proc.join(10)


if __name__ == "__main__":
    main()
