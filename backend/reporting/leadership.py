"""Province leadership's view of form II.06a (issue 23): the form by commune, post office, agency, procedure,
field or month, listing every unit of the province, those that had no dossier too (the provincial reports say
"66/129 xã … chưa phát sinh hồ sơ").

Who: a ``leadership`` account reads its own province only, the province of its organisation (the provincial
People's Committee, UBND tỉnh); another ``province`` is 403. Admins name any province. Read-only: the role is
refused by every operation that does not name it (``backend.lib.auth.requires``).

The counts are form II.06a's, with the same SQL (``query.count_columns``; ``definitions.py`` says what each
column counts) over the province's dossiers (those whose desk or deciding agency is in the province). A unit is:

* ``commune``: the commune of the dossier's desk (a commune's one-stop centre is in its commune; the provincial
  centre's dossiers fall in the ward where it sits), else of its deciding agency (imports may lack a desk).
  Every commune of the province (the catalogue's 2025 units) is listed;
* ``post_office``: the post office that carried the dossier (every post office of the province is listed;
  dossiers that never went through the post are the row ``none``);
* ``agency``: the deciding agency (every agency of the province); ``procedure`` (every procedure of the
  catalogue); ``field`` (every field); ``month``: the period cut at month ends, each month its own form (so
  carried-over dossiers chain from month to month), all months in one query (``counts_by_month``).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal
from backend.lib.problems import Problem, forbidden, not_found
from backend.reporting.definitions import COUNT_FIELDS, Counts, Period
from backend.reporting.query import Scope, Terms, base_where, count_columns
from backend.reporting.services import ReportRow
from schemas.base import utcnow
from schemas.catalogue import Procedure
from schemas.dossiers import Dossier
from schemas.enums import OrgKind, Role
from schemas.leadership import UnitGroup
from schemas.orgs import Organisation
from schemas.units import Commune, Province

NONE_KEY = "none"
NONE_NAME = {
    UnitGroup.commune: "Không rõ xã / Commune unknown",
    UnitGroup.post_office: "Không qua bưu điện / Not through the post",
    UnitGroup.agency: "Không rõ cơ quan / Agency unknown",
    UnitGroup.procedure: "Không rõ thủ tục / Procedure unknown",
    UnitGroup.field: "Không rõ lĩnh vực / Field unknown",
}


@dataclass(frozen=True)
class ProvinceScope:
    code: str
    name: str

    @property
    def scope(self) -> Scope:
        return Scope(kind="province", code=self.code, name=self.name)


async def province_scope(session: AsyncSession, principal: Principal, province: str | None) -> ProvinceScope:
    """Leadership: its organisation's province (another is 403); admins: the ``province`` named (422 without)."""
    if principal.role == Role.leadership:
        own = await session.get(Organisation, principal.org_id) if principal.org_id else None
        if own is None:
            raise forbidden("Tài khoản chưa gắn với tỉnh / The account belongs to no province")
        if province is not None and province != own.province_code:
            raise forbidden(
                "Chỉ được xem báo cáo của tỉnh mình / You may only see your own province's reports"
            )
        province = own.province_code
    elif principal.role != Role.admin:
        raise forbidden("Chỉ lãnh đạo tỉnh và quản trị / Province leadership and admins only")
    if province is None:
        raise Problem(422, "Cần mã tỉnh (province) / 'province' is required", code="province_required")
    found = await session.get(Province, province)
    if found is None:
        raise not_found("tỉnh / province", province)
    return ProvinceScope(code=found.code, name=found.name)


@dataclass
class UnitResult:
    period: Period
    province: ProvinceScope
    group_by: UnitGroup
    as_of: datetime
    generated_at: datetime
    rows: list[ReportRow]

    @property
    def total(self) -> ReportRow:
        total = Counts()
        for row in self.rows:
            total = total + row.counts
        return ReportRow(group="total", name="Tổng cộng / Total", counts=total)

    @property
    def units(self) -> list[ReportRow]:
        return [r for r in self.rows if r.group != NONE_KEY]

    @property
    def without_dossiers(self) -> list[ReportRow]:
        return [r for r in self.units if r.counts.received_total == 0]

    @property
    def without_postal(self) -> list[ReportRow]:
        return [r for r in self.units if r.counts.postal_pickup == 0]


def _group_key(group_by: UnitGroup) -> tuple[Any, Any]:
    """(FROM clause, key expression) of a grouping; the key is '' when the dossier has none."""
    desk, agency, office = aliased(Organisation), aliased(Organisation), aliased(Organisation)
    frm: Any = sa.join(Dossier, Procedure, col(Dossier.procedure_id) == col(Procedure.id))
    if group_by is UnitGroup.commune:
        frm = frm.outerjoin(desk, col(Dossier.desk_id) == desk.id).outerjoin(
            agency, col(Dossier.agency_id) == agency.id
        )
        return frm, sa.func.coalesce(desk.commune_code, agency.commune_code, "")
    if group_by is UnitGroup.post_office:
        frm = frm.outerjoin(office, col(Dossier.post_office_id) == office.id)
        return frm, sa.func.coalesce(office.code, "")
    if group_by is UnitGroup.agency:
        frm = frm.outerjoin(agency, col(Dossier.agency_id) == agency.id)
        return frm, sa.func.coalesce(agency.code, "")
    if group_by is UnitGroup.procedure:
        return frm, col(Procedure.code)
    return frm, sa.func.coalesce(col(Procedure.field), "")


