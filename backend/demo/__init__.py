"""The demo: reference data, a province, then each domain's own slice of a living day.

A domain adds to the demo with ``backend/demo/<domain>.py`` exposing ``async def seed(session, ctx)``, listed
in ``SLICES`` (bookings before dossiers before plans); each runs after the previous committed. The slices live
here, not in their domains, because the demo sits above every domain it fills (issue 18: the domains never
import the demo).
"""

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.db import session_factory
from backend.demo import background, booking, custody, feedback, history, identity, money, planning, reporting
from backend.demo.province import DEFAULT_PROVINCE, DemoContext, seed_province
from backend.demo.reference import load_reference
from backend.settings import get_settings
from schemas.accounts import StaffUser
from schemas.ops import DemoHistory

log = logging.getLogger("backend.demo")
SLICES: tuple[tuple[str, Callable[[AsyncSession, DemoContext], Awaitable[object]]], ...] = (
    ("booking", booking.seed),
    ("custody", custody.seed),
    ("planning", planning.seed),
    ("reporting", reporting.seed),
    ("money", money.seed),  # collections, cash-ups, a remittance awaiting confirmation (issue 21)
    ("identity", identity.seed),  # national ids checked at the desk, an authorised person (issue 20)
    ("feedback", feedback.seed),  # rated visits, complaints in every state (issue 23)
)


async def seed_all(
    engine: AsyncEngine,
    *,
    password: str,
    province_code: str | None = None,
    history_rows: int = history.HISTORY_ROWS,
    history_later: bool = False,
) -> dict[str, Any]:
    """Load reference data and, once, the demo province with its day and ``history_rows`` past dossiers
    (``backend/demo/history.py``). A second run changes nothing. ``history_later`` (``make run``): the history
    is written by a background process (``backend/demo/background.py``) so the service answers first."""
    started = time.perf_counter()
    took: dict[str, float] = {}
    factory = session_factory(engine)
    async with factory() as session:
        counts = await load_reference(session)
    code = province_code or get_settings().demo_province or DEFAULT_PROVINCE
    async with factory() as session:
        if (await session.exec(select(StaffUser).where(StaffUser.username == "admin"))).one_or_none():
            return {
                **counts,
                "demo": "already loaded",
                **await _finish_history(session, engine, code, history_later),
            }
        ctx = await seed_province(session, province_code=code, password=password)
        await session.commit()
    took["province"] = time.perf_counter() - started
    for domain, seed in SLICES:
        t = time.perf_counter()
        async with factory() as session:
            await seed(session, ctx)
            await session.commit()
        took[domain] = time.perf_counter() - t
        log.info("demo: %s seeded in %.1f s", domain, took[domain])
    loaded: dict[str, Any] = {}
    if history_later and history_rows > 0:
        async with factory() as session:
            await background.begin(session, code, history_rows)  # ``loading`` from now (GET /health)
        _start_loader(engine, code, history_rows)
        loaded = {"history": f"{history_rows} dossiers loading in the background"}
    else:
        t = time.perf_counter()
        async with factory() as session:
            written = await history.seed(session, ctx, history_rows)
            if written["dossiers"]:
                session.add(history.done_state(code, history_rows, written))
            loaded = {"history": written}
            await session.commit()
        took["history"] = time.perf_counter() - t
    log.info(
        "demo: loaded in %.1f s (%s)",
        time.perf_counter() - started,
        ", ".join(f"{k} {v:.1f} s" for k, v in took.items()),
    )
    return {
        **counts,
        "demo": "loaded",
        "province": ctx.province.name,
        "post_offices": len(ctx.post_offices),
        **loaded,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _start_loader(engine: AsyncEngine, code: str, rows: int) -> None:
    settings = get_settings()
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    health = f"http://{host}:{settings.port}/health"
    background.start(engine.url.render_as_string(hide_password=False), code, rows, health)


async def _finish_history(
    session: AsyncSession, engine: AsyncEngine, code: str, history_later: bool
) -> dict[str, Any]:
    """A demo loaded before whose history load was interrupted (``make run`` stopped, an error): started
    again, it finishes from its last committed chunk (``backend/demo/background.py``)."""
    state = await session.get(DemoHistory, code)
    if not history_later or state is None or state.state == "done":
        return {}
    log.info("demo: history %s at %d dossiers: finishing it", state.state, state.dossiers_written)
    _start_loader(engine, code, state.rows_asked)
    return {"history": f"finishing in the background from {state.dossiers_written} dossiers written"}


__all__ = ["DemoContext", "seed_all"]
