"""webhooks: partner endpoints, their change records, the relay's cursors, deliveries and attempts (issue 19)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 23:20:00

Partner systems subscribe to dossier and appointment events (backend/partners). The relay reads
``appointment_event`` in (at, id) order, which had no index for it: ``ix_appointment_event_at_id``.
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[object]:
    return (
        sa.JSON()
        .with_variant(postgresql.JSONB(astext_type=Text()), "cockroachdb")
        .with_variant(advanced_alchemy.types.json.ORA_JSONB(), "oracle")
        .with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
    )


def _at() -> advanced_alchemy.types.datetime.DateTimeUTC:
    return advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def _str(n: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=n)


def upgrade() -> None:
    op.create_table(
        "webhook_endpoint",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("url", _str(500), nullable=False),
        sa.Column("kinds", _json(), nullable=False),
        sa.Column("description", _str(200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("secret", _str(100), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", _at(), nullable=False),
        sa.Column("updated_at", _at(), nullable=False),
        sa.Column("secret_rotated_at", _at(), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("webhook_endpoint", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_endpoint_org_id"), ["org_id"], unique=False)
    op.create_table(
        "webhook_endpoint_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("endpoint_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("code", _str(20), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("at", _at(), nullable=False),
        sa.Column("data", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("webhook_endpoint_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_endpoint_event_endpoint_id"), ["endpoint_id"], unique=False
        )
    op.create_table(
        "webhook_cursor",
        sa.Column("source", _str(40), nullable=False),
        sa.Column("last_at", _at(), nullable=False),
        sa.Column("last_id", sa.Uuid(), nullable=False),
        sa.Column("updated_at", _at(), nullable=False),
        sa.PrimaryKeyConstraint("source"),
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("endpoint_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("kind", _str(40), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _at(), nullable=False),
        sa.Column("claimed_by", _str(100), nullable=True),
        sa.Column("claimed_until", _at(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", _str(500), nullable=True),
        sa.Column("created_at", _at(), nullable=False),
        sa.Column("delivered_at", _at(), nullable=True),
        sa.ForeignKeyConstraint(["endpoint_id"], ["webhook_endpoint.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_delivery_event"),
    )
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_delivery_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(
            "ix_webhook_delivery_endpoint_created", ["endpoint_id", "created_at"], unique=False
        )
    op.create_table(
        "webhook_attempt",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", _at(), nullable=False),
        sa.Column("worker", _str(100), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", _str(500), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["webhook_delivery.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("webhook_attempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_attempt_delivery_id"), ["delivery_id"], unique=False)
    with op.batch_alter_table("appointment_event", schema=None) as batch_op:
        batch_op.create_index("ix_appointment_event_at_id", ["at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("appointment_event", schema=None) as batch_op:
        batch_op.drop_index("ix_appointment_event_at_id")
    op.drop_table("webhook_attempt")
    op.drop_table("webhook_delivery")
    op.drop_table("webhook_cursor")
    op.drop_table("webhook_endpoint_event")
    op.drop_table("webhook_endpoint")
