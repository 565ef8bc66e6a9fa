"""dues_at_booking: ``hoso_book`` writes a booking's ledger rows too; an office's closed day (issue 21)

A visit's due (and the exemption its quote applied) is now written in the booking's own transaction
(``backend/money/booking_money.py``). On PostgreSQL the booking is one call of ``hoso_book`` (migration 0003,
``backend/booking/pgbook.py``), or one item of ``hoso_book_many`` (0004, ``pgbatch.py``) on a connection of
its own, so the rows go in as a new last argument ``p_extra``: ``[{"table": name, "rows": [...]}, ...]``, each
row a JSON object read with the table's row type (as the appointment's). Only ``ledger_txn`` and
``ledger_line`` are accepted (anything else raises: fail closed), inserted in the order given, after the
appointment and before the window's ledger row, so a window found full rolls them back with the rest; a
replayed key writes none. Both functions are recreated with the new signature (a function's arguments cannot
be changed in place); the downgrade restores those of 0003/0004.

Revision ID: 0024
Revises: 0025
Create Date: 2026-12-06 02:20:00

(Chained after 0025, the head when this was written: 0025 had been created before this reserved number.)
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0024"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "hoso_book(uuid, text, text, uuid, timestamptz, timestamptz, integer, integer, timestamptz, jsonb, jsonb, jsonb)"
NEW = OLD[:-1] + ", jsonb)"

_HEAD = """
CREATE FUNCTION hoso_book(
    p_caller uuid, p_key text, p_hash text,
    p_office uuid, p_start timestamptz, p_end timestamptz, p_cap integer, p_cost integer,
    p_now timestamptz, p_appointment jsonb, p_event jsonb, p_notifications jsonb{extra_arg},
    OUT o_outcome text, OUT o_appointment uuid, OUT o_hash text
) LANGUAGE plpgsql AS $$
{declare}BEGIN
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
            SELECT i.appointment_id, i.request_hash INTO o_appointment, o_hash
            FROM booking_idempotency i WHERE i.caller_id = p_caller AND i.key = p_key;
            o_outcome := 'replay';
            RETURN;
        END IF;
    END IF;
    INSERT INTO appointment SELECT * FROM jsonb_populate_record(NULL::appointment, p_appointment);
    INSERT INTO appointment_event
        SELECT * FROM jsonb_populate_record(NULL::appointment_event, p_event);
    INSERT INTO notification
        SELECT * FROM jsonb_populate_recordset(NULL::notification, p_notifications);
{extra_body}    INSERT INTO slot_capacity AS s
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

_EXTRA = """    FOR x IN SELECT e FROM jsonb_array_elements(COALESCE(p_extra, '[]'::jsonb)) AS e LOOP
        IF x ->> 'table' = 'ledger_txn' THEN
            INSERT INTO ledger_txn SELECT * FROM jsonb_populate_recordset(NULL::ledger_txn, x -> 'rows');
        ELSIF x ->> 'table' = 'ledger_line' THEN
            INSERT INTO ledger_line SELECT * FROM jsonb_populate_recordset(NULL::ledger_line, x -> 'rows');
        ELSE
            RAISE EXCEPTION 'hoso_book: no rows of table % are written with a booking', x ->> 'table';
        END IF;
    END LOOP;
"""

_MANY = """
CREATE FUNCTION hoso_book_many(p_items jsonb)
RETURNS TABLE (o_index integer, o_outcome text, o_appointment uuid, o_hash text)
LANGUAGE plpgsql AS $$
DECLARE
    it record;
BEGIN
    FOR it IN
        SELECT (e.ord - 1)::integer AS idx, e.item
        FROM jsonb_array_elements(p_items) WITH ORDINALITY AS e(item, ord)
        ORDER BY e.item ->> 'office', (e.item ->> 'start')::timestamptz, e.ord
    LOOP
        o_index := it.idx;
        BEGIN
            SELECT b.o_outcome, b.o_appointment, b.o_hash INTO o_outcome, o_appointment, o_hash
            FROM hoso_book(
                (it.item ->> 'caller')::uuid, it.item ->> 'key', it.item ->> 'hash',
                (it.item ->> 'office')::uuid, (it.item ->> 'start')::timestamptz,
                (it.item ->> 'end')::timestamptz, (it.item ->> 'cap')::integer,
                (it.item ->> 'cost')::integer, (it.item ->> 'now')::timestamptz,
                it.item -> 'appointment', it.item -> 'event', it.item -> 'notifications'{extra_item}) AS b;
        EXCEPTION WHEN SQLSTATE 'HB409' THEN
            o_outcome := 'full';
            o_appointment := NULL;
            o_hash := NULL;
        END;
        RETURN NEXT;
    END LOOP;
END
$$
"""


def _book(with_extra: bool) -> str:
    if not with_extra:
        return _HEAD.format(extra_arg="", declare="", extra_body="")
    return _HEAD.format(extra_arg=", p_extra jsonb", declare="DECLARE\n    x jsonb;\n", extra_body=_EXTRA)


def upgrade() -> None:
    # An office's closed day (schemas/money.py ``OfficeDayClose``), the same issue's gap: the close stored.
    op.create_table(
        "office_day_close",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("office_code", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("closed_by", sa.Uuid(), nullable=False),
        sa.Column("closed_by_role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("closed_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("place", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("office_cash_vnd", sa.BigInteger(), nullable=False),
        sa.Column("couriers", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["closed_by"], ["staff_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("office_code", "day", name="uq_office_day_close"),
    )
    # The scheduled money jobs' lease (schemas/money.py ``MoneyLease``, backend/money/scheduler.py).
    op.create_table(
        "money_lease",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("holder", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("until", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("last_run", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS hoso_book_many(jsonb)")
    op.execute(f"DROP FUNCTION IF EXISTS {OLD}")
    op.execute(_book(True))
    op.execute(_MANY.format(extra_item=", it.item -> 'extra'"))


def downgrade() -> None:
    op.drop_table("money_lease")
    op.drop_table("office_day_close")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS hoso_book_many(jsonb)")
    op.execute(f"DROP FUNCTION IF EXISTS {NEW}")
    op.execute(_book(False))
    op.execute(_MANY.format(extra_item=""))
