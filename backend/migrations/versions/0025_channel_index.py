"""channel_index: the channel planner's scan of recent notices (issue 22)

Revision ID: 0025
Revises: 0023
Create Date: 2026-12-06 02:15:00

``notifications/channels/planner.py`` looks for citizens' notices of the last ``HORIZON`` (3 days) that push did
not reach, ``created_at >= now - 3 days ORDER BY created_at LIMIT n``; without an index on ``created_at`` that is
a scan of the whole notification table (the inbox index leads with ``recipient_id``). ``ix_notification_created``
serves the range and the order.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index("ix_notification_created", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_created")
