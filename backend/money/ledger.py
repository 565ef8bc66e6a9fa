"""The ledger's one write (``post``) and its derived balances (``balance``, ``balances``).

Double entry: a transaction moves amounts between accounts (backend/money/accounts.py); its lines sum to 0, it
has at least two, each an integer number of VND with |amount| ≤ 1,000,000,000 (``MAX_AMOUNT_VND``). Rows are
only ever inserted: a correction is a new transaction, and a balance is the sum of an account's lines, never a
stored number. ``post`` takes the caller's session and never commits: the transaction lands with the event that
caused it, or not at all.

Idempotent by key: posting a key already stored with the same content (kind, lines, dossier, appointment,
method, payer) returns the stored transaction and writes nothing; the same key with other content is 409
``ledger_key_reused``. The key's unique index backs this under concurrency (a loser's savepoint is rolled back
and it answers as a replay would).
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.problems import Problem
from backend.money import accounts
from schemas.base import row_values, utcnow
from schemas.money import MAX_AMOUNT_VND, LedgerLine, LedgerTxn, PaymentMethod, TxnKind

MAX_KEY = 120


@dataclass(frozen=True)
class Line:
    account: str
    amount_vnd: int


@dataclass(frozen=True)
class Posting:
    kind: TxnKind
    lines: tuple[Line, ...]
    idempotency_key: str
    actor_id: uuid.UUID | None
    actor_role: str
    place: str | None
    dossier_id: uuid.UUID | None = None
    appointment_id: uuid.UUID | None = None
    payer: str | None = None
    method: PaymentMethod | None = None
    receipt_no: str | None = None
    source_event: uuid.UUID | None = None
    memo: str | None = None
    at: datetime | None = None


def _invalid(code: str, detail: str) -> Problem:
    return Problem(422, detail, code=code)


def validate(posting: Posting) -> None:
    """Raise the 4xx problem a malformed posting deserves; nothing is written before this passes."""
    key = posting.idempotency_key
    if not key or len(key) > MAX_KEY:
        raise _invalid(
            "validation", "Khóa chống lặp phải có 1–120 ký tự / the idempotency key must be 1–120 chars"
        )
    if len(posting.lines) < 2:
        raise _invalid("ledger_unbalanced", "Bút toán cần ít nhất hai dòng / a transaction needs two lines")
    for line in posting.lines:
        amount = line.amount_vnd
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise _invalid("amount_out_of_range", "Số tiền phải là số nguyên đồng / amounts are whole VND")
        if amount == 0 or abs(amount) > MAX_AMOUNT_VND:
            raise _invalid(
                "amount_out_of_range",
                f"Số tiền phải khác 0 và không quá {MAX_AMOUNT_VND:,} đồng / "
                f"an amount must be non-zero and at most {MAX_AMOUNT_VND:,} VND",
            )
        if not accounts.valid(line.account):
            raise _invalid("ledger_bad_account", f"Tài khoản không hợp lệ / unknown account {line.account!r}")
    if sum(line.amount_vnd for line in posting.lines) != 0:
        raise _invalid("ledger_unbalanced", "Tổng các dòng phải bằng 0 / the lines must sum to 0")


def digest(posting: Posting) -> str:
    """What a replay of the key must repeat (not the time, actor or receipt number, which a replay re-derives)."""
    content = {
        "kind": str(posting.kind),
        "lines": [[line.account, line.amount_vnd] for line in posting.lines],
        "dossier": str(posting.dossier_id) if posting.dossier_id else None,
        "appointment": str(posting.appointment_id) if posting.appointment_id else None,
        "method": str(posting.method) if posting.method else None,
        "payer": posting.payer,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


async def find(session: AsyncSession, idempotency_key: str) -> LedgerTxn | None:
    stmt = select(LedgerTxn).where(LedgerTxn.idempotency_key == idempotency_key)
    return (await session.exec(stmt)).first()


def _same_or_conflict(existing: LedgerTxn, content: str) -> LedgerTxn:
    if existing.digest != content:
        raise Problem(
            409,
            "Khóa chống lặp đã dùng cho một bút toán khác / the idempotency key was used for another transaction",
            code="ledger_key_reused",
        )
    return existing


async def post(session: AsyncSession, posting: Posting) -> LedgerTxn:
    """Write one balanced transaction (or return the one its key already wrote); never commits."""
    validate(posting)
    content = digest(posting)
    existing = await find(session, posting.idempotency_key)
    if existing is not None:
        return _same_or_conflict(existing, content)
    txn = LedgerTxn(
        kind=posting.kind,
        idempotency_key=posting.idempotency_key,
        digest=content,
        dossier_id=posting.dossier_id,
        appointment_id=posting.appointment_id,
        payer=posting.payer,
        method=posting.method,
        actor_id=posting.actor_id,
        actor_role=posting.actor_role,
        at=posting.at or utcnow(),
        place=posting.place,
        receipt_no=posting.receipt_no,
        source_event=posting.source_event,
        memo=posting.memo,
    )
    try:
        async with session.begin_nested():
            session.add(txn)
            await session.flush()
            for n, line in enumerate(posting.lines, start=1):
                session.add(
                    LedgerLine(txn_id=txn.id, line_no=n, account=line.account, amount_vnd=line.amount_vnd)
                )
            await session.flush()
    except IntegrityError:
        again = await find(session, posting.idempotency_key)
        if again is None:
            raise Problem(409, "Bút toán trùng / a conflicting transaction exists", code="conflict") from None
        return _same_or_conflict(again, content)
    return txn


def rows(posting: Posting) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A new transaction's rows (validated) for a write that is not ``post``'s: a booking's due, written by
    booking's own statements (SQLite) or inside ``hoso_book`` (PostgreSQL) in the booking's transaction. Only
    for keys nobody can have used yet (the key names a visit being created)."""
    validate(posting)
    txn = row_values(
        LedgerTxn,
        kind=str(posting.kind),
        idempotency_key=posting.idempotency_key,
        digest=digest(posting),
        dossier_id=posting.dossier_id,
        appointment_id=posting.appointment_id,
        payer=posting.payer,
        method=str(posting.method) if posting.method else None,
        actor_id=posting.actor_id,
        actor_role=posting.actor_role,
        at=posting.at or utcnow(),
        place=posting.place,
        receipt_no=posting.receipt_no,
        source_event=posting.source_event,
        memo=posting.memo,
    )
    lines = [
        row_values(LedgerLine, txn_id=txn["id"], line_no=n, account=line.account, amount_vnd=line.amount_vnd)
        for n, line in enumerate(posting.lines, start=1)
    ]
    return txn, lines


async def lines_of(session: AsyncSession, txn_id: uuid.UUID) -> list[LedgerLine]:
    stmt = select(LedgerLine).where(LedgerLine.txn_id == txn_id).order_by(col(LedgerLine.line_no))
    return list((await session.exec(stmt)).all())


async def balance(session: AsyncSession, account: str, *, until: datetime | None = None) -> int:
    """The sum of an account's lines (of transactions before ``until``, if given)."""
    stmt = select(func.coalesce(func.sum(LedgerLine.amount_vnd), 0)).where(LedgerLine.account == account)
    if until is not None:
        stmt = stmt.join(LedgerTxn, col(LedgerTxn.id) == col(LedgerLine.txn_id)).where(
            col(LedgerTxn.at) < until
        )
    return int((await session.exec(stmt)).one())


async def balances(session: AsyncSession, prefix: str) -> dict[str, int]:
    """Every account starting with ``prefix`` and its balance (accounts whose lines sum to 0 included)."""
    stmt = (
        select(LedgerLine.account, func.sum(LedgerLine.amount_vnd))
        .where(col(LedgerLine.account).startswith(prefix, autoescape=True))
        .group_by(col(LedgerLine.account))
    )
    return {account: int(total) for account, total in (await session.exec(stmt)).all()}
