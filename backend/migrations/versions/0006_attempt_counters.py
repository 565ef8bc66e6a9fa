"""attempt counters on guessable codes (issue 17: OTP, handover codes, recipient checks)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 19:15:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attempt_counter",
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("subject", sa.Uuid(), nullable=False),
        sa.Column("window", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "subject", "window"),
    )
    op.create_table(
        "code_failure",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("client_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=True),
        sa.Column("citizen_id", sa.Uuid(), nullable=True),
        sa.Column("dossier_id", sa.Uuid(), nullable=True),
        sa.Column("place", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("code_failure", schema=None) as batch_op:
        batch_op.create_index("ix_code_failure_actor_at", ["actor_id", "at"], unique=False)
        batch_op.create_index("ix_code_failure_citizen_at", ["citizen_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("code_failure", schema=None) as batch_op:
        batch_op.drop_index("ix_code_failure_citizen_at")
        batch_op.drop_index("ix_code_failure_actor_at")
    op.drop_table("code_failure")
    op.drop_table("attempt_counter")
