"""ledger change notifications (PostgreSQL): NOTIFY hoso_ledger on every slot_capacity change

Each web process keeps the booked minutes of the windows it lists in memory and forgets an office's entry
when this notification arrives (``backend/booking/ledger_cache.py``). A trigger rather than a NOTIFY from
the booking code: every writer of the ledger is covered, and the booking pays no extra round trip. NOTIFY is
delivered at commit, never for a rolled-back change, and folds repeats of the same payload in a transaction.
SQLite has no NOTIFY: nothing to do there.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 09:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION hoso_ledger_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('hoso_ledger', COALESCE(NEW.post_office_id, OLD.post_office_id)::text);
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER slot_capacity_notify AFTER INSERT OR UPDATE OR DELETE ON slot_capacity
        FOR EACH ROW EXECUTE FUNCTION hoso_ledger_notify()
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS slot_capacity_notify ON slot_capacity")
    op.execute("DROP FUNCTION IF EXISTS hoso_ledger_notify()")
