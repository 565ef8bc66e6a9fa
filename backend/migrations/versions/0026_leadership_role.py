"""leadership_role: the province leadership role (issue 23)

Revision ID: 0026
Revises: 0024
Create Date: 2026-12-06 02:20:00

``staff_user.role`` is a native enum on PostgreSQL (type ``role``, migration 0001); the read-only province
leadership role (``schemas.enums.Role.leadership``) is a new value of it. SQLite stores the enum as text with no
check, so nothing changes there. ``ADD VALUE`` cannot be undone on PostgreSQL without rebuilding the type; the
downgrade refuses while an account still has the role and otherwise leaves the (unused) value in place.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TYPE role ADD VALUE IF NOT EXISTS 'leadership'")


def downgrade() -> None:
    left = op.get_bind().execute(sa.text("SELECT count(*) FROM staff_user WHERE role = 'leadership'")).scalar()
    if left:
        raise RuntimeError(f"{left} province leadership account(s) still exist: disable or change them first")
