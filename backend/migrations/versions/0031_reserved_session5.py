"""demo_history: the demo history's loading state (issue 23, session 5)

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06 07:00:00

``demo_history``: one row per demo province whose two years of past dossiers ``make run`` writes in the
background (``backend/demo/background.py``): loading, done or failed, how many dossiers and events are written
(updated in each chunk's transaction) and the instant the rows were generated for, so an interrupted load is
finished by the next start and ``GET /health`` says where it is (``schemas/ops.py``). No personal data.
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "demo_history"


def _at(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("province_code", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("rows_asked", sa.Integer(), nullable=False),
        sa.Column("dossiers_planned", sa.Integer(), nullable=False),
        sa.Column("dossiers_written", sa.Integer(), nullable=False),
        sa.Column("events_written", sa.Integer(), nullable=False),
        _at("generated_for"),
        _at("started_at"),
        _at("updated_at"),
        _at("finished_at", True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.PrimaryKeyConstraint("province_code"),
    )


def downgrade() -> None:
    op.drop_table(TABLE)
