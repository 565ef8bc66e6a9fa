"""account token versions and single-use stream tickets (issue 17: revocation, no tokens in URLs)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 19:15:00

``token_version`` on staff_user and citizen: every token carries the version it was issued under (claim
``ver``); bumping it revokes all the account's tokens. ``stream_ticket`` holds the SHA-256 of single-use,
60-second tickets that open a desk's live feed instead of a bearer token in the URL. On PostgreSQL a change of
a citizen's version is announced (``hoso_reference``, payload ``citizen:<id>``) so every process drops its
cached check at once; staff_user already announces every change (migration 0002).
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("staff_user", "citizen"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("token_version", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "stream_ticket",
        sa.Column("ticket_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column("desk_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["desk_id"], ["organisation.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["staff_user.id"]),
        sa.PrimaryKeyConstraint("ticket_hash"),
    )
    with op.batch_alter_table("stream_ticket", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stream_ticket_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_stream_ticket_user_id"), ["user_id"], unique=False)
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION hoso_citizen_token_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('hoso_reference', 'citizen:' || NEW.id::text);
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER citizen_token_notify AFTER UPDATE OF token_version ON citizen
        FOR EACH ROW WHEN (OLD.token_version IS DISTINCT FROM NEW.token_version)
        EXECUTE FUNCTION hoso_citizen_token_notify()
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS citizen_token_notify ON citizen")
        op.execute("DROP FUNCTION IF EXISTS hoso_citizen_token_notify()")
    with op.batch_alter_table("stream_ticket", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stream_ticket_user_id"))
        batch_op.drop_index(batch_op.f("ix_stream_ticket_expires_at"))
    op.drop_table("stream_ticket")
    for table in ("citizen", "staff_user"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("token_version")
