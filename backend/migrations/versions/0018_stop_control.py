"""stop_control: dispatcher control of stops: moves, order, pins; one visit per household (issue 20)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 00:50:00

``plan_route.version`` moves with every change a dispatcher makes to the route (the couriers' app compares
it); ``plan_stop.pinned`` keeps a stop with its courier and in its order through a re-plan;
``plan_stop.visit_key`` groups the items served at one household visit; ``plan_event`` records each
dispatcher change (who, when, from where, before and after). Existing rows: version 1, not pinned, one item.
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:  # type: ignore[type-arg]
    return (
        sa.JSON()
        .with_variant(postgresql.JSONB(astext_type=Text()), "cockroachdb")
        .with_variant(advanced_alchemy.types.json.ORA_JSONB(), "oracle")
        .with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
    )


def upgrade() -> None:
    with op.batch_alter_table("plan_route", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("plan_stop", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pinned", sa.Boolean(), nullable=False, server_default=sa.text("false"))
        )
        batch_op.add_column(
            sa.Column("visit_key", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True)
        )
    op.create_table(
        "plan_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("stop_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("actor_role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("client_ip", sqlmodel.sql.sqltypes.AutoString(length=45), nullable=True),
        sa.Column("before", _json(), nullable=False),
        sa.Column("after", _json(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"]),
        sa.ForeignKeyConstraint(["stop_id"], ["plan_stop.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("plan_event", schema=None) as batch_op:
        batch_op.create_index("ix_plan_event_plan_at", ["plan_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("plan_event", schema=None) as batch_op:
        batch_op.drop_index("ix_plan_event_plan_at")
    op.drop_table("plan_event")
    with op.batch_alter_table("plan_stop", schema=None) as batch_op:
        batch_op.drop_column("visit_key")
        batch_op.drop_column("pinned")
    with op.batch_alter_table("plan_route", schema=None) as batch_op:
        batch_op.drop_column("version")
