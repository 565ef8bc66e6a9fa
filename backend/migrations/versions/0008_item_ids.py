"""item id reservations with quotas and unpredictable serials (issue 17)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 19:15:00

``reserved_item_id.expires_at``: a label reserved ahead for an offline pickup is claimable until then; unused
after it, it is dead (the row stays so the id is never issued again). Labels reserved before this migration
had no quota or expiry (an audit reserved 3,000 in 1.7 s), so they expire now: a courier reserves fresh ones.
Serials themselves need no change here: the counter in ``item_counter`` now counts ids and the service maps
each count to an unpredictable serial (``backend/custody/ids.py``).
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reserved_item_id", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("expires_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True)
        )
    op.execute("UPDATE reserved_item_id SET expires_at = reserved_at")
    with op.batch_alter_table("reserved_item_id", schema=None) as batch_op:
        batch_op.alter_column(
            "expires_at",
            existing_type=advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("reserved_item_id", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
