"""Benchmark: the ledger's write and reads, and a receipt's printable page.

    python -m bench.money [--txns 2000] [--database sqlite|postgres]

On a fresh database holding only the ledger's tables (SQLite file in a temporary folder, or a new PostgreSQL
database on TEST_DATABASE_URL's server): ``--txns`` collections posted one per transaction (validate, replay
check, two lines, commit) spread over 50 couriers' and citizens' accounts; then a replay of each key (a
read, nothing written); ``balance`` of one account and ``balances`` of a prefix over all lines; and the
receipt page (Jinja2 + the segno QR code as inline SVG) rendered in memory. Figures depend on the machine and
on what else runs on it.
"""

import argparse
import asyncio
import os
import tempfile
import time
import timeit
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import SQLModel

from backend.db import make_engine, session_factory
from backend.money import accounts, receipts
from backend.money.ledger import Line, Posting, balance, balances, post
from schemas.money import LedgerLine, LedgerTxn, PaymentMethod, TxnKind
from schemas.money_api import ReceiptLine, ReceiptOut


def _posting(i: int) -> Posting:
    who = i % 50
    return Posting(
        kind=TxnKind.collected,
        lines=(Line(accounts.courier_cash(f"c{who}"), 45000), Line(accounts.receivable(f"p{who}"), -45000)),
        idempotency_key=f"bench:{i}",
        actor_id=None,
        actor_role="courier",
        place="82-BD-01",
        method=PaymentMethod.cash_door,
    )


async def ledger(n: int, url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(
            lambda c: SQLModel.metadata.create_all(c, tables=[LedgerTxn.__table__, LedgerLine.__table__])  # type: ignore[attr-defined]
        )
    factory = session_factory(engine)
    for label, fresh in (("post", True), ("replay", False)):
        t = time.perf_counter()
        for i in range(n):
            async with factory() as session:
                await post(session, _posting(i))
                if fresh:
                    await session.commit()
        dt = time.perf_counter() - t
        print(f"{label:<8} {n / dt:9.0f} txns/s ({dt / n * 1e3:.2f} ms each)")
    async with factory() as session:
        t = time.perf_counter()
        for _ in range(100):
            await balance(session, accounts.courier_cash("c7"))
        print(
            f"balance  {(time.perf_counter() - t) / 100 * 1e3:9.2f} ms per account ({n} txns in the ledger)"
        )
        t = time.perf_counter()
        got = await balances(session, "cash:courier:")
        print(
            f"balances {(time.perf_counter() - t) * 1e3:9.2f} ms for {len(got)} accounts, sum {sum(got.values())}"
        )
    await engine.dispose()


def page() -> None:
    receipt = ReceiptOut(
        receipt_no="82-BD-01-2026-000123",
        at=datetime.now(UTC),
        office="82-BD-01",
        office_name="Bưu cục Cao Lãnh",
        amount_vnd=45000,
        method="cash_door",
        appointment_id=uuid.uuid4(),
        item_id="HS123456785VN",
        collected_by_role="courier",
        lines=[ReceiptLine(label_vi="Cước", label_en="Postal", amount_vnd=45000)],
        print_url=receipts.print_url("https://hoso.example.vn", "k" * 32, "82-BD-01-2026-000123"),
    )
    n, total = timeit.Timer(lambda: receipts.page(receipt)).autorange()
    print(f"receipt page {total / n * 1e3:9.2f} ms per page (with its QR code)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--txns", type=int, default=2000)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    page()
    if args.database == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            await ledger(args.txns, f"sqlite+aiosqlite:///{Path(tmp) / 'ledger.db'}")
        return
    import asyncpg

    admin = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test").replace(
        "+asyncpg", ""
    )
    name = f"bench_money_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    try:
        await ledger(
            args.txns, admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
        )
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
