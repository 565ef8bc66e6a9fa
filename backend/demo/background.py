"""The demo's history loaded after the service answers (``make run``): a child process, at a lower CPU priority,
waits until the service answers its health check (so it does not slow the start), then generates the two years
of dossiers (``backend.demo.history``) and writes them in chunks, each its own transaction, so the service
(SQLite: one writer at a time) waits for at most one chunk. It logs what it is doing ("history loading ...",
then the counts and seconds); until then the reports show only part of the history. It stops when the service
that started it has ended.

Where it is lives in ``demo_history`` (``schemas/ops.py``, shown by ``GET /health``): ``loading`` from the moment
``seed_all`` starts it, the dossiers and events written updated in each chunk's own transaction (so the count
is exactly what the database holds), ``done`` at the end, ``failed`` (the exception's type only) on an error.

An interrupted load (``make run`` stopped, the machine rebooted, an error) is finished, not redone: the next
start finds the row ``loading`` or ``failed`` and starts the loader again, which regenerates the same rows
(the history is seeded, and generated for the instant recorded in the row, with the serials taken before this
load: its own rows carry ``data.load``) and writes those after the last committed chunk. If the regenerated
rows are not the ones written (the catalogue or the province changed in between) it stops ``failed`` rather
than mix two histories; ``make clean`` then starts over.

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
from schemas.ops import DemoHistory
from schemas.orgs import Organisation, PostOfficeCommune

log = logging.getLogger("backend.demo")
CHUNK = 5_000  # dossiers per transaction
DOSSIER, EVENT = Dossier.__table__, DossierEvent.__table__  # type: ignore[attr-defined]
STATE = DemoHistory.__table__  # type: ignore[attr-defined]


class ResumeMismatch(RuntimeError):
    """The rows regenerated to finish a load are not those it wrote."""


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


async def begin(session: AsyncSession, province_code: str, rows: int) -> DemoHistory:
    """The load to run, committed ``loading``: the interrupted one (``loading`` or ``failed``) to finish, else
    a new one of ``rows`` generated for now (none yet, or the last one ``done``: more history)."""
    row = await session.get(DemoHistory, province_code)
    now = utcnow()
    if row is None or row.state == "done":
        row = row or DemoHistory(province_code=province_code, state="loading", rows_asked=rows)
        row.rows_asked, row.generated_for, row.started_at = rows, now, now
        row.dossiers_planned = row.dossiers_written = row.events_written = 0
        row.finished_at = None
    row.state, row.error, row.updated_at = "loading", None, now
    session.add(row)
    await session.commit()
    await session.refresh(row)
    return row


def _stamp(row: DemoHistory) -> str:
    return row.generated_for.isoformat()


async def _taken_before(session: AsyncSession, row: DemoHistory) -> frozenset[int]:
    """Serials of the import range used before this load began (its own rows carry its stamp)."""
    taken = await history.taken_serials(session)
    if not row.dossiers_written:
        return taken
    ours = await session.exec(
        select(Dossier.item_id).where(Dossier.data["load"].as_string() == _stamp(row))  # type: ignore[index]
    )
    return taken - {int(item_id[2:10]) for item_id in ours}


async def _check_resume(session: AsyncSession, made: history.History, written: int) -> None:
    """The first ``written`` regenerated dossiers are in the database and the next one is not."""
    ids = [made.dossiers[0]["id"], made.dossiers[written - 1]["id"]]
    if written < len(made.dossiers):
        ids.append(made.dossiers[written]["id"])
    found = set((await session.exec(select(Dossier.id).where(col(Dossier.id).in_(ids)))).all())
    if found != set(ids[:2]):
        raise ResumeMismatch("the regenerated history is not the one written")


async def _generate(session: AsyncSession, row: DemoHistory) -> history.History:
    ctx = await demo_context(session, row.province_code)
    procedures = list((await session.exec(select(Procedure).order_by(Procedure.code))).all())
    cal, taken = await working_calendar(session), await _taken_before(session, row)
    made = history.generate(ctx, procedures, cal, row.rows_asked, row.generated_for, taken)
    if row.dossiers_written:
        await _check_resume(session, made, row.dossiers_written)
    return made


async def _write_chunk(
    session: AsyncSession, row: DemoHistory, made: history.History, a: int, b: int
) -> bool:
    """Dossiers ``a:b`` with their events and the state's counts in one transaction; False (nothing written)
    when the state is not where this loader left it (another loader got there first)."""
    first, last = made.event_ends[a - 1] if a else 0, made.event_ends[b - 1]
    conn = await session.connection()
    moved = await conn.execute(
        STATE.update()
        .where(
            STATE.c.province_code == row.province_code,
            STATE.c.state == "loading",
            STATE.c.dossiers_written == a,
        )
        .values(dossiers_written=b, events_written=last, updated_at=utcnow())
    )
    if moved.rowcount != 1:
        await session.rollback()
        return False
    stamp = _stamp(row)
    await conn.execute(
        sa.insert(DOSSIER), [{**d, "data": {**d["data"], "load": stamp}} for d in made.dossiers[a:b]]
    )
    await conn.execute(sa.insert(EVENT), made.events[first:last])
    await session.commit()
    return True


async def _finish(factory: Any, province_code: str, state: str, error: str | None = None) -> None:
    try:
        await _set_state(factory, province_code, state, error)
    except Exception:  # the database itself gone: the row stays ``loading``, the next start finishes it
        log.exception("demo: history state not recorded (%s)", state)


async def _set_state(factory: Any, province_code: str, state: str, error: str | None) -> None:
    async with factory() as session:
        conn = await session.connection()
        now = utcnow()
        await conn.execute(
            STATE.update()
            .where(STATE.c.province_code == province_code, STATE.c.state == "loading")
            .values(state=state, error=error, updated_at=now, finished_at=now if state == "done" else None)
        )
        await session.commit()


async def load(database_url: str, province_code: str, rows: int, parent: int | None = None) -> dict[str, Any]:
    """Run (or finish) the province's history load; ``parent``: stop after a chunk once it has ended."""
    started = time.perf_counter()
    engine = make_engine(database_url)
    factory = session_factory(engine)
    written = events = resumed = 0
    generated = 0.0
    try:
        async with factory() as session:
            row = await begin(session, province_code, rows)
            made = await _generate(session, row)
            row.dossiers_planned = len(made.dossiers)
            session.add(row)
            await session.commit()
            await session.refresh(row)
        generated = time.perf_counter() - started
        written, events = row.dossiers_written, row.events_written
        resumed = written
        log.info("demo: history generated in %.1f s, writing from dossier %d", generated, written)
        for a in range(written, len(made.dossiers), CHUNK):
            b = min(a + CHUNK, len(made.dossiers))
            async with factory() as session:
                if not await _write_chunk(session, row, made, a, b):
                    log.info("demo: history loading stopped: another loader is writing it")
                    break
            written, events = b, made.event_ends[b - 1]
            log.info("demo: history loading: %d of %d dossiers written", written, len(made.dossiers))
            if parent is not None and os.getppid() != parent:
                log.info("demo: history loading stopped: the service ended (the next start finishes it)")
                break
        if written == len(made.dossiers):
            await _finish(factory, province_code, "done")
    except Exception as exc:
        log.exception("demo: history loading failed (the next start tries to finish it)")
        await _finish(factory, province_code, "failed", type(exc).__name__[:200])
        raise
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
    return {"dossiers": written, "events": events, "resumed_from": resumed, "seconds": round(took, 1)}


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    url, province_code, rows, *health = argv
    parent = os.getppid()
    os.nice(10)  # the service first
    if health:
        _wait_for(health[0], parent)
    log.info("demo: history loading: %s dossiers", rows)
    try:
        asyncio.run(load(url, province_code, int(rows), parent))
    except Exception:  # logged and recorded ``failed`` by ``load``
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
