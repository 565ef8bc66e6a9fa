"""The money ledger (issue 21): every amount an integer number of VND in an append-only double-entry ledger.

A ``ledger_txn`` is one business fact (a quote, a due, a collection at the door, an online payment, an
exemption, a refund, a cash-up, a remittance) with who recorded it, when (UTC), where and for which dossier or
appointment; its ``ledger_line`` rows move amounts between accounts (``backend/money/accounts.py``): positive is
a debit, negative a credit, and every transaction's lines sum to 0. Rows are never updated or deleted: a
correction is a new transaction. Balances are derived from the lines (``backend/money/ledger.py``).

Receipts, cash-ups and remittances are the documents around the ledger: a receipt number comes from a gapless
per-office, per-year counter; a cash-up is one courier's day at one office; a remittance is a batch of dossiers'
fees sent to the agency owed them.
"""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from schemas.base import json_field, new_id, utc_field

MAX_AMOUNT_VND = 1_000_000_000  # one line's bound: far above any procedure fee, far below BigInteger's


class TxnKind(StrEnum):
    quoted = "quoted"  # a quote given (memo only; the amounts become due when booked)
    due = "due"  # what a citizen owes: fee + lệ phí to the agency, the postal charge to the post
    due_reversed = "due_reversed"  # a cancelled visit: the due taken back
    collected = "collected"  # paid: cash at the door or counter, bank transfer
    paid_online = "paid_online"  # paid through a gateway (backend/money/online*)
    exempted = "exempted"  # waived, with the legal basis
    refunded = "refunded"  # money given back (cancelled visit, refused dossier)
    cashup = "cashup"  # a courier's cash handed to the office's safe
    remitted = "remitted"  # an agency's share sent to it (awaiting its confirmation)
    remittance_confirmed = "remittance_confirmed"  # the agency confirmed it received the remittance
    adjustment = "adjustment"  # a correction of an earlier transaction


class PaymentMethod(StrEnum):
    cash_door = "cash_door"  # cash to the courier at the citizen's door
    cash_counter = "cash_counter"  # cash at a post office counter
    online_vnpay = "online_vnpay"  # through VNPay
    bank_transfer = "bank_transfer"  # a transfer (e.g. a VietQR shown at the door)
    none = "none"  # no money moved (a due, an exemption, already paid online)


class LedgerTxn(SQLModel, table=True):
    __tablename__ = "ledger_txn"
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    kind: str = Field(max_length=24, index=True)
    idempotency_key: str = Field(max_length=120, unique=True)
    digest: str = Field(max_length=64)  # sha256 of the content a replay of the key must repeat
    dossier_id: uuid.UUID | None = Field(default=None, index=True)
    appointment_id: uuid.UUID | None = Field(default=None, index=True)
    payer: str | None = Field(default=None, max_length=120)  # a citizen id or the payer's role, never a phone
    method: str | None = Field(default=None, max_length=20)
    actor_id: uuid.UUID | None = Field(default=None, index=True)
    actor_role: str = Field(max_length=20)
    at: datetime = utc_field(default_now=True, index=True)
    place: str | None = Field(default=None, max_length=60)  # post office code, rounded GPS, or "online"
    receipt_no: str | None = Field(default=None, max_length=40, unique=True)
    source_event: uuid.UUID | None = Field(default=None)
    memo: str | None = Field(default=None, max_length=200)


class LedgerLine(SQLModel, table=True):
    __tablename__ = "ledger_line"
    __table_args__ = (Index("ix_ledger_line_account_txn", "account", "txn_id"),)
    txn_id: uuid.UUID = Field(foreign_key="ledger_txn.id", primary_key=True)
    line_no: int = Field(primary_key=True)
    account: str = Field(max_length=80)
    amount_vnd: int = Field(sa_type=BigInteger)


class ReceiptCounter(SQLModel, table=True):
    """The last receipt number given by an office in a year: incremented under the row's lock, so numbers
    have no gaps (a rolled-back collection rolls its number back too)."""

    __tablename__ = "receipt_counter"
    office_code: str = Field(max_length=20, primary_key=True)
    year: int = Field(primary_key=True)
    last: int = 0


class CashupStatus(StrEnum):
    pending = "pending"  # the courier declared the counted amounts; the dispatcher has not confirmed
    confirmed = "confirmed"  # both sides signed


