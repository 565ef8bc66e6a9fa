"""catalogue_edits: a catalogue people edit (issue 23)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 02:00:00

``procedure_version`` (every version of a procedure's content, seeded with one version per existing procedure
in force since 2020-01-01), ``procedure_eligibility`` (a province's postal pickup/return list, versioned),
``catalogue_change`` (organisation and service-area changes with effective dates), ``catalogue_event`` (one
row per change: who, when, where); ``staff_user.province_code`` (a provincial admin's scope) and
``organisation.active``. On PostgreSQL the new reference tables NOTIFY ``hoso_reference`` (migration 0002's
function) so every process drops its cached catalogue at once.
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import NAMESPACE_URL, uuid5

import advanced_alchemy.types
import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTIFY_TABLES = ("procedure_version", "procedure_eligibility", "catalogue_change")
SEED_FROM = datetime(2020, 1, 1, tzinfo=UTC)


def _json() -> sa.types.TypeEngine[object]:
    return (
        sa.JSON()
        .with_variant(postgresql.JSONB(astext_type=Text()), "cockroachdb")
        .with_variant(advanced_alchemy.types.json.ORA_JSONB(), "oracle")
        .with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
    )


def _at(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=nullable)


def _str(name: str, n: int, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=n), nullable=nullable)


def _index(table: str, *columns: str) -> None:
    op.create_index(f"ix_{table}_{'_'.join(columns)}", table, list(columns))


def _tables() -> sa.Table:
    versions = op.create_table(
        "procedure_version",
        sa.Column("id", sa.Uuid(), nullable=False),
        _str("procedure_code", 32),
        sa.Column("seq", sa.Integer(), nullable=False),
        _str("name", 400),
        _str("name_en", 400, True),
        _str("field", 120),
        _str("level", 20),
        sa.Column("processing_days", sa.Float(), nullable=False),
        sa.Column("documents", _json(), nullable=False),
        _str("legal_basis", 600, True),
        sa.Column("postal_pickup", sa.Boolean(), nullable=False),
        sa.Column("postal_return", sa.Boolean(), nullable=False),
        _str("source", 20),
        _at("effective_from"),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        _at("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("procedure_code", "effective_from", name="uq_procedure_version"),
    )
    _index("procedure_version", "procedure_code")
    _index("procedure_version", "effective_from")
    op.create_table(
        "procedure_eligibility",
        sa.Column("id", sa.Uuid(), nullable=False),
        _str("procedure_code", 32),
        _str("province_code", 8),
        sa.Column("postal_pickup", sa.Boolean(), nullable=False),
        sa.Column("postal_return", sa.Boolean(), nullable=False),
        _str("basis", 300),
        _at("effective_from"),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        _at("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "procedure_code", "province_code", "effective_from", name="uq_procedure_eligibility"
        ),
    )
    for column in ("procedure_code", "province_code", "effective_from"):
        _index("procedure_eligibility", column)
    op.create_table(
        "catalogue_change",
        sa.Column("id", sa.Uuid(), nullable=False),
        _str("kind", 20),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("data", _json(), nullable=False),
        _str("basis", 300),
        _at("effective_from"),
        _at("applied_at", True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        _at("created_at"),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("organisation_id", "effective_from", "applied_at"):
        _index("catalogue_change", column)
    op.create_table(
        "catalogue_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        _str("type", 40),
        _str("subject", 64),
        _str("province_code", 8, True),
        _at("at"),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        _str("actor_role", 20),
        _str("client_ip", 45, True),
        sa.Column("data", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_catalogue_event_subject_at", "catalogue_event", ["subject", "at"])
    return versions


def _seed(versions: sa.Table) -> None:
    """One version per existing procedure, as it stands, in force since 2020-01-01."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT code, name, name_en, field, level, processing_days, documents, legal_basis, "
            "postal_pickup, postal_return FROM procedure"
        )
    ).mappings()
    now = datetime.now(UTC)
    seed = []
    for r in rows:
        docs = r["documents"]
        if isinstance(docs, str):
            docs = json.loads(docs)
        seed.append(
            {
                "id": uuid5(NAMESPACE_URL, f"hoso:procedure-version:{r['code']}:2020"),
                "procedure_code": r["code"],
                "seq": 1,
                "name": r["name"],
                "name_en": r["name_en"],
                "field": r["field"],
                "level": r["level"],
                "processing_days": r["processing_days"],
                "documents": docs or [],
                "legal_basis": r["legal_basis"],
                "postal_pickup": bool(r["postal_pickup"]),
                "postal_return": bool(r["postal_return"]),
                "source": "import",
                "effective_from": SEED_FROM,
                "created_by": None,
                "created_at": now,
            }
        )
    if seed:
        op.bulk_insert(versions, seed)


def upgrade() -> None:
    versions = _tables()
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.add_column(_str("province_code", 8, True))
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False))
    _seed(versions)
    if op.get_bind().dialect.name == "postgresql":
        for table in NOTIFY_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION hoso_reference_notify()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in NOTIFY_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_notify ON {table}")
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_column("active")
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.drop_column("province_code")
    op.drop_table("catalogue_event")
    op.drop_table("catalogue_change")
    op.drop_table("procedure_eligibility")
    op.drop_table("procedure_version")
