"""answer_notify: change notifications for the public read caches (issue 24)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 04:10:00

Reserved in the chain; filled in by the change that needs it (an empty step until then).
"""

from collections.abc import Sequence

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
