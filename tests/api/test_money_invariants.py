"""The ledger's invariants over the WHOLE demo (issue 21), on a fresh database loaded by ``make run``'s loader
(``backend.demo.seed_all``, every slice, money's among them): every transaction has at least two lines that sum
to 0, the lines of the whole ledger sum to 0, amounts are within bounds, idempotency keys and receipt numbers
are unique, and for every agency with money collected = remitted (confirmed) + awaiting confirmation + held,
to the đồng, by dossier and in total. Then the scheduled money jobs, leased, and the invariants again."""

import asyncio
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import make_engine, session_factory
from backend.demo import seed_all
from backend.money import reports, scheduler
from backend.settings import Settings
from schemas.base import utcnow
from schemas.money import MAX_AMOUNT_VND, LedgerLine, LedgerTxn, Remittance
from tests.conftest import DEMO_PASSWORD, create_database

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _invariants(engine: AsyncEngine) -> int:
    """Check every invariant; the total collected for agencies."""
    async with session_factory(engine)() as s:
        txns = (await s.execute(select(func.count()).select_from(LedgerTxn))).scalar_one()
        assert txns > 20, "the demo has a few days of money"
        per_txn = (
            select(
                LedgerTxn.id,
                func.count(LedgerLine.line_no).label("n"),
                func.coalesce(func.sum(LedgerLine.amount_vnd), 0).label("total"),
            )
            .select_from(LedgerTxn)
            .outerjoin(LedgerLine, LedgerLine.txn_id == LedgerTxn.id)
            .group_by(LedgerTxn.id)
        )
        bad = [(t, n, total) for t, n, total in (await s.execute(per_txn)).all() if n < 2 or total != 0]
        assert bad == [], bad
        assert (await s.execute(select(func.coalesce(func.sum(LedgerLine.amount_vnd), 0)))).scalar_one() == 0
        worst = (await s.execute(select(func.max(func.abs(LedgerLine.amount_vnd))))).scalar_one()
        zero = (await s.execute(select(func.count()).where(LedgerLine.amount_vnd == 0))).scalar_one()
        assert 0 < worst <= MAX_AMOUNT_VND and zero == 0
        receipts = (
            (
                await s.execute(select(LedgerTxn.receipt_no).where(LedgerTxn.receipt_no.is_not(None)))  # type: ignore[union-attr]
            )
            .scalars()
            .all()
        )
        assert receipts and len(receipts) == len(set(receipts))
        agencies = await reports.agencies_with_money(s)
        assert agencies, "the demo collects fees for some agency"
        first, last = date(2000, 1, 1), date.today() + timedelta(days=400)
        collected = 0
        for org in agencies:
            rec = await reports.reconciliation(s, org, first, last)
            assert rec.collected_vnd == rec.remitted_vnd + rec.awaiting_vnd + rec.held_vnd, org.code
            for row in rec.rows:
                assert row.collected_vnd == row.remitted_vnd + row.awaiting_vnd + row.held_vnd, row
            collected += rec.collected_vnd
        assert collected > 0
        return collected


async def _holding(engine: AsyncEngine) -> dict[str, int]:
    """What each agency's money held (collected, in no batch) comes to."""
    async with session_factory(engine)() as s:
        out = {}
        for org in await reports.agencies_with_money(s):
            rec = await reports.reconciliation(s, org, date(2000, 1, 1), date.today() + timedelta(days=400))
            if rec.held_vnd:
                out[org.code] = rec.held_vnd
        return out


async def _batches(engine: AsyncEngine) -> dict[str, int]:
    async with session_factory(engine)() as s:
        stmt = select(Remittance.org_code, func.count()).group_by(Remittance.org_code)
        return {str(a): int(n) for a, n in (await s.execute(stmt)).all()}


async def test_ledger_invariants_over_the_whole_demo_and_the_scheduled_jobs(
    db_kind: str, tmp_path: Path
) -> None:
    """Then the scheduled jobs (backend/money/scheduler.py) run by two processes at once: one takes the lease
    and makes at most one batch per agency, the other does nothing; a later run finds nothing more to remit;
    the invariants still hold."""
    url, drop = await create_database(db_kind, tmp_path)
    engine = make_engine(url)
    try:
        loaded = await seed_all(engine, password=DEMO_PASSWORD, history_rows=2_000)
        assert loaded["demo"] == "loaded"
        collected = await _invariants(engine)
        settings = Settings(database_url=url)
        before = await _batches(engine)
        holding = await _holding(engine)
        runs = await asyncio.gather(
            scheduler.run_once(engine, "worker-a", settings), scheduler.run_once(engine, "worker-b", settings)
        )
        done = [r for r in runs if r is not None]
        assert len(done) == 1, runs  # the lease: one process ran the jobs
        after = await _batches(engine)
        assert len(done[0]["batches"]) == len(holding), (holding, done)  # one batch per agency holding money
        assert all(after.get(a, 0) - before.get(a, 0) <= 1 for a in after), (before, after)
        assert sum(after.values()) - sum(before.values()) == len(done[0]["batches"])
        again = await scheduler.run_once(engine, "worker-b", settings)  # the lease was released
        assert again is not None and again["batches"] == [] and again["dues"] == 0
        assert await _batches(engine) == after
        assert await _invariants(engine) == collected
        async with session_factory(engine)() as s:  # held is 0 for every agency now
            for org in await reports.agencies_with_money(s):
                rec = await reports.reconciliation(
                    s, org, date(2000, 1, 1), date.today() + timedelta(days=400)
                )
                assert rec.held_vnd == 0, org.code
        # a lease is taken only when free or expired
        async with session_factory(engine)() as s:
            now = utcnow()
            assert await scheduler.acquire(s, "test.job", "a", now, 60)
            assert not await scheduler.acquire(s, "test.job", "b", now, 60)
            assert await scheduler.acquire(s, "test.job", "a", now, 60)  # renewed by its holder
            assert await scheduler.acquire(s, "test.job", "b", now + timedelta(seconds=61), 60)
    finally:
        await engine.dispose()
        await drop()
