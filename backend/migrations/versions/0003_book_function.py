"""one round trip per booking (PostgreSQL): the function ``hoso_book``

A booking writes five things in one transaction: the caller's Idempotency-Key, the window's ledger row, the
appointment, its first event and its notifications. As separate statements that was seven round trips with
BEGIN and COMMIT, and on a loaded 2-core host each round trip costs the web process a send and a wake-up
(~0.2 ms of CPU) while the ledger row stays locked across all of them. ``hoso_book`` does the five writes in
one statement; called outside a transaction it is its own transaction (``backend/booking/pgbook.py``).

Rules, the same as the statement-by-statement path that SQLite uses (``backend/booking/services.py``):
* the key is claimed first; if the caller already used it, nothing else is written and the earlier
  appointment is returned (``replay``) with the hash of the request that claimed it;
* the ledger takes ``cost`` minutes only while ``booked + cost <= capacity``
  (``backend/booking/capacity.py``); otherwise the function raises SQLSTATE ``HB409`` and the key's claim
  is rolled back with the statement, so a retry may try again;
* the appointment, event and notification rows come as JSON objects with every column (``row_values``) and
  are read with the tables' own row types, so a column added later needs no change here.

SQLite has no stored functions: nothing to do there.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 12:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = "hoso_book(uuid, text, text, uuid, timestamptz, timestamptz, integer, integer, timestamptz, jsonb, jsonb, jsonb)"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION hoso_book(
            p_caller uuid, p_key text, p_hash text,
            p_office uuid, p_start timestamptz, p_end timestamptz, p_cap integer, p_cost integer,
            p_now timestamptz, p_appointment jsonb, p_event jsonb, p_notifications jsonb,
            OUT o_outcome text, OUT o_appointment uuid, OUT o_hash text
        ) LANGUAGE plpgsql AS $$
        BEGIN
            IF p_cost > p_cap THEN
                RAISE EXCEPTION 'window full' USING ERRCODE = 'HB409';
            END IF;
            o_appointment := (p_appointment ->> 'id')::uuid;
            o_hash := p_hash;
            IF p_key IS NOT NULL THEN
                INSERT INTO booking_idempotency (caller_id, key, request_hash, appointment_id, created_at)
                VALUES (p_caller, p_key, p_hash, o_appointment, p_now)
                ON CONFLICT (caller_id, key) DO NOTHING;
                IF NOT FOUND THEN
                    -- A concurrent holder of the key was waited for by ON CONFLICT; its row is committed.
                    SELECT i.appointment_id, i.request_hash INTO o_appointment, o_hash
                    FROM booking_idempotency i WHERE i.caller_id = p_caller AND i.key = p_key;
                    o_outcome := 'replay';
                    RETURN;
                END IF;
            END IF;
            -- The rows first, the ledger last: its row lock is then held only until the commit, not while
            -- the other rows are written (bookings of one window queue on that lock).
            INSERT INTO appointment SELECT * FROM jsonb_populate_record(NULL::appointment, p_appointment);
            INSERT INTO appointment_event
                SELECT * FROM jsonb_populate_record(NULL::appointment_event, p_event);
            INSERT INTO notification
                SELECT * FROM jsonb_populate_recordset(NULL::notification, p_notifications);
            INSERT INTO slot_capacity AS s
                (post_office_id, start, "end", capacity_minutes, booked_minutes, bookings, updated_at)
            VALUES (p_office, p_start, p_end, p_cap, p_cost, 1, p_now)
            ON CONFLICT (post_office_id, start) DO UPDATE SET
                booked_minutes = s.booked_minutes + p_cost,
                bookings = s.bookings + 1,
                capacity_minutes = p_cap,
                updated_at = p_now
            WHERE s.booked_minutes + p_cost <= p_cap;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'window full' USING ERRCODE = 'HB409';
            END IF;
            o_outcome := 'created';
        END
        $$
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
