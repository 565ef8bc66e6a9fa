"""The demo's history loaded after the service answers (``make run``): a child process, at a lower CPU priority,
waits until the service answers its health check (so it does not slow the start), then generates the two years
of dossiers (``backend.demo.history``) and writes them in chunks, each its own transaction, so the service
(SQLite: one writer at a time) waits for at most one chunk. It logs what it is doing ("history loading ...",
then the counts and seconds); until then the reports show only part of the history. It stops when the service
that started it has ended.

    python -m backend.demo.background DATABASE_URL PROVINCE_CODE ROWS [HEALTH_URL]
"""

import asyncio
import logging
import os
import subprocess
import sys
import time
import urllib.request
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue.calendar_service import working_calendar
from backend.db import make_engine, session_factory
from backend.demo import history
from backend.demo.province import DemoContext, province_context
from schemas.accounts import StaffUser
from schemas.base import utcnow
from schemas.catalogue import Procedure
from schemas.dossiers import Dossier, DossierEvent
from schemas.orgs import Organisation, PostOfficeCommune

log = logging.getLogger("backend.demo")
CHUNK = 5_000  # dossiers per transaction
DOSSIER, EVENT = Dossier.__table__, DossierEvent.__table__  # type: ignore[attr-defined]


WAIT_S = 300  # for the service's first answer


def start(database_url: str, province_code: str, rows: int, health_url: str = "") -> subprocess.Popen[bytes]:
    """Start the loader; its log goes where this process's goes."""
    log.info("demo: history of %d dossiers to load in the background once the service answers", rows)
    argv = [sys.executable, "-m", "backend.demo.background", database_url, province_code, str(rows)]
    return subprocess.Popen([*argv, *([health_url] if health_url else [])])


def _wait_for(url: str, parent: int) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and os.getppid() == parent:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)


async def demo_context(session: AsyncSession, province_code: str) -> DemoContext:
    """The demo province as ``seed_province`` made it, read back from the database."""
    ctx = await province_context(session, province_code)
    code = ctx.province.code
    orgs = {o.code: o for o in (await session.exec(select(Organisation))).all()}
    ctx.provincial_desk = orgs[f"{code}-TTPVHCC"]
    for c in ctx.communes:
        ctx.commune_desks[c.code] = orgs[f"{code}-MC-{c.code}"]
        ctx.agencies[c.code] = orgs[f"{code}-UB-{c.code}"]
    ctx.agencies.update({k[len(code) + 1 :]: o for k, o in orgs.items() if k == f"{code}-STP"})
    ctx.post_offices = sorted(
        (o for k, o in orgs.items() if k.startswith(f"{code}-BD-") and o.province_code == code),
        key=lambda o: o.code,
    )
    ids = [po.id for po in ctx.post_offices]
    links = await session.exec(
        select(PostOfficeCommune).where(col(PostOfficeCommune.post_office_id).in_(ids))
    )
    for link in links:
        ctx.served.setdefault(link.post_office_id, []).append(link.commune_code)
    staff = await session.exec(select(StaffUser).order_by(StaffUser.username))
    ctx.staff = {u.username: u for u in staff}
    return ctx


async def load(database_url: str, province_code: str, rows: int, parent: int | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    engine = make_engine(database_url)
    try:
        factory = session_factory(engine)
        async with factory() as session:
            ctx = await demo_context(session, province_code)
            procedures = list((await session.exec(select(Procedure).order_by(Procedure.code))).all())
            cal, taken = await working_calendar(session), await history.taken_serials(session)
            made = history.generate(ctx, procedures, cal, rows, utcnow(), taken)
        generated = time.perf_counter() - started
        log.info("demo: history generated in %.1f s, writing", generated)
        written = events = 0
        for a in range(0, len(made.dossiers), CHUNK):
            b = min(a + CHUNK, len(made.dossiers))
            first, last = made.event_ends[a - 1] if a else 0, made.event_ends[b - 1]
            async with factory() as session:
                conn = await session.connection()
                await conn.execute(sa.insert(DOSSIER), made.dossiers[a:b])
                await conn.execute(sa.insert(EVENT), made.events[first:last])
                await session.commit()
            written, events = b, last
            log.info("demo: history loading: %d of %d dossiers written", written, len(made.dossiers))
            if parent is not None and os.getppid() != parent:
                log.info("demo: history loading stopped: the service ended")
                break
    finally:
        await engine.dispose()
    took = time.perf_counter() - started
    log.info(
        "demo: history written: %d dossiers, %d events in %.1f s (generated in %.1f s)",
        written,
        events,
        took,
        generated,
    )
    return {"dossiers": written, "events": events, "seconds": round(took, 1)}


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    url, province_code, rows, *health = argv
    parent = os.getppid()
    os.nice(10)  # the service first
    if health:
        _wait_for(health[0], parent)
    log.info("demo: history loading: %s dossiers", rows)
    asyncio.run(load(url, province_code, int(rows), parent))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
