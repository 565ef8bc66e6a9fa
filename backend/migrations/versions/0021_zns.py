"""zns: Zalo ZNS credentials (rotating refresh token) and ZNS message records (issue 22)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 00:50:00

``zns_token`` holds the Official Account's access token and its single-use refresh token per Zalo app (a
version counter and a lease make one process at a time spend the refresh token); ``zns_message`` one row per
ZNS template message (never its parameters) with Zalo's msg_id, so the delivery webhook can find it;
``zns_event`` one row per change of a message's status.
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc(name: str, nullable: bool) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "zns_token",
        sa.Column("app_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("access_token", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
        _utc("access_expires_at", True),
        sa.Column("refresh_token", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        _utc("lease_until", True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        _utc("updated_at", False),
        sa.PrimaryKeyConstraint("app_id"),
    )
    op.create_table(
        "zns_message",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("template_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("provider_message_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("cost_vnd", sa.Integer(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        _utc("delivered_at", True),
        _utc("created_at", False),
        _utc("updated_at", False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("zns_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_zns_message_phone"), ["phone"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_zns_message_provider_message_id"), ["provider_message_id"], unique=False
        )
    op.create_table(
        "zns_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        _utc("at", False),
        sa.ForeignKeyConstraint(["message_id"], ["zns_message.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("zns_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_zns_event_message_id"), ["message_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("zns_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_zns_event_message_id"))
    op.drop_table("zns_event")
    with op.batch_alter_table("zns_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_zns_message_provider_message_id"))
        batch_op.drop_index(batch_op.f("ix_zns_message_phone"))
    op.drop_table("zns_message")
    op.drop_table("zns_token")
