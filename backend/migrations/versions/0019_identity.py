"""identity: identity: national ids, authorised persons, counter verification (issue 20)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 00:50:00

Reserved in the chain at the start of the session so that parallel work keeps one head; filled in by the
work it names: a citizen's preferred language and who on the desk verified their national id at the counter
(``citizen``), and ``authorised_person``, the people a citizen authorises to hand over or receive papers for
them with the photo of the signed letter (schemas/identity.py). ``citizen.national_id`` exists since 0001.
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at() -> advanced_alchemy.types.datetime.DateTimeUTC:
    return advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def _str(n: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=n)


def upgrade() -> None:
    with op.batch_alter_table("citizen", schema=None) as batch_op:
        batch_op.add_column(sa.Column("preferred_language", _str(2), server_default="vi", nullable=False))
        batch_op.add_column(sa.Column("national_id_verified_at", _at(), nullable=True))
        batch_op.add_column(sa.Column("national_id_verified_by", sa.Uuid(), nullable=True))
    op.create_table(
        "authorised_person",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("full_name", _str(120), nullable=False),
        sa.Column("national_id", _str(12), nullable=False),
        sa.Column("relationship", _str(20), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("dossier_id", sa.Uuid(), nullable=True),
        sa.Column("letter_proof_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", _at(), nullable=False),
        sa.Column("revoked_at", _at(), nullable=True),
        sa.Column("revoked_by", sa.Uuid(), nullable=True),
        sa.Column("verified_at", _at(), nullable=True),
        sa.Column("verified_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"]),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"]),
        sa.ForeignKeyConstraint(["letter_proof_id"], ["proof_file.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("authorised_person", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_authorised_person_citizen_id"), ["citizen_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_authorised_person_dossier_id"), ["dossier_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("authorised_person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authorised_person_dossier_id"))
        batch_op.drop_index(batch_op.f("ix_authorised_person_citizen_id"))
    op.drop_table("authorised_person")
    with op.batch_alter_table("citizen", schema=None) as batch_op:
        batch_op.drop_column("national_id_verified_by")
        batch_op.drop_column("national_id_verified_at")
        batch_op.drop_column("preferred_language")