async def counts_by(
    session: AsyncSession, period: Period, scope: Scope, group_by: UnitGroup, as_of: datetime
) -> dict[str, Counts]:
    """Form II.06a's counts per unit key ('' for none) in one aggregate query."""
    terms = Terms(period)
    frm, key = _group_key(group_by)
    stmt = (
        sa.select(key.label("unit"), *count_columns(terms, as_of))
        .select_from(frm)
        .where(*base_where(terms, scope))
        .group_by(key)
    )
    out: dict[str, Counts] = {}
    for r in (await session.execute(stmt)).all():
        out[str(r.unit)] = Counts(**{n: int(r._mapping[n]) for n in COUNT_FIELDS})
    return out


def _month_table(pieces: list[Period], now: datetime) -> Any:
    """The pieces as rows (piece number, start, end, as-of instant): a UNION ALL of one-row SELECTs, which
    SQLite and PostgreSQL both read (SQLite has no VALUES with column names in FROM)."""
    ts = DateTimeUTC(timezone=True)
    rows = [
        sa.select(
            sa.literal(i, sa.Integer).label("piece"),
            sa.literal(p.start, ts).label("start"),
            sa.literal(p.end, ts).label("end"),
            sa.literal(p.as_of(now), ts).label("as_of"),
        )
        for i, p in enumerate(pieces)
    ]
    return (sa.union_all(*rows) if len(rows) > 1 else rows[0]).subquery("month")


async def counts_by_month(
    session: AsyncSession, period: Period, scope: Scope, now: datetime
) -> list[tuple[Period, Counts]]:
    """Form II.06a of each month of ``period`` (``months``; each judged at its own as-of instant) in one
    aggregate query: the dossiers joined with a table of the months, a dossier with every month whose report
    it is in (received by its end, not resolved before its start), grouped by month. The same numbers as
    ``counts_by`` over each month, one query instead of one a month."""
    pieces = months(period)
    month = _month_table(pieces, now)
    whole, each = Terms(period), Terms(start=month.c.start, end=month.c.end)
    frm = sa.join(Dossier, Procedure, col(Dossier.procedure_id) == col(Procedure.id)).join(
        month, each.in_report()
    )
    stmt = (
        sa.select(month.c.piece, *count_columns(each, month.c.as_of))
        .select_from(frm)
        .where(*base_where(whole, scope))  # the whole period first: what no month can hold is left at once
        .group_by(month.c.piece)
    )
    got = {
        int(r.piece): Counts(**{n: int(r._mapping[n]) for n in COUNT_FIELDS})
        for r in (await session.execute(stmt)).all()
    }
    return [(piece, got.get(i, Counts())) for i, piece in enumerate(pieces)]


async def units_of(session: AsyncSession, province: str, group_by: UnitGroup) -> list[tuple[str, str]]:
    """Every unit of the province for a grouping, (key, name) in key order: the rows listed even when empty."""
    if group_by is UnitGroup.commune:
        rows = await session.exec(
            select(Commune.code, Commune.name).where(Commune.province_code == province).order_by(Commune.code)
        )
        return [(c, n) for c, n in rows.all()]
    if group_by in (UnitGroup.post_office, UnitGroup.agency):
        kind = OrgKind.post_office if group_by is UnitGroup.post_office else OrgKind.agency
        orgs = await session.exec(
            select(Organisation.code, Organisation.name)
            .where(Organisation.province_code == province, Organisation.kind == kind)
            .order_by(col(Organisation.code))
        )
        return [(c, n) for c, n in orgs.all()]
    if group_by is UnitGroup.procedure:
        procs = await session.exec(select(Procedure.code, Procedure.name).order_by(col(Procedure.code)))
        return [(c, n) for c, n in procs.all()]
    fields = await session.exec(select(Procedure.field).distinct().order_by(col(Procedure.field)))
    return [(f, f) for f in fields.all() if f]


def months(period: Period) -> list[Period]:
    """The period cut at month ends (the first and last pieces may be partial months)."""
    out, first = [], period.first
    while first <= period.last:
        nxt = (first.replace(day=1) + timedelta(days=32)).replace(day=1)
        out.append(Period(first, min(period.last, nxt - timedelta(days=1))))
        first = nxt
    return out


async def unit_report(
    session: AsyncSession,
    period: Period,
    province: ProvinceScope,
    group_by: UnitGroup,
    *,
    now: datetime | None = None,
) -> UnitResult:
    generated = utcnow()
    as_of = period.as_of(now or generated)
    rows: list[ReportRow] = []
    if group_by is UnitGroup.month:
        for piece, counts in await counts_by_month(session, period, province.scope, now or generated):
            rows.append(
                ReportRow(group=piece.first.strftime("%Y-%m"), name=_month_name(piece), counts=counts)
            )
        return UnitResult(period, province, group_by, as_of, generated, rows)
    got = await counts_by(session, period, province.scope, group_by, as_of)
    for key, name in await units_of(session, province.code, group_by):
        rows.append(ReportRow(group=key, name=name, counts=got.pop(key, Counts())))
    # dossiers of the province whose unit lies elsewhere (a desk in another province) keep their own key
    for key, counts in sorted(got.items()):
        rows.append(ReportRow(group=key or NONE_KEY, name=key or NONE_NAME[group_by], counts=counts))
    return UnitResult(period, province, group_by, as_of, generated, rows)


def _month_name(piece: Period) -> str:
    return f"Tháng {piece.first.month}/{piece.first.year} / {piece.first.strftime('%B %Y')}"
