"""The dossier report (form II.06a): who may see what, then one aggregate query per report."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal
from backend.lib.problems import Problem, forbidden, not_found
from backend.reporting.definitions import (
    COUNT_FIELDS,
    FIRST_DAY,
    Counts,
    Period,
    rates,
)
from backend.reporting.query import GroupBy, Scope, Terms, report_statement
from schemas.base import utcnow
from schemas.enums import OrgKind, Role
from schemas.orgs import Organisation
from schemas.units import Province
from schemas.vntime import to_vn

MAX_PERIOD_DAYS = 366 * 5 + 1  # five years: enough for any filed report, bounded for the database


@dataclass
class ReportRow:
    group: str
    name: str
    counts: Counts

    def as_json(self) -> dict[str, Any]:
        return {"group": self.group, "name": self.name, **self.counts.as_dict(), **_derived(self.counts)}


@dataclass
class Report:
    period: Period
    scope: Scope
    group_by: GroupBy
    as_of: datetime
    rows: list[ReportRow]
    generated_at: datetime

    @property
    def total(self) -> ReportRow:
        total = Counts()
        for row in self.rows:
            total = total + row.counts
        return ReportRow(group="total", name="Tổng cộng / Total", counts=total)

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.period.first.isoformat(),
            "to": self.period.last.isoformat(),
            "org": self.scope.code,
            "org_name": self.scope.name,
            "scope": self.scope.kind,
            "group_by": self.group_by.value,
            "as_of": to_vn(self.as_of).isoformat(),
            "generated_at": self.generated_at.isoformat(),
            "rows": [r.as_json() for r in self.rows],
            "total": self.total.as_json(),
        }


def _derived(c: Counts) -> dict[str, Any]:
    return {"received_new": c.received_new, **rates(c)}


def make_period(first: date | None, last: date | None, today: date) -> Period:
    """Default: the current month up to today (what a desk looks at mid-month)."""
    last = last or today
    first = first or last.replace(day=1)
    if last < first:
        raise Problem(422, "Ngày bắt đầu sau ngày kết thúc / 'from' is after 'to'", code="bad_period")
    if (last - first).days > MAX_PERIOD_DAYS:
        raise Problem(422, "Kỳ báo cáo tối đa 5 năm / A report covers at most five years", code="bad_period")
    if first < FIRST_DAY:
        raise Problem(422, "Kỳ báo cáo từ năm 1976 / Periods start in 1976 or later", code="bad_period")
    return Period(first, last)


async def resolve_scope(session: AsyncSession, principal: Principal, org: str | None) -> Scope:
    """Desks and agencies see their own organisation only; admins any organisation, a province, or all."""
    if principal.role != Role.admin:
        own = await session.get(Organisation, principal.org_id) if principal.org_id else None
        if own is None:
            raise forbidden("Tài khoản chưa gắn với tổ chức / The account has no organisation")
        if org is not None and org != own.code:
            raise forbidden(
                "Chỉ được xem báo cáo của đơn vị mình / You may only see your own organisation's report"
            )
        return _org_scope(own)
    if org is None:
        return Scope(kind="all", name="Toàn bộ / All")
    found = (await session.exec(select(Organisation).where(col(Organisation.code) == org))).one_or_none()
    if found is not None:
        return _org_scope(found)
    province = await session.get(Province, org)
    if province is not None:
        return Scope(kind="province", code=province.code, name=province.name)
    raise not_found("tổ chức hoặc tỉnh / organisation or province", org)


def _org_scope(org: Organisation) -> Scope:
    kind = {OrgKind.desk: "desk", OrgKind.agency: "agency", OrgKind.post_office: "post_office"}[
        OrgKind(org.kind)
    ]
    return Scope(kind=kind, code=org.code, name=org.name, org_id=org.id)


async def dossier_report(
    session: AsyncSession,
    period: Period,
    scope: Scope,
    group_by: GroupBy = GroupBy.field,
    *,
    now: datetime | None = None,
) -> Report:
    """``now`` decides the as-of instant of a period still running (tests pass it; default the clock)."""
    generated = utcnow()
    as_of = period.as_of(now or generated)
    stmt = report_statement(Terms(period), scope, group_by, as_of)
    rows = []
    for r in (await session.execute(stmt)).all():
        counts = Counts(**{name: int(r._mapping[name]) for name in COUNT_FIELDS})
        rows.append(ReportRow(group=str(r.group_key), name=str(r.group_name), counts=counts))
    return Report(period, scope, group_by, as_of, rows, generated)
