"""stop_control: dispatcher control of stops: moves, order, pins; one visit per household (issue 20)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 00:50:00

Reserved in the chain at the start of the session so that parallel work keeps one head; filled in by the
work it names.
"""

from collections.abc import Sequence

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
