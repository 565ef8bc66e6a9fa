"""Form II.06a as one SQL aggregate: GROUP BY with SUM(CASE ...) per column.

Every condition here mirrors a rule of ``definitions.py`` (read that first); the tests compare the two on
random data. Vietnam dates are compared as day numbers (days since 1970-01-01 at UTC+7) so the same SQL runs on
SQLite and PostgreSQL; ``vn_day`` compiles to each dialect's date arithmetic.

Instants (received, resolved, due, the as-of instant) are compared as timestamps, so the indexes on them serve
the period filter.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
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
    WITHDRAWN,
    Period,
)
from schemas.catalogue import Procedure
from schemas.dossiers import Dossier
from schemas.orgs import Organisation
from schemas.reporting import GroupBy as GroupBy  # part of the report's answer, so it lives with it


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
    """The column expressions of one period, shared by the pair query and the aggregate. The period's bounds
    are parameters, or (``start``/``end``) columns: the months of ``leadership.counts_by_month``."""

    def __init__(self, period: Period | None = None, *, start: Any = None, end: Any = None) -> None:
        ts = DateTimeUTC(timezone=True)
        if period is not None:
            start = sa.bindparam("period_start", period.start, type_=ts)
            end = sa.bindparam("period_end", period.end, type_=ts)
        if start is None or end is None:
            raise TypeError("Terms needs a period, or its start and end")
        self.start, self.end = start, end
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


def _count(cond: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(sa.case((cond, 1), else_=0)), 0)


def count_columns(terms: Terms, as_of: datetime | ColumnElement[Any]) -> list[Any]:
    """The form's counts as labelled aggregate columns, in ``definitions.COUNT_FIELDS`` order (each rule of
    ``definitions.classify`` as a SUM(CASE ...)); the grouping is the caller's. ``as_of``: an instant, or a
    column of it (one per month in ``leadership.counts_by_month``)."""
    d_channel = col(Dossier.channel)
    due = col(Dossier.due_at)
    paused_at = col(Dossier.paused_at)
    counted = sa.or_(col(Dossier.outcome).is_(None), col(Dossier.outcome) != WITHDRAWN)
    new = sa.and_(counted, terms.received >= terms.start)
    resolved = sa.and_(counted, terms.res.is_not(None), terms.res < terms.end)
    in_progress = sa.and_(counted, sa.or_(terms.res.is_(None), terms.res >= terms.end))
    as_of_at = (
        sa.bindparam("as_of", as_of, type_=DateTimeUTC(timezone=True))
        if isinstance(as_of, datetime)
        else as_of
    )
    # definitions.overdue_at: a paused dossier is judged at the moment it was paused
    judged = sa.case((sa.and_(paused_at.is_not(None), paused_at < as_of_at), paused_at), else_=as_of_at)
    early = sa.and_(resolved, vn_day(terms.res) < vn_day(due))
    late = sa.and_(resolved, terms.res > due)
    conditions: dict[str, ColumnElement[bool]] = {
        "received_total": counted,
        "received_online": sa.and_(new, d_channel == ONLINE),
        "received_direct_postal": sa.and_(new, d_channel != ONLINE),
        "carried_over": sa.and_(counted, terms.received < terms.start),
        "resolved_total": resolved,
        "resolved_early": early,
        "resolved_on_time": sa.and_(
            resolved, sa.or_(due.is_(None), sa.and_(terms.res <= due, vn_day(terms.res) >= vn_day(due)))
        ),
        "resolved_late": late,
        "in_progress_total": in_progress,
        "in_progress_within": sa.and_(in_progress, sa.or_(due.is_(None), judged <= due)),
        "in_progress_overdue": sa.and_(in_progress, judged > due),
        "postal_pickup": sa.and_(
            new, sa.or_(d_channel.in_(sorted(POSTAL_CHANNELS)), col(Dossier.postal_pickup).is_(True))
        ),
        "postal_home_pickup": sa.and_(new, d_channel == HOME_PICKUP),
        "postal_return": sa.and_(resolved, col(Dossier.postal_return).is_(True)),
        "withdrawn": sa.not_(counted),
    }
    assert tuple(conditions) == COUNT_FIELDS  # the SQL and the definitions name the same columns
    return [_count(c).label(name) for name, c in conditions.items()]


def report_statement(terms: Terms, scope: Scope, group_by: GroupBy, as_of: datetime) -> sa.Select[Any]:
    """One row per group: key, label, then the counts in ``definitions.COUNT_FIELDS`` order."""
    frm: Any = sa.join(Dossier, Procedure, col(Dossier.procedure_id) == col(Procedure.id))
    key, label = _group_columns(group_by)
    if group_by is GroupBy.agency:
        agency = aliased(Organisation)
        frm = frm.outerjoin(agency, col(Dossier.agency_id) == agency.id)
        key, label = func.coalesce(agency.code, ""), func.coalesce(agency.name, "")
    counts = count_columns(terms, as_of)
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
