"""outbox_wake: a notification row wakes the dispatchers at commit instead of their next poll (issue 24)

``hoso_outbox`` (no payload) is sent once per statement inserting into ``notification``; the dispatch processes
listen to it (``backend/notices/worker.py`` through ``backend/lib/pgnotify.py``) and look for work at once, so a
push leaves milliseconds after the booking's commit instead of up to the poll's second later. The poll stays as
the fallback (listener down, SQLite).

A statement-level trigger rather than NOTIFY from the code: every writer is covered (the ORM, bulk inserts,
``hoso_book``'s own insert, other processes, psql), and a multi-row insert sends one notification. NOTIFY is
delivered at commit, never for a rolled-back insert, and repeats in one transaction fold into one. An insert of
no rows (on conflict do nothing) still notifies: a dispatcher then makes one pass that finds nothing.

``channel_delivery`` gets no trigger: its rows are inserted by the channel dispatcher's own planner, which
claims them in the same pass. SQLite has no NOTIFY: nothing to do there (the dispatcher polls every second,
and a process that commits a notice itself wakes its own dispatcher).

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06 07:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "hoso_outbox"  # backend.lib.pgnotify.OUTBOX (migrations keep their own copy: they never change)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE FUNCTION hoso_outbox_wake() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER notification_outbox_wake AFTER INSERT ON notification "
        "FOR EACH STATEMENT EXECUTE FUNCTION hoso_outbox_wake()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS notification_outbox_wake ON notification")
    op.execute("DROP FUNCTION IF EXISTS hoso_outbox_wake()")
