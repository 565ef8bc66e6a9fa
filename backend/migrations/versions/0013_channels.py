"""channels: notification channels: per (notification, channel) deliveries, citizens' channel choices, ZNS (issue 22)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 00:50:00

SMS and Zalo ZNS beside push: a ``channel_delivery`` row per (notification, channel), sent at most once (unique),
leased like the outbox, with provider, provider message id, cost in VND; ``channel_delivery_event`` for each change
of its status; ``channel_preference`` for a citizen's per-channel choice; ``channel_rate`` for the send rate and a
provider's Retry-After, shared by every dispatcher.
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)
_CLAIMABLE = "status IN ('pending', 'sending')"


def _s(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "channel_delivery",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column("template", _s(64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _UTC, nullable=False),
        sa.Column("claimed_by", _s(100), nullable=True),
        sa.Column("claimed_until", _UTC, nullable=True),
        sa.Column("provider", _s(20), nullable=True),
        sa.Column("provider_message_id", _s(100), nullable=True),
        sa.Column("segments", sa.Integer(), nullable=True),
        sa.Column("cost_vnd", sa.Integer(), nullable=True),
        sa.Column("last_error", _s(500), nullable=True),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("sent_at", _UTC, nullable=True),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'delivered', 'failed', 'skipped', 'suppressed')",
            name="ck_channel_delivery_status",
        ),
        sa.CheckConstraint("channel IN ('push', 'sms', 'zns')", name="ck_channel_delivery_channel"),
        sa.ForeignKeyConstraint(["notification_id"], ["notification.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("notification_id", "channel", name="uq_channel_delivery"),
    )
    with op.batch_alter_table("channel_delivery", schema=None) as batch_op:
        batch_op.create_index(
            "ix_channel_delivery_due",
            ["next_attempt_at"],
            unique=False,
            postgresql_where=sa.text(_CLAIMABLE),
            sqlite_where=sa.text(_CLAIMABLE),
        )
        batch_op.create_index(
            "ix_channel_delivery_recipient", ["recipient_id", "channel", "status"], unique=False
        )
        batch_op.create_index(
            "ix_channel_delivery_provider_id", ["provider", "provider_message_id"], unique=False
        )
    op.create_table(
        "channel_delivery_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("status", _s(12), nullable=False),
        sa.Column("source", _s(10), nullable=False),
        sa.Column("actor", _s(120), nullable=True),
        sa.Column("detail", _s(300), nullable=True),
        sa.Column("at", _UTC, nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["channel_delivery.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("channel_delivery_event", schema=None) as batch_op:
        batch_op.create_index("ix_channel_delivery_event_delivery", ["delivery_id", "at"], unique=False)
    op.create_table(
        "channel_preference",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.CheckConstraint("channel IN ('push', 'sms', 'zns')", name="ck_channel_preference_channel"),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("citizen_id", "channel", name="uq_channel_preference"),
    )
    op.create_table(
        "channel_rate",
        sa.Column("channel", _s(8), nullable=False),
        sa.Column("next_slot_at", _UTC, nullable=False),
        sa.Column("paused_until", _UTC, nullable=True),
        sa.PrimaryKeyConstraint("channel"),
    )


def downgrade() -> None:
    op.drop_table("channel_rate")
    op.drop_table("channel_preference")
    with op.batch_alter_table("channel_delivery_event", schema=None) as batch_op:
        batch_op.drop_index("ix_channel_delivery_event_delivery")
    op.drop_table("channel_delivery_event")
    with op.batch_alter_table("channel_delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_channel_delivery_provider_id")
        batch_op.drop_index("ix_channel_delivery_recipient")
        batch_op.drop_index("ix_channel_delivery_due")
    op.drop_table("channel_delivery")
