"""payments: money: online payments, VietQR, versioned tariffs, fees and exemptions (issue 21)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 00:50:00

Reserved in the chain at the start of the session so that parallel work keeps one head; filled in by the
work it names.
"""

from collections.abc import Sequence

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
