"""Form II.06a as one SQL aggregate: GROUP BY with SUM(CASE ...) per column.

Every condition here mirrors a rule of ``definitions.py`` (read that first); the tests compare the two on
random data. Vietnam dates are compared as day numbers (days since 1970-01-01 at UTC+7) so the same SQL runs on
SQLite and PostgreSQL; ``vn_day`` compiles to each dialect's date arithmetic.

Pauses need the working calendar, which lives in Python: the service first asks the database for the distinct
(due day, paused working days) pairs of the period, computes each pair's shift in calendar days with the
calendar, and passes them back as a small inline VALUES table joined on the pair.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import col, func

from backend.reporting.definitions import (
    COUNT_FIELDS,
    HOME_PICKUP,
    ONLINE,
    POSTAL_CHANNELS,
    VN_OFFSET_S,
    Period,
)
from schemas.catalogue import Procedure
from schemas.dossiers import Dossier
from schemas.orgs import Organisation


class GroupBy(StrEnum):
    field = "field"  # lĩnh vực
    procedure = "procedure"
    agency = "agency"


class vn_day(FunctionElement[int]):  # lower case: reads like the SQL function it renders
    """The Vietnam calendar day of a UTC timestamp, as days since 1970-01-01."""

    type = sa.Integer()
    inherit_cache = True
    name = "vn_day"


@compiles(vn_day)
def _vn_day_sqlite(element: vn_day, compiler: SQLCompiler, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"((CAST(strftime('%s', {arg}) AS INTEGER) + {VN_OFFSET_S}) / 86400)"


@compiles(vn_day, "postgresql")
def _vn_day_pg(element: vn_day, compiler: SQLCompiler, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"CAST(floor((EXTRACT(EPOCH FROM {arg}) + {VN_OFFSET_S}) / 86400) AS INTEGER)"


@dataclass(frozen=True)
class Scope:
    """Whose dossiers: one organisation (by its role in the dossier), a province, or everything (admins)."""

    kind: str  # desk | agency | post_office | province | all
    code: str | None = None
    name: str | None = None
    org_id: uuid.UUID | None = None


def scope_clause(scope: Scope) -> ColumnElement[bool] | None:
    if scope.kind == "desk":
        return col(Dossier.desk_id) == scope.org_id
    if scope.kind == "agency":
        return col(Dossier.agency_id) == scope.org_id
    if scope.kind == "post_office":
        return col(Dossier.post_office_id) == scope.org_id
    if scope.kind == "province":
        # A dossier belongs to the province of its desk or of its deciding agency (imports may lack a desk).
        in_province = sa.select(col(Organisation.id)).where(col(Organisation.province_code) == scope.code)
        return sa.or_(col(Dossier.desk_id).in_(in_province), col(Dossier.agency_id).in_(in_province))
    return None


class Terms:
    """The column expressions of one period, shared by the pair query and the aggregate."""

    def __init__(self, period: Period) -> None:
        ts = DateTimeUTC(timezone=True)
        self.start = sa.bindparam("period_start", period.start, type_=ts)
        self.end = sa.bindparam("period_end", period.end, type_=ts)
        self.received = col(Dossier.received_at)
        raw = func.coalesce(col(Dossier.resolved_at), col(Dossier.returned_at))
        # definitions.resolution_instant: a resolution before the receipt counts at the receipt
        self.res = sa.case((raw < self.received, self.received), else_=raw)

    def in_report(self) -> ColumnElement[bool]:
        """New in the period or still open at its start (definitions.classify's first two returns)."""
        return sa.and_(
            self.received.is_not(None),
            self.received < self.end,
            sa.or_(self.received >= self.start, self.res.is_(None), self.res >= self.start),
        )


def base_where(terms: Terms, scope: Scope) -> list[ColumnElement[bool]]:
    clauses = [terms.in_report()]
    extra = scope_clause(scope)
    if extra is not None:
        clauses.append(extra)
    return clauses


def pause_pairs_statement(terms: Terms, scope: Scope) -> sa.Select[Any]:
    """Distinct (due day, paused working days) of paused dossiers in the report."""
    return (
        sa.select(vn_day(col(Dossier.due_at)), col(Dossier.paused_working_days))
        .where(
            *base_where(terms, scope), col(Dossier.paused_working_days) > 0, col(Dossier.due_at).is_not(None)
        )
        .distinct()
    )


def _count(cond: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(sa.case((cond, 1), else_=0)), 0)


def report_statement(
    terms: Terms,
    scope: Scope,
    group_by: GroupBy,
    as_of_day: int,
    shifts: Sequence[tuple[int, int, int]],
) -> sa.Select[Any]:
    """One row per group: key, label, then the counts in ``definitions.COUNT_FIELDS`` order.

    ``shifts`` holds (due day, paused working days, calendar days to add) for every pair the pause query found.
    """
    d_channel = col(Dossier.channel)
    due_day: ColumnElement[int] = vn_day(col(Dossier.due_at))
    frm: Any = sa.join(Dossier, Procedure, col(Dossier.procedure_id) == col(Procedure.id))
    if shifts:
        table = sa.values(
            sa.column("due_day", sa.Integer),
            sa.column("paused", sa.Integer),
            sa.column("shift", sa.Integer),
            name="pause_shift",
            literal_binds=True,  # ints computed here, not user input; avoids parameter-count limits
        ).data(list(shifts))
        shift = table.cte("pause_shift")
        frm = frm.outerjoin(
            shift,
            sa.and_(shift.c.due_day == due_day, shift.c.paused == col(Dossier.paused_working_days)),
        )
        eff_due: ColumnElement[int] = due_day + func.coalesce(shift.c.shift, 0)
    else:
        eff_due = due_day

    new = terms.received >= terms.start
    resolved = sa.and_(terms.res.is_not(None), terms.res < terms.end)
    in_progress = sa.or_(terms.res.is_(None), terms.res >= terms.end)
    res_day = vn_day(terms.res)
    paused_now = sa.and_(col(Dossier.paused_at).is_not(None), col(Dossier.paused_at) < terms.end)
    as_of = sa.literal(as_of_day, sa.Integer)
    conditions: dict[str, ColumnElement[bool]] = {
        "received_total": sa.true(),
        "received_online": sa.and_(new, d_channel == ONLINE),
        "received_direct_postal": sa.and_(new, d_channel != ONLINE),
        "carried_over": terms.received < terms.start,
        "resolved_total": resolved,
        "resolved_early": sa.and_(resolved, res_day < eff_due),
        "resolved_on_time": sa.and_(resolved, sa.or_(eff_due.is_(None), res_day == eff_due)),
        "resolved_late": sa.and_(resolved, res_day > eff_due),
        "in_progress_total": in_progress,
        "in_progress_within": sa.and_(in_progress, sa.or_(eff_due.is_(None), eff_due >= as_of, paused_now)),
        "in_progress_overdue": sa.and_(in_progress, eff_due < as_of, sa.not_(paused_now)),
        "postal_pickup": sa.and_(
            new, sa.or_(d_channel.in_(sorted(POSTAL_CHANNELS)), col(Dossier.postal_pickup).is_(True))
        ),
        "postal_home_pickup": sa.and_(new, d_channel == HOME_PICKUP),
        "postal_return": sa.and_(resolved, col(Dossier.postal_return).is_(True)),
    }
    assert tuple(conditions) == COUNT_FIELDS  # the SQL and the definitions name the same columns
    key, label = _group_columns(group_by)
    if group_by is GroupBy.agency:
        agency = aliased(Organisation)
        frm = frm.outerjoin(agency, col(Dossier.agency_id) == agency.id)
        key, label = func.coalesce(agency.code, ""), func.coalesce(agency.name, "")
    counts = [_count(c).label(name) for name, c in conditions.items()]
    return (
        sa.select(key.label("group_key"), label.label("group_name"), *counts)
        .select_from(frm)
        .where(*base_where(terms, scope))
        .group_by(key, label)
        .order_by(key)
    )


def _group_columns(group_by: GroupBy) -> tuple[Any, Any]:
    if group_by is GroupBy.procedure:
        return col(Procedure.code), col(Procedure.name)
    return col(Procedure.field), col(Procedure.field)
