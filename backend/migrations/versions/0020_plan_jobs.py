"""plan_jobs: planning jobs on a job engine: job ids, heartbeats, attempts (issue 24)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 00:50:00

``plan.worker_id``: the solve attempt holding a queued/running plan (worker id and a token per attempt), so a
retried job takes over a dead worker's plan and a slow survivor can no longer write it; ``plan.attempts``: how
many attempts the plan's solve took. Existing rows: no holder, 0 attempts.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.add_column(sa.Column("worker_id", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_column("attempts")
        batch_op.drop_column("worker_id")