class Cashup(SQLModel, table=True):
    """One courier's cash-up at one office for one day (Vietnam's date): expected from the ledger vs counted,
    by method; signed by the courier and then the office's dispatcher."""

    __tablename__ = "cashup"
    __table_args__ = (UniqueConstraint("courier_id", "day", name="uq_cashup_courier_day"),)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    office_code: str = Field(max_length=20, index=True)
    courier_id: uuid.UUID = Field(foreign_key="staff_user.id")
    day: date = Field(index=True)
    status: str = Field(default=CashupStatus.pending, sa_type=String(12))
    expected: dict[str, Any] = json_field()  # {method: VND}
    counted: dict[str, Any] = json_field()
    discrepancy_vnd: int = Field(default=0, sa_type=BigInteger)  # counted − expected (cash)
    note: str | None = Field(default=None, max_length=300)
    courier_signed_at: datetime = utc_field(default_now=True)
    dispatcher_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    dispatcher_signed_at: datetime | None = utc_field(nullable=True)
    txn_id: uuid.UUID | None = Field(default=None, foreign_key="ledger_txn.id")


class OfficeDayClose(SQLModel, table=True):
    """An office's day closed (issue 21: "the office's day closes only when every courier has cashed up"): who
    closed it (the office's dispatcher or an admin), when (UTC) and the safe's cash then. Written once per office
    and day (the unique key): the row is the closing event itself, never updated; after it, cash-ups of that
    day are refused (409 ``day_closed``)."""

    __tablename__ = "office_day_close"
    __table_args__ = (UniqueConstraint("office_code", "day", name="uq_office_day_close"),)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    office_code: str = Field(max_length=20)
    day: date
    closed_by: uuid.UUID = Field(foreign_key="staff_user.id")
    closed_by_role: str = Field(max_length=20)
    closed_at: datetime = utc_field(default_now=True)
    place: str = Field(max_length=60)  # the office's code: where the day was closed
    office_cash_vnd: int = Field(default=0, sa_type=BigInteger)
    couriers: int = 0  # couriers listed on the day when it closed


class MoneyLease(SQLModel, table=True):
    """Who runs a scheduled money job now (backend/money/scheduler.py): one row per job, taken by a process
    until ``until``; another process takes it only once that has passed, so two never run the job at once."""

    __tablename__ = "money_lease"
    name: str = Field(max_length=40, primary_key=True)
    holder: str = Field(max_length=64)
    until: datetime = utc_field()
    last_run: datetime | None = utc_field(nullable=True)


class RemittanceStatus(StrEnum):
    awaiting = "awaiting"  # sent by the post, not yet confirmed by the agency
    confirmed = "confirmed"


class Remittance(SQLModel, table=True):
    """A batch of the fees and charges collected for one agency, sent to it and confirmed by it."""

    __tablename__ = "remittance"
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_code: str = Field(max_length=32, index=True)
    office_code: str | None = Field(default=None, max_length=20)  # None: every office's money (an admin's)
    status: str = Field(default=RemittanceStatus.awaiting, sa_type=String(12))
    total_vnd: int = Field(default=0, sa_type=BigInteger)
    until: datetime = utc_field()  # covers money collected before this instant
    created_by: uuid.UUID | None = Field(default=None)
    created_role: str = Field(max_length=20)
    created_at: datetime = utc_field(default_now=True)
    confirmed_by: uuid.UUID | None = Field(default=None)
    confirmed_at: datetime | None = utc_field(nullable=True)


class RemittanceItem(SQLModel, table=True):
    """One dossier's amount in a remittance; a dossier's collected share is remitted once (the unique key)."""

    __tablename__ = "remittance_item"
    __table_args__ = (UniqueConstraint("dossier_id", "part", name="uq_remittance_item_dossier_part"),)
    remittance_id: uuid.UUID = Field(foreign_key="remittance.id", primary_key=True)
    dossier_id: uuid.UUID = Field(primary_key=True)
    part: int = Field(default=1)  # 1 for the first remittance of a dossier; later collections take 2, 3…
    amount_vnd: int = Field(sa_type=BigInteger)
    txn_id: uuid.UUID = Field(foreign_key="ledger_txn.id")
