"""citizen_groups: a citizen's exempt groups, recorded by the desk (issue 21)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 03:05:00

``citizen.exempt_groups``: the group codes (``FeeExemption.citizen_group``) a desk clerk recorded after checking
the papers at the counter, with who and when (schemas/accounts.py). Only the codes are stored, never the papers.
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[object]:
    return (
        sa.JSON()
        .with_variant(postgresql.JSONB(astext_type=Text()), "cockroachdb")
        .with_variant(advanced_alchemy.types.json.ORA_JSONB(), "oracle")
        .with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
    )


def upgrade() -> None:
    with op.batch_alter_table("citizen", schema=None) as batch_op:
        batch_op.add_column(sa.Column("exempt_groups", _json(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "exempt_groups_verified_at",
                advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("exempt_groups_verified_by", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("citizen", schema=None) as batch_op:
        batch_op.drop_column("exempt_groups_verified_by")
        batch_op.drop_column("exempt_groups_verified_at")
        batch_op.drop_column("exempt_groups")
