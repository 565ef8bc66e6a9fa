"""group commit of bookings (PostgreSQL): the function ``hoso_book_many``

Bookings that reach one web process while its previous call is in flight go to the database together, in one
statement and one commit (``backend/booking/pgbatch.py``). On a loaded 2-core host a round trip costs the web
process far more CPU than the database's work for a booking, so sharing it is what lets bookings keep up.

Each item is one ``hoso_book`` call (migration 0003) with its own arguments, inside its own exception block:
a full window (SQLSTATE ``HB409``) rolls back that item only, the key's claim included, and reports ``full``;
the others commit. Items are taken in (post office, window start) order, so two concurrent calls lock ledger
rows in the same order and never wait on each other in a cycle. Any other error fails the whole statement
(nothing is written) and the caller retries the items one by one.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 14:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
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
                        it.item -> 'appointment', it.item -> 'event', it.item -> 'notifications') AS b;
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
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS hoso_book_many(jsonb)")
