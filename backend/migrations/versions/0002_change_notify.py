"""change notifications (PostgreSQL) for the web processes' caches

* ``hoso_ledger`` with the post office id, on every ``slot_capacity`` row change: each process keeps the
  booked minutes of the windows it lists and forgets an office's entry (``backend/booking/ledger_cache.py``).
* ``hoso_reference`` with the table name, once per statement changing the reference data that booking reads
  on every request (rosters, booking rules, offices and the communes they serve, procedures, the calendar,
  plans): caches drop what came from that table (``backend/lib/pgnotify.py``).

Triggers rather than NOTIFY from the code: every writer is covered, and a booking pays no extra round trip.
NOTIFY is delivered at commit, never for a rolled-back change, and folds repeats of the same payload in a
transaction. SQLite has no NOTIFY: nothing to do there.

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

REFERENCE_TABLES = (
    "staff_user",
    "courier_profile",
    "booking_settings",
    "organisation",
    "post_office_commune",
    "procedure",
    "calendar_override",
    "plan",
)


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
    op.execute(
        """
        CREATE FUNCTION hoso_reference_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('hoso_reference', TG_TABLE_NAME);
            RETURN NULL;
        END
        $$
        """
    )
    for table in REFERENCE_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION hoso_reference_notify()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in REFERENCE_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify ON {table}")
    op.execute("DROP FUNCTION IF EXISTS hoso_reference_notify()")
    op.execute("DROP TRIGGER IF EXISTS slot_capacity_notify ON slot_capacity")
    op.execute("DROP FUNCTION IF EXISTS hoso_ledger_notify()")
