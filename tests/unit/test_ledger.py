"""The ledger's invariants (backend/money/ledger.py) on SQLite and PostgreSQL.

* every transaction's lines sum to 0 and there are at least two; malformed postings are refused with a 4xx
  problem and leave nothing behind;
* balances are derived from the lines: after any sequence of postings they equal a model's running sums
  (hypothesis draws the sequences: dues, collections, refunds, cash-ups, replays, bad postings);
* a replay of a key returns the stored transaction and writes nothing; the same key with other content is 409.
"""

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel, col, select

from backend.db import make_engine, session_factory
from backend.lib.problems import Problem
from backend.money import accounts
from backend.money.ledger import Line, Posting, balance, balances, post
from schemas.base import utcnow
from schemas.money import LedgerLine, LedgerTxn, PaymentMethod, TxnKind
from tests.conftest import DATABASES, _pg_admin_url, _pg_exec


@pytest_asyncio.fixture(scope="module", loop_scope="session", params=DATABASES)
async def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AsyncEngine]:
    """A database holding only the ledger's tables (created from the models; the migrations' agreement with
    them is tests/api/test_migrations.py's), on each engine the run asks for."""
    if request.param == "sqlite":
        url, drop = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('ledger') / 'ledger.db'}", None
    else:
        name = f"hoso_ledger_{uuid.uuid4().hex[:8]}"
        await _pg_exec(f'CREATE DATABASE "{name}"')
        url = make_url(_pg_admin_url()).set(database=name).render_as_string(hide_password=False)
        drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    eng = make_engine(url)
    async with eng.begin() as conn:
        await conn.run_sync(
            lambda c: SQLModel.metadata.create_all(c, tables=[LedgerTxn.__table__, LedgerLine.__table__])  # type: ignore[list-item]
        )
    yield eng
    await eng.dispose()
    if drop:
        await _pg_exec(drop)


def _posting(key: str, *lines: tuple[str, int], kind: TxnKind = TxnKind.due) -> Posting:
    return Posting(
        kind=kind,
        lines=tuple(Line(a, n) for a, n in lines),
        idempotency_key=key,
        actor_id=None,
        actor_role="system",
        place="82-BD-01",
    )


async def _count(session: object, ns: str) -> int:
    stmt = select(func.count()).select_from(LedgerTxn).where(col(LedgerTxn.idempotency_key).startswith(ns))
    return int((await session.exec(stmt)).one())  # type: ignore[attr-defined]


async def test_post_writes_balanced_lines_and_balances_derive(engine: AsyncEngine) -> None:
    ns = uuid.uuid4().hex[:10]
    rec, agency, postal = accounts.receivable(ns), accounts.payable_agency(ns), accounts.postal_revenue(ns)
    async with session_factory(engine)() as session:
        txn = await post(session, _posting(f"{ns}:due", (rec, 65_000), (agency, -40_000), (postal, -25_000)))
        await session.commit()
        assert await balance(session, rec) == 65_000
        assert await balance(session, agency) == -40_000
        assert await balance(session, rec, until=txn.at) == 0
        assert await balance(session, rec, until=txn.at + timedelta(seconds=1)) == 65_000
        assert await balances(session, f"payable:agency:{ns}") == {agency: -40_000}
        lines = (await session.exec(select(LedgerLine).where(LedgerLine.txn_id == txn.id))).all()
        assert sorted(line.line_no for line in lines) == [1, 2, 3]
        assert sum(line.amount_vnd for line in lines) == 0


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        ((("A", 1),), "ledger_unbalanced"),
        ((("R", 100), ("P", -99)), "ledger_unbalanced"),
        ((("R", 0), ("P", 0)), "amount_out_of_range"),
        ((("R", 1_000_000_001), ("P", -1_000_000_001)), "amount_out_of_range"),
        ((("R", True), ("P", -1)), "amount_out_of_range"),
        ((("nowhere:x", 5), ("P", -5)), "ledger_bad_account"),
    ],
)
async def test_malformed_postings_are_refused_and_write_nothing(
    engine: AsyncEngine, lines: tuple[tuple[str, object], ...], code: str
) -> None:
    ns = uuid.uuid4().hex[:10]
    names = {"R": accounts.receivable(ns), "P": accounts.payable_agency(ns), "A": accounts.receivable(ns)}
    built = tuple((names.get(a, a), n) for a, n in lines)
    async with session_factory(engine)() as session:
        with pytest.raises(Problem) as caught:
            await post(session, _posting(f"{ns}:bad", *built))  # type: ignore[arg-type]
        assert caught.value.code == code and 400 <= caught.value.status_code < 500
        await session.commit()
        assert await _count(session, ns) == 0
        assert await balances(session, f"receivable:citizen:{ns}") == {}


