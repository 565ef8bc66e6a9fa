"""loops: closing loops: supplements on a dossier, returns of refused/withdrawn papers, return booking (issue 20)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 00:50:00

Reserved in the chain at the start of the session so that parallel work keeps one head; filled in by the
work it names.
"""

from collections.abc import Sequence

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
