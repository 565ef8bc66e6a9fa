"""Drill 1 as a test: ``kill -9`` of an API worker (``python -m backend serve``, two Granian workers) in the
middle of a booking burst leaves no half-written booking and loses none (``bench/drills/kill_worker.py``):
every appointment has its ``booked`` event, its notification in the outbox, its idempotency record and its
minutes in the window's ledger, and the appointments stored are exactly the bookings answered 201 after the
client retried the failed requests with their ``Idempotency-Key``. On SQLite and PostgreSQL, each with its own
database (the burst would change the shared session database other tests read)."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from bench.drills import common, invariants, kill_worker


@pytest_asyncio.fixture(loop_scope="session")
async def drill_db(db_kind: str, tmp_path: Path) -> AsyncIterator[str]:
    if db_kind == "postgres":
        async with common.database("hoso_test_drill") as (url, _):
            yield url
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'drill.db'}"
        await common.prepare(url)
        yield url


async def test_kill_9_of_a_worker_during_a_booking_burst_leaves_every_booking_whole(drill_db: str) -> None:
    outcome = await kill_worker.run_on(drill_db, n=120, concurrency=12, kill_after=30)
    assert outcome.passed, outcome
    figures = outcome.figures
    assert figures["victim_connections"] > 0  # the killed worker was serving part of the burst
    assert 0 < figures["respawn_s"] < 30
    assert figures["booked"] > 0 and figures["after_retry_not_ok"] == 0
    # The checks themselves can fail: a ledger row out of step with its appointments is found.
    await _break_one_ledger_row(drill_db)
    broken = await invariants.broken(drill_db, invariants.BOOKING)
    assert broken["window ledger <> booked appointments (minutes or count)"] == 1


async def _break_one_ledger_row(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            po, start = (
                await conn.execute(text("SELECT post_office_id, start FROM slot_capacity LIMIT 1"))
            ).one()
            await conn.execute(
                text(
                    "UPDATE slot_capacity SET booked_minutes = booked_minutes + 1 "
                    "WHERE post_office_id = :po AND start = :s"
                ),
                {"po": po, "s": start},
            )
    finally:
        await engine.dispose()
