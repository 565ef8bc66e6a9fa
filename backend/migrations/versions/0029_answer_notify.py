"""answer_notify: change notifications for the public read caches (issue 24)

``hoso_answers`` carries a tag of ``backend/lib/answer_cache.py``; each process drops the rendered answers
carrying it:

* ``dossier:<id>`` for every row of ``dossier`` and ``dossier_event`` inserted, updated or deleted (the public
  tracking of that dossier and of its result);
* ``table:<name>`` once per statement changing a table public reference reads are made from (procedures and
  their versions, eligibility and fees, organisations and the communes they serve, units, the calendar).

Triggers rather than NOTIFY from the code: every writer is covered (other processes, imports, psql). NOTIFY is
delivered at commit, never for a rolled-back change, and folds repeats of one payload in a transaction. SQLite
has no NOTIFY: nothing to do there (the cache keeps answers for a second and a half there).

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 04:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROW_TABLES = {"dossier": "id", "dossier_event": "dossier_id"}
REFERENCE_TABLES = (
    "procedure",
    "procedure_version",
    "procedure_eligibility",
    "procedure_fee",
    "organisation",
    "post_office_commune",
    "province",
    "commune",
    "calendar_override",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in ROW_TABLES.items():
        op.execute(
            f"""
            CREATE FUNCTION hoso_answers_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    PERFORM pg_notify('hoso_answers', 'dossier:' || OLD.{column}::text);
                ELSE
                    PERFORM pg_notify('hoso_answers', 'dossier:' || NEW.{column}::text);
                END IF;
                RETURN NULL;
            END
            $$
            """
        )
        op.execute(
            f"CREATE TRIGGER {table}_answers AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION hoso_answers_{table}()"
        )
    op.execute(
        """
        CREATE FUNCTION hoso_answers_table() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('hoso_answers', 'table:' || TG_TABLE_NAME);
            RETURN NULL;
        END
        $$
        """
    )
    for table in REFERENCE_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_answers AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION hoso_answers_table()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in REFERENCE_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_answers ON {table}")
    op.execute("DROP FUNCTION IF EXISTS hoso_answers_table()")
    for table in ROW_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_answers ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS hoso_answers_{table}()")
