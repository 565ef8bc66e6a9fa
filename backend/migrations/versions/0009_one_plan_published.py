"""one published plan per post office and day; one solve in progress per post office and day (issue 17)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 19:15:00

Two publishes of one office's day running at once each saw no other published plan and both committed: the
couriers had two routes. A partial unique index now allows one ``published`` plan per post office and day
(``publish`` supersedes the old one first, in the same transaction; the loser of a race gets a 409). The same
for solves: one ``queued`` or ``running`` plan per post office and day (two requests at once both passed the
check and queued two solves). Rows that already break either rule are mended first: of several published
plans of a day the latest published stays, the others become ``superseded``; of several solves in progress
the newest stays, the others are ``failed``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUBLISHED = "status = 'published'"
IN_PROGRESS = "status IN ('queued', 'running')"


def upgrade() -> None:
    op.execute(
        "UPDATE plan SET status = 'superseded' WHERE status = 'published' AND EXISTS ("
        " SELECT 1 FROM plan AS later WHERE later.post_office_id = plan.post_office_id"
        " AND later.service_date = plan.service_date AND later.status = 'published' AND later.id <> plan.id"
        " AND (later.published_at > plan.published_at"
        "  OR (later.published_at = plan.published_at AND later.id > plan.id)))"
    )
    op.execute(
        "UPDATE plan SET status = 'failed', error = 'Thay bằng yêu cầu mới hơn / Replaced by a newer request'"
        " WHERE status IN ('queued', 'running') AND EXISTS ("
        " SELECT 1 FROM plan AS later WHERE later.post_office_id = plan.post_office_id"
        " AND later.service_date = plan.service_date AND later.status IN ('queued', 'running')"
        " AND later.id <> plan.id"
        " AND (later.created_at > plan.created_at OR (later.created_at = plan.created_at AND later.id > plan.id)))"
    )
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.create_index(
            "uq_plan_published_day",
            ["post_office_id", "service_date"],
            unique=True,
            postgresql_where=sa.text(PUBLISHED),
            sqlite_where=sa.text(PUBLISHED),
        )
        batch_op.create_index(
            "uq_plan_in_progress_day",
            ["post_office_id", "service_date"],
            unique=True,
            postgresql_where=sa.text(IN_PROGRESS),
            sqlite_where=sa.text(IN_PROGRESS),
        )


def downgrade() -> None:
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_plan_in_progress_day",
            postgresql_where=sa.text(IN_PROGRESS),
            sqlite_where=sa.text(IN_PROGRESS),
        )
        batch_op.drop_index(
            "uq_plan_published_day", postgresql_where=sa.text(PUBLISHED), sqlite_where=sa.text(PUBLISHED)
        )
