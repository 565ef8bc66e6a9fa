"""Benchmark: partner webhooks, relay and delivery, on SQLite (a temporary file) or PostgreSQL.

    python -m bench.webhooks [--events 2000] [--endpoints 3] [--url postgresql+asyncpg://...]

Migrates a fresh database (SQLite in a temporary directory unless ``--url`` names a PostgreSQL server, where a
database is created next to it and dropped), loads the reference data, makes one post office with
``--endpoints`` endpoints subscribed to dossier steps, writes ``--events`` dossier event rows, then times the
relay turning them into deliveries (events/s) and the delivery worker sending them, signed, to a receiver on
127.0.0.1 that answers 204 (deliveries/s, with the receiver's own share of the time). Prints the figures;
they depend on the machine and on whatever else runs on it.
"""

import argparse
import asyncio
import tempfile
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

from sqlalchemy import func, insert
from sqlalchemy.engine import make_url
from sqlmodel import select

from backend.db import make_engine, session_factory
from backend.demo.reference import load_reference
from backend.lib.pgadmin import admin_exec
from backend.migrations import upgrade
from backend.partners import signing
from backend.partners.delivery import Delivery
from backend.partners.relay import Relay
from schemas.base import utcnow
from schemas.catalogue import Procedure
from schemas.dossiers import Dossier, DossierEvent
from schemas.enums import OrgKind
from schemas.orgs import Organisation
from schemas.units import Commune
from schemas.webhooks import WebhookDelivery, WebhookEndpoint


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()


async def _seed(url: str, events: int, endpoints: int) -> None:
    engine = make_engine(url)
    async with session_factory(engine)() as session:
        await load_reference(session)
    async with session_factory(engine)() as session:
        commune = (await session.exec(select(Commune).limit(1))).one()
        procedure = (await session.exec(select(Procedure).limit(1))).one()
        po = Organisation(
            code="BENCH-BD",
            kind=OrgKind.post_office,
            name="Bưu cục đo",
            commune_code=commune.code,
            province_code=commune.province_code,
            lat=10.0,
            lon=105.0,
        )
        session.add(po)
        await session.commit()
        po_id, procedure_id = po.id, procedure.id
    await Relay(engine).run_once()  # the cursors start here
    async with engine.begin() as conn:
        for n in range(endpoints):
            await conn.execute(
                insert(WebhookEndpoint.__table__),  # type: ignore[attr-defined]
                [
                    {
                        "id": uuid.uuid4(),
                        "org_id": po_id,
                        "url": "http://127.0.0.1:1/unset",
                        "kinds": ["dossier.status_changed"],
                        "description": f"bench {n}",
                        "active": True,
                        "secret": signing.new_secret(),
                        "created_at": utcnow(),
                        "updated_at": utcnow(),
                    }
                ],
            )
        dossiers = [
            {
                "id": uuid.uuid4(),
                "item_id": f"HB{i:09d}VN",
                "procedure_id": procedure_id,
                "channel": "post_office",
                "postal_pickup": False,
                "postal_return": False,
                "status": "at_post_office",
                "portal_status": 1,
                "custodian_kind": "post_office",
                "post_office_id": po_id,
                "paused_working_days": 0,
                "supplement_required": False,
                "fees_collected": 0,
                "data": {},
                "created_at": utcnow(),
                "updated_at": utcnow(),
                "version": 1,
            }
            for i in range(events)
        ]
        await conn.execute(insert(Dossier.__table__), dossiers)  # type: ignore[attr-defined]
        await conn.execute(
            insert(DossierEvent.__table__),  # type: ignore[attr-defined]
            [
                {
                    "id": uuid.uuid4(),
                    "dossier_id": d["id"],
                    "seq": 0,
                    "code": "EMB",
                    "status": "at_post_office",
                    "portal_status": 1,
                    "actor_kind": "post_office",
                    "org_id": po_id,
                    "at": utcnow(),
                    "data": {},
                }
                for d in dossiers
            ],
        )
    await engine.dispose()


async def _run(url: str, events: int, endpoints: int) -> None:
    await asyncio.to_thread(upgrade, url)
    await _seed(url, events, endpoints)
    engine = make_engine(url)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    server.daemon_threads = True
    Thread(target=server.serve_forever, daemon=True).start()
    async with engine.begin() as conn:
        await conn.execute(
            WebhookEndpoint.__table__.update().values(url=f"http://127.0.0.1:{server.server_address[1]}/h")  # type: ignore[attr-defined]
        )
    relay = Relay(engine)
    started = time.perf_counter()
    while await relay.run_once():
        pass
    relay_s = time.perf_counter() - started
    async with engine.connect() as conn:
        made = (await conn.execute(select(func.count()).select_from(WebhookDelivery.__table__))).scalar_one()  # type: ignore[attr-defined]
    delivery = Delivery(engine, production=False, batch_size=200, concurrency=16)
    started = time.perf_counter()
    sent = 0
    while n := await delivery.run_once():
        sent += n
    send_s = time.perf_counter() - started
    await delivery.aclose()
    server.shutdown()
    await engine.dispose()
    print(f"database: {make_url(url).get_backend_name()}; {events} dossier events, {endpoints} endpoints")
    print(f"relay: {made} deliveries written in {relay_s:.2f} s ({events / relay_s:,.0f} events/s)")
    print(
        f"delivery: {sent} signed POSTs to 127.0.0.1 in {send_s:.2f} s ({sent / send_s:,.0f}/s, 16 at once)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--endpoints", type=int, default=3)
    parser.add_argument("--url", default="", help="a PostgreSQL server URL (default: SQLite in a temp dir)")
    args = parser.parse_args()
    if not args.url:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(_run(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", args.events, args.endpoints))
        return
    name = f"hoso_bench_webhooks_{uuid.uuid4().hex[:8]}"
    url = make_url(args.url).set(database=name).render_as_string(hide_password=False)
    asyncio.run(admin_exec(args.url, f'CREATE DATABASE "{name}"'))
    try:
        asyncio.run(_run(url, args.events, args.endpoints))
    finally:
        asyncio.run(admin_exec(args.url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
