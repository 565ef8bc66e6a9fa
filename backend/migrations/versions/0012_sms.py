"""sms: the SMS the service sends (sign-in codes first) and their status changes (issue 22)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 23:10:00

Sign-in codes go by SMS through a provider; each message is a ``sms_message`` row (never its text, which holds
the code) with the provider's message id, so the provider's delivery report can update its status, and each
change of status an ``sms_event`` row.
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sms_message",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("provider", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("provider_message_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("encoding", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("cost_vnd", sa.Integer(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sms_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sms_message_phone"), ["phone"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_sms_message_provider_message_id"), ["provider_message_id"], unique=False
        )
    op.create_table(
        "sms_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["sms_message.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sms_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sms_event_message_id"), ["message_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sms_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sms_event_message_id"))
    op.drop_table("sms_event")
    with op.batch_alter_table("sms_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sms_message_provider_message_id"))
        batch_op.drop_index(batch_op.f("ix_sms_message_phone"))
    op.drop_table("sms_message")
