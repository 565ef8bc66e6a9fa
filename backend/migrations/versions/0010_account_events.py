"""account events: one row per change to a staff or citizen account (issue 17 follow-up)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 20:10:00

The developer guide asks that every state change write an event row in the same transaction, with who, when
and where. Account changes wrote none: an account's creation, a new role, organisation or password, disabling
or enabling, ended sessions and a courier's profile now each add an ``account_event`` row (``data`` names what
changed, never a password, hash or token). No rows are made for the past.
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("client_ip", sqlmodel.sql.sqltypes.AutoString(length=45), nullable=True),
        sa.Column(
            "data",
            sa.JSON()
            .with_variant(postgresql.JSONB(astext_type=Text()), "cockroachdb")
            .with_variant(advanced_alchemy.types.json.ORA_JSONB(), "oracle")
            .with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("account_event", schema=None) as batch_op:
        batch_op.create_index("ix_account_event_account_at", ["account_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("account_event", schema=None) as batch_op:
        batch_op.drop_index("ix_account_event_account_at")
    op.drop_table("account_event")
