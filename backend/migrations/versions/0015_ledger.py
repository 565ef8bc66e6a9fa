"""ledger: money: the ledger, receipts, cash-ups and remittances (issue 21)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 00:50:00

The append-only double-entry ledger (``ledger_txn`` with its ``ledger_line`` rows, whose amounts sum to 0 per
transaction), the gapless per-office, per-year receipt counter, couriers' daily cash-ups and remittance batches
to agencies with the dossiers and amounts they cover.
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return (
        sa.JSON()
        .with_variant(postgresql.JSONB(astext_type=Text()), "cockroachdb")
        .with_variant(advanced_alchemy.types.json.ORA_JSONB(), "oracle")
        .with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
    )


def _utc() -> sa.types.TypeEngine:
    return advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def _str(n: int) -> sa.types.TypeEngine:
    return sqlmodel.sql.sqltypes.AutoString(length=n)


def upgrade() -> None:
    op.create_table(
        "ledger_txn",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", _str(24), nullable=False),
        sa.Column("idempotency_key", _str(120), nullable=False),
        sa.Column("digest", _str(64), nullable=False),
        sa.Column("dossier_id", sa.Uuid(), nullable=True),
        sa.Column("appointment_id", sa.Uuid(), nullable=True),
        sa.Column("payer", _str(120), nullable=True),
        sa.Column("method", _str(20), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_role", _str(20), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("place", _str(60), nullable=True),
        sa.Column("receipt_no", _str(40), nullable=True),
        sa.Column("source_event", sa.Uuid(), nullable=True),
        sa.Column("memo", _str(200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
        sa.UniqueConstraint("receipt_no"),
    )
    with op.batch_alter_table("ledger_txn", schema=None) as batch_op:
        for column in ("actor_id", "appointment_id", "at", "dossier_id", "kind"):
            batch_op.create_index(batch_op.f(f"ix_ledger_txn_{column}"), [column], unique=False)
    op.create_table(
        "ledger_line",
        sa.Column("txn_id", sa.Uuid(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("account", _str(80), nullable=False),
        sa.Column("amount_vnd", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["txn_id"], ["ledger_txn.id"]),
        sa.PrimaryKeyConstraint("txn_id", "line_no"),
    )
    op.create_index("ix_ledger_line_account_txn", "ledger_line", ["account", "txn_id"], unique=False)
    op.create_table(
        "receipt_counter",
        sa.Column("office_code", _str(20), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("office_code", "year"),
    )
    op.create_table(
        "cashup",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("office_code", _str(20), nullable=False),
        sa.Column("courier_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("expected", _json(), nullable=False),
        sa.Column("counted", _json(), nullable=False),
        sa.Column("discrepancy_vnd", sa.BigInteger(), nullable=False),
        sa.Column("note", _str(300), nullable=True),
        sa.Column("courier_signed_at", _utc(), nullable=False),
        sa.Column("dispatcher_id", sa.Uuid(), nullable=True),
        sa.Column("dispatcher_signed_at", _utc(), nullable=True),
        sa.Column("txn_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["courier_id"], ["staff_user.id"]),
        sa.ForeignKeyConstraint(["dispatcher_id"], ["staff_user.id"]),
        sa.ForeignKeyConstraint(["txn_id"], ["ledger_txn.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("courier_id", "day", name="uq_cashup_courier_day"),
    )
    with op.batch_alter_table("cashup", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cashup_day"), ["day"], unique=False)
        batch_op.create_index(batch_op.f("ix_cashup_office_code"), ["office_code"], unique=False)
    op.create_table(
        "remittance",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_code", _str(32), nullable=False),
        sa.Column("office_code", _str(20), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("total_vnd", sa.BigInteger(), nullable=False),
        sa.Column("until", _utc(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_role", _str(20), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("confirmed_by", sa.Uuid(), nullable=True),
        sa.Column("confirmed_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("remittance", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_remittance_org_code"), ["org_code"], unique=False)
    op.create_table(
        "remittance_item",
        sa.Column("remittance_id", sa.Uuid(), nullable=False),
        sa.Column("dossier_id", sa.Uuid(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("amount_vnd", sa.BigInteger(), nullable=False),
        sa.Column("txn_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["remittance_id"], ["remittance.id"]),
        sa.ForeignKeyConstraint(["txn_id"], ["ledger_txn.id"]),
        sa.PrimaryKeyConstraint("remittance_id", "dossier_id"),
        sa.UniqueConstraint("dossier_id", "part", name="uq_remittance_item_dossier_part"),
    )


def downgrade() -> None:
    op.drop_table("remittance_item")
    with op.batch_alter_table("remittance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_remittance_org_code"))
    op.drop_table("remittance")
    with op.batch_alter_table("cashup", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cashup_office_code"))
        batch_op.drop_index(batch_op.f("ix_cashup_day"))
    op.drop_table("cashup")
    op.drop_table("receipt_counter")
    op.drop_index("ix_ledger_line_account_txn", table_name="ledger_line")
    op.drop_table("ledger_line")
    with op.batch_alter_table("ledger_txn", schema=None) as batch_op:
        for column in ("kind", "dossier_id", "at", "appointment_id", "actor_id"):
            batch_op.drop_index(batch_op.f(f"ix_ledger_txn_{column}"))
    op.drop_table("ledger_txn")
