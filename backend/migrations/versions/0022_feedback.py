"""feedback: citizens' ratings of visits and their complaints (issue 23)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 01:50:00

``rating`` one row per rated visit (SIPAS criteria 1-5 and a comment); ``rating_invitation`` one per completed
visit whose citizen was invited to rate it; ``complaint`` one per complaint with its responsible organisation,
deadline and answer; ``feedback_event`` one per change of either (who, role, when, from where).
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[object]:
    return (
        sa.JSON()
        .with_variant(postgresql.JSONB(astext_type=Text()), "cockroachdb")
        .with_variant(advanced_alchemy.types.json.ORA_JSONB(), "oracle")
        .with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
    )


def _utc(name: str, nullable: bool) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=nullable)


def _str(name: str, length: int, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=nullable)


def _index(table: str, *columns: str, unique: bool = False) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_{'_'.join(columns)}"), list(columns), unique=unique)


def upgrade() -> None:
    op.create_table(
        "rating",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("post_office_id", sa.Uuid(), nullable=False),
        sa.Column("courier_id", sa.Uuid(), nullable=True),
        sa.Column("desk_id", sa.Uuid(), nullable=True),
        _utc("visit_at", False),
        sa.Column("attitude", sa.Integer(), nullable=False),
        sa.Column("timeliness", sa.Integer(), nullable=False),
        sa.Column("fees", sa.Integer(), nullable=False),
        sa.Column("result", sa.Integer(), nullable=False),
        _str("comment", 1000, True),
        sa.Column("version", sa.Integer(), nullable=False),
        _utc("created_at", False),
        _utc("updated_at", False),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointment.id"]),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"]),
        sa.ForeignKeyConstraint(["post_office_id"], ["organisation.id"]),
        sa.ForeignKeyConstraint(["courier_id"], ["staff_user.id"]),
        sa.ForeignKeyConstraint(["desk_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("appointment_id"),
    )
    _index("rating", "citizen_id")
    _index("rating", "courier_id")
    _index("rating", "desk_id")
    with op.batch_alter_table("rating", schema=None) as batch_op:
        batch_op.create_index("ix_rating_office_visit", ["post_office_id", "visit_at"], unique=False)
    op.create_table(
        "rating_invitation",
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        _utc("invited_at", False),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointment.id"]),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"]),
        sa.PrimaryKeyConstraint("appointment_id"),
    )
    op.create_table(
        "complaint",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        _str("subject", 20),
        _str("category", 30),
        _str("text", 2000),
        sa.Column("appointment_id", sa.Uuid(), nullable=True),
        _str("dossier_item_id", 13, True),
        sa.Column("courier_id", sa.Uuid(), nullable=True),
        sa.Column("received_by_id", sa.Uuid(), nullable=True),
        sa.Column("org_id", sa.Uuid(), nullable=True),
        _str("status", 12),
        sa.Column("deadline_days", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        _str("answer", 2000, True),
        _utc("answered_at", True),
        sa.Column("answered_on_time", sa.Boolean(), nullable=True),
        _utc("closed_at", True),
        sa.Column("reopened", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _utc("created_at", False),
        _utc("updated_at", False),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointment.id"]),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"]),
        sa.ForeignKeyConstraint(["courier_id"], ["staff_user.id"]),
        sa.ForeignKeyConstraint(["received_by_id"], ["organisation.id"]),
        sa.ForeignKeyConstraint(["org_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("citizen_id", "category", "received_by_id", "org_id", "status", "due_on", "created_at"):
        _index("complaint", column)
    op.create_table(
        "feedback_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        _str("kind", 10),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        _str("type", 20),
        _utc("at", False),
        _str("actor_role", 20),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        _str("client_ip", 45, True),
        sa.Column("data", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("feedback_event", schema=None) as batch_op:
        batch_op.create_index("ix_feedback_event_subject", ["subject_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_table("feedback_event")
    op.drop_table("complaint")
    op.drop_table("rating_invitation")
    op.drop_table("rating")
