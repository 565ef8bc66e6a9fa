"""channels: notification channels: per (notification, channel) deliveries, citizens' channel choices, ZNS (issue 22)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 00:50:00

Reserved in the chain at the start of the session so that parallel work keeps one head; filled in by the
work it names.
"""

from collections.abc import Sequence

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
