"""identity: identity: national ids, authorised persons, counter verification (issue 20)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 00:50:00

Reserved in the chain at the start of the session so that parallel work keeps one head; filled in by the
work it names.
"""

from collections.abc import Sequence

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
