"""courier_shift_versions: courier shifts with effective dates (issue 23)

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 04:10:00

``courier_shift_version``: a courier's weekly shifts from a Vietnam day on (scheduled until its day, then
written into ``courier_profile.shifts`` and kept as history, or cancelled), with who scheduled or cancelled it
and when (``schemas/courier_shifts.py``). On PostgreSQL the table NOTIFYs ``hoso_reference`` (migration 0002's
function) so every process drops its cached rosters and listed windows at once.
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "courier_shift_version"


def _json() -> sa.types.TypeEngine[object]:
    return (
        sa.JSON()
        .with_variant(postgresql.JSONB(astext_type=Text()), "cockroachdb")
        .with_variant(advanced_alchemy.types.json.ORA_JSONB(), "oracle")
        .with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
    )


def _at(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("courier_id", sa.Uuid(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("shifts", _json(), nullable=False),
        sa.Column("basis", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        _at("created_at"),
        _at("applied_at", True),
        _at("cancelled_at", True),
        sa.Column("cancelled_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["courier_id"], ["staff_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(f"ix_{TABLE}_courier_id", TABLE, ["courier_id"])
    op.create_index(f"ix_{TABLE}_effective_from", TABLE, ["effective_from"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {TABLE}_notify AFTER INSERT OR UPDATE OR DELETE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION hoso_reference_notify()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_notify ON {TABLE}")
    op.drop_index(f"ix_{TABLE}_effective_from", table_name=TABLE)
    op.drop_index(f"ix_{TABLE}_courier_id", table_name=TABLE)
    op.drop_table(TABLE)
