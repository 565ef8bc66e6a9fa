"""payments: money: online payments, VietQR, versioned tariffs, fees and exemptions (issue 21)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 00:50:00

Online payments (``online_payment`` and its events) and the prices people set: postal tariffs, procedure fees
and exemptions as versioned rows with effective dates (schemas/pricing.py). The tariff is seeded with the
defaults that were constants in backend/catalogue/tariffs.py, in force since 2020-01-01 (a procedure without a
fee version is priced from the procedure catalogue). On PostgreSQL the three price tables NOTIFY
``hoso_reference`` (migration 0002's function) so every process drops its cached prices at once.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import NAMESPACE_URL, uuid5

import advanced_alchemy.types
import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PRICE_TABLES = ("tariff_rate", "procedure_fee", "fee_exemption")
SEED_FROM = datetime(2020, 1, 1, tzinfo=UTC)
SEED_BASIS = "Giá mặc định minh hoạ (backend/catalogue/tariffs.py) / illustrative defaults"
# The defaults as they stood in backend/catalogue/tariffs.py when this migration was written (a migration
# must not change when that module does).
SEED_TARIFF = {
    "pickup": {"Z1": 22_000, "Z2": 30_000, "Z3": 40_000, "Z4": 55_000},
    "delivery": {"Z1": 22_000, "Z2": 30_000, "Z3": 40_000, "Z4": 55_000},
    "assisted": {"Z1": 40_000, "Z2": 50_000, "Z3": 65_000, "Z4": 85_000},
}


def _json() -> sa.types.TypeEngine[object]:
    return (
        sa.JSON()
        .with_variant(postgresql.JSONB(astext_type=Text()), "cockroachdb")
        .with_variant(advanced_alchemy.types.json.ORA_JSONB(), "oracle")
        .with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
    )


def _at() -> advanced_alchemy.types.datetime.DateTimeUTC:
    return advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def _str(n: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=n)


def _price_tables() -> None:
    tariff = op.create_table(
        "tariff_rate",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", _str(20), nullable=False),
        sa.Column("zone", _str(4), nullable=False),
        sa.Column("amount_vnd", sa.BigInteger(), nullable=False),
        sa.Column("effective_from", _at(), nullable=False),
        sa.Column("basis", _str(300), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", _at(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "zone", "effective_from", name="uq_tariff_rate_version"),
    )
    op.create_index("ix_tariff_rate_effective_from", "tariff_rate", ["effective_from"])
    op.create_table(
        "procedure_fee",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("procedure_code", _str(32), nullable=False),
        sa.Column("fee_vnd", sa.BigInteger(), nullable=False),
        sa.Column("charge_vnd", sa.BigInteger(), nullable=False),
        sa.Column("effective_from", _at(), nullable=False),
        sa.Column("basis", _str(300), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", _at(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("procedure_code", "effective_from", name="uq_procedure_fee_version"),
    )
    op.create_index("ix_procedure_fee_procedure_code", "procedure_fee", ["procedure_code"])
    op.create_index("ix_procedure_fee_effective_from", "procedure_fee", ["effective_from"])
    op.create_table(
        "fee_exemption",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", _str(40), nullable=False),
        sa.Column("province_code", _str(8), nullable=True),
        sa.Column("procedure_code", _str(32), nullable=True),
        sa.Column("citizen_group", _str(40), nullable=True),
        sa.Column("covers", _str(10), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("legal_basis", _str(300), nullable=False),
        sa.Column("label_vi", _str(200), nullable=False),
        sa.Column("label_en", _str(200), nullable=False),
        sa.Column("effective_from", _at(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", _at(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code", "effective_from", name="uq_fee_exemption_version"),
    )
    op.create_index("ix_fee_exemption_code", "fee_exemption", ["code"])
    op.create_index("ix_fee_exemption_effective_from", "fee_exemption", ["effective_from"])
    rows = [
        {
            "id": uuid5(NAMESPACE_URL, f"hoso:tariff:{kind}:{zone}:2020"),
            "kind": kind,
            "zone": zone,
            "amount_vnd": amount,
            "effective_from": SEED_FROM,
            "basis": SEED_BASIS,
            "created_by": None,
            "created_at": SEED_FROM,
        }
        for kind, zones in SEED_TARIFF.items()
        for zone, amount in zones.items()
    ]
    op.bulk_insert(tariff, rows)


def _payment_tables() -> None:
    op.create_table(
        "online_payment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider", _str(20), nullable=False),
        sa.Column("reference", _str(40), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=True),
        sa.Column("dossier_id", sa.Uuid(), nullable=True),
        sa.Column("amount_vnd", sa.BigInteger(), nullable=False),
        sa.Column("status", _str(20), nullable=False),
        sa.Column("provider_txn", _str(40), nullable=True),
        sa.Column("provider_code", _str(20), nullable=True),
        sa.Column("ledger_txn_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _at(), nullable=False),
        sa.Column("updated_at", _at(), nullable=False),
        sa.Column("expires_at", _at(), nullable=False),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"]),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointment.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_online_payment_reference", "online_payment", ["reference"], unique=True)
    op.create_index("ix_online_payment_citizen_id", "online_payment", ["citizen_id"])
    op.create_index("ix_online_payment_appointment_id", "online_payment", ["appointment_id"])
    op.create_index("ix_online_payment_dossier_id", "online_payment", ["dossier_id"])
    op.create_table(
        "online_payment_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", _str(30), nullable=False),
        sa.Column("at", _at(), nullable=False),
        sa.Column("actor_role", _str(20), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("place", _str(60), nullable=False),
        sa.Column("data", _json(), nullable=False),
        sa.ForeignKeyConstraint(["payment_id"], ["online_payment.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("payment_id", "seq", name="uq_online_payment_event_seq"),
    )
    op.create_index("ix_online_payment_event_payment_id", "online_payment_event", ["payment_id"])


def upgrade() -> None:
    _price_tables()
    _payment_tables()
    if op.get_bind().dialect.name == "postgresql":
        for table in PRICE_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION hoso_reference_notify()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in PRICE_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_notify ON {table}")
    op.drop_table("online_payment_event")
    op.drop_table("online_payment")
    op.drop_table("fee_exemption")
    op.drop_table("procedure_fee")
    op.drop_table("tariff_rate")