async def test_replay_returns_the_stored_txn_and_other_content_is_409(engine: AsyncEngine) -> None:
    ns = uuid.uuid4().hex[:10]
    rec, cash = accounts.receivable(ns), accounts.courier_cash(ns)
    first = _posting(f"{ns}:collect", (cash, 30_000), (rec, -30_000), kind=TxnKind.collected)
    first = replace(first, method=PaymentMethod.cash_door)
    async with session_factory(engine)() as session:
        a = await post(session, first)
        await session.commit()
        b = await post(session, replace(first, at=utcnow(), actor_role="courier"))
        assert b.id == a.id
        with pytest.raises(Problem) as caught:
            await post(
                session, _posting(f"{ns}:collect", (cash, 31_000), (rec, -31_000), kind=TxnKind.collected)
            )
        assert caught.value.code == "ledger_key_reused" and caught.value.status_code == 409
        await session.commit()
        assert await _count(session, ns) == 1
        assert await balance(session, cash) == 30_000


# --- property: random sequences of operations -------------------------------------------------------------

Op = tuple[str, int, int]  # (what, who, amount)
ops = st.lists(
    st.tuples(
        st.sampled_from(["due", "collect", "refund", "cashup", "replay", "bad"]),
        st.integers(0, 2),
        st.integers(1, 500_000),
    ),
    min_size=1,
    max_size=25,
)


def _step(ns: str, n: int, op: Op, model: dict[str, int], done: list[Posting]) -> Posting | None:
    """The posting an operation makes, after checking it against the model (None: the op is skipped)."""
    what, who, amount = op
    rec = accounts.receivable(f"{ns}-{who}")
    cash = accounts.courier_cash(f"{ns}-{who}")
    if what == "due":
        fee = amount // 3
        lines = [(rec, amount), (accounts.postal_revenue(ns), -(amount - fee))]
        if fee:
            lines.append((accounts.payable_agency(ns), -fee))
        return _posting(f"{ns}:{n}", *lines)
    if what == "collect":
        amount = min(amount, model.get(rec, 0))
        return (
            _posting(f"{ns}:{n}", (cash, amount), (rec, -amount), kind=TxnKind.collected)
            if amount > 0
            else None
        )
    if what == "refund":
        amount = min(amount, model.get(cash, 0))
        return (
            _posting(f"{ns}:{n}", (rec, amount), (cash, -amount), kind=TxnKind.refunded)
            if amount > 0
            else None
        )
    if what == "cashup":
        amount = model.get(cash, 0)
        office = accounts.office_cash(ns)
        return (
            _posting(f"{ns}:{n}", (office, amount), (cash, -amount), kind=TxnKind.cashup)
            if amount > 0
            else None
        )
    if what == "replay" and done:
        return done[amount % len(done)]
    return None


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequence=ops)
async def test_balances_equal_a_model_after_any_sequence(engine: AsyncEngine, sequence: list[Op]) -> None:
    ns = uuid.uuid4().hex[:8]
    model: dict[str, int] = {}
    done: list[Posting] = []
    ids: dict[str, uuid.UUID] = {}
    async with session_factory(engine)() as session:
        for n, op in enumerate(sequence):
            if op[0] == "bad":
                with pytest.raises(Problem):
                    await post(
                        session,
                        _posting(f"{ns}:{n}", (accounts.receivable(ns), op[2]), (accounts.bank(ns), 1)),
                    )
                continue
            posting = _step(ns, n, op, model, done)
            if posting is None:
                continue
            txn = await post(session, posting)
            await session.commit()
            if posting.idempotency_key in ids:
                assert txn.id == ids[posting.idempotency_key]  # a replay: nothing new
                continue
            ids[posting.idempotency_key] = txn.id
            done.append(posting)
            for line in posting.lines:
                model[line.account] = model.get(line.account, 0) + line.amount_vnd
        assert await _count(session, ns) == len(ids)
        got: dict[str, int] = {}
        for prefix in (
            "receivable:citizen:",
            "cash:courier:",
            "cash:office:",
            "payable:agency:",
            "revenue:postal:",
        ):
            got.update({a: b for a, b in (await balances(session, prefix + ns)).items()})
        assert got == {a: b for a, b in model.items() if a in got or b != 0}
        for account, amount in model.items():
            assert await balance(session, account) == amount
        unbalanced = (
            select(LedgerLine.txn_id)
            .join(LedgerTxn, col(LedgerTxn.id) == col(LedgerLine.txn_id))
            .where(col(LedgerTxn.idempotency_key).startswith(ns))
            .group_by(col(LedgerLine.txn_id))
            .having((func.sum(LedgerLine.amount_vnd) != 0) | (func.count() < 2))
        )
        assert (await session.exec(unbalanced)).all() == []
        assert sum(model.values()) == 0
