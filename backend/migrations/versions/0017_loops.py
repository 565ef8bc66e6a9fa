"""loops: closing loops: supplements on a dossier, returns of refused/withdrawn papers, return booking (issue 20)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 00:50:00

Reserved in the chain at the start of the session so that parallel work keeps one head; filled in by the
work it names: ``return_offer``, the offer of delivery windows for a result or returned papers waiting at the
desk for a citizen who chose postal return (schemas/returns.py). The supplement's new status
(``supplement_in_transit``) is a value of a plain string column: no schema change.
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at() -> advanced_alchemy.types.datetime.DateTimeUTC:
    return advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def _str(n: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=n)


def upgrade() -> None:
    op.create_table(
        "return_offer",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dossier_id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("status", _str(20), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("address", _str(300), nullable=True),
        sa.Column("offered_at", _at(), nullable=False),
        sa.Column("answer_by", _at(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=True),
        sa.Column("decided_at", _at(), nullable=True),
        sa.Column("lease_until", _at(), nullable=True),
        sa.Column("leased_by", _str(64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointment.id"]),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"]),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("return_offer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_return_offer_answer_by"), ["answer_by"], unique=False)
        batch_op.create_index(batch_op.f("ix_return_offer_citizen_id"), ["citizen_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_return_offer_dossier_id"), ["dossier_id"], unique=True)
        batch_op.create_index(batch_op.f("ix_return_offer_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("return_offer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_return_offer_status"))
        batch_op.drop_index(batch_op.f("ix_return_offer_dossier_id"))
        batch_op.drop_index(batch_op.f("ix_return_offer_citizen_id"))
        batch_op.drop_index(batch_op.f("ix_return_offer_answer_by"))
    op.drop_table("return_offer")
