"""tracking_links: live tracking links: signed short links for a courier's visit (issue 22)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 00:50:00

One ``tracking_link`` row per link issued when a courier sets off to a booked visit: who issued it and when, the
visit (appointment) and stop it follows, its hard expiry, its revocation (when, by whom) and a count of page opens. The token
in the link is the row id plus an HMAC of it (backend/planning/tracking_link.py), never stored.
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tracking_link",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("stop_id", sa.Uuid(), nullable=False),
        sa.Column("issued_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("issued_by_id", sa.Uuid(), nullable=False),
        sa.Column("issued_by_role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("expires_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("revoked_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Uuid(), nullable=True),
        sa.Column("revoked_by_role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointment.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tracking_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tracking_link_appointment_id"), ["appointment_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tracking_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tracking_link_appointment_id"))
    op.drop_table("tracking_link")
