"""courier_shift_versions: courier shifts with effective dates (issue 23)

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 04:10:00

Reserved in the chain; filled in by the change that needs it (an empty step until then).
"""

from collections.abc import Sequence

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
