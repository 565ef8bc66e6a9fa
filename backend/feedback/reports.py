"""Reports of ratings (mean score per SIPAS criterion by courier, post office or desk and month of the visit)
and of complaints (by category, responsible organisation and month filed: filed, answered, answered on time,
closed, open and overdue), as JSON or as CSV with a byte-order mark (Excel reads Vietnamese correctly), one
header line "Vietnamese / English", like form II.06a's export.

Scope: admins everything; province leadership its province's (the ratings of its post offices and desks, the
complaints its organisations received or handle); a dispatcher their post office's; a desk clerk their desk's; an agency officer
(complaints only) those it is responsible for. Months are Vietnam time."""

import csv
import io
import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.feedback import rules
from backend.lib.auth import Principal
from backend.lib.problems import Problem
from schemas.accounts import StaffUser
from schemas.base import utcnow
from schemas.enums import Role
from schemas.feedback import (
    Complaint,
    ComplaintReport,
    ComplaintReportRow,
    ComplaintStatus,
    Rating,
    RatingReport,
    RatingReportRow,
)
from schemas.orgs import Organisation
from schemas.vntime import vn_date, vn_day_start

BOM = "\ufeff"
MAX_PERIOD_DAYS = 5 * 366


class RatingGroup(StrEnum):
    courier = "courier"
    post_office = "post_office"
    desk = "desk"


def period(first: date | None, last: date | None) -> tuple[date, date]:
    """Default: this month up to today (Vietnam time)."""
    last = last or vn_date(utcnow())
    first = first or last.replace(day=1)
    if last < first:
        raise Problem(422, "Ngày bắt đầu sau ngày kết thúc / 'from' is after 'to'", code="bad_period")
    if (last - first).days > MAX_PERIOD_DAYS:
        raise Problem(422, "Kỳ báo cáo tối đa 5 năm / A report covers at most five years", code="bad_period")
    return first, last


async def _province_orgs(session: AsyncSession, principal: Principal) -> Any:
    """Province leadership (issue 23): the organisations of its organisation's province (none without one)."""
    own = await session.get(Organisation, principal.org_id) if principal.org_id else None
    province = own.province_code if own is not None else None
    return select(col(Organisation.id)).where(col(Organisation.province_code) == province)


def _bounds(first: date, last: date) -> tuple[datetime, datetime]:
    return vn_day_start(first), vn_day_start(last + timedelta(days=1))


async def _names(
    session: AsyncSession, group: RatingGroup, ids: set[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str]]:
    if not ids:
        return {}
    if group is RatingGroup.courier:
        staff = (await session.execute(select(StaffUser).where(col(StaffUser.id).in_(ids)))).scalars()
        return {s.id: (s.username, s.full_name) for s in staff}
    orgs = (await session.execute(select(Organisation).where(col(Organisation.id).in_(ids)))).scalars()
    return {o.id: (o.code, o.name) for o in orgs}


async def ratings(
    session: AsyncSession, principal: Principal, first: date, last: date, group: RatingGroup
) -> RatingReport:
    start, end = _bounds(first, last)
    stmt = select(Rating).where(col(Rating.visit_at) >= start, col(Rating.visit_at) < end)
    if principal.role == Role.dispatcher:
        stmt = stmt.where(col(Rating.post_office_id) == principal.org_id)
    elif principal.role == Role.leadership:
        in_province = await _province_orgs(session, principal)
        stmt = stmt.where(
            or_(col(Rating.post_office_id).in_(in_province), col(Rating.desk_id).in_(in_province))
        )
    elif principal.role == Role.desk:
        stmt = stmt.where(col(Rating.desk_id) == principal.org_id)
    key_of = {
        RatingGroup.courier: lambda r: r.courier_id,
        RatingGroup.post_office: lambda r: r.post_office_id,
        RatingGroup.desk: lambda r: r.desk_id,
    }[group]
    sums: dict[tuple[uuid.UUID | None, str], rules.ScoreSums] = defaultdict(rules.ScoreSums)
    for r in (await session.execute(stmt)).scalars():
        sums[(key_of(r), rules.month_of(vn_date(r.visit_at)))].add(
            {"attitude": r.attitude, "timeliness": r.timeliness, "fees": r.fees, "result": r.result}
        )
    names = await _names(session, group, {k for k, _ in sums if k is not None})
    rows = []
    for (key, month), s in sums.items():
        code, name = (
            names.get(key, ("", "Không xác định / Unknown")) if key else ("", "Không xác định / Unknown")
        )
        rows.append(RatingReportRow(group=code, name=name, month=month, ratings=s.count, **s.means()))
    rows.sort(key=lambda r: (r.month, r.group))
    return RatingReport(first_day=first, last_day=last, group_by=group.value, rows=rows)


async def complaints(session: AsyncSession, principal: Principal, first: date, last: date) -> ComplaintReport:
    start, end = _bounds(first, last)
    stmt = select(Complaint).where(col(Complaint.created_at) >= start, col(Complaint.created_at) < end)
    if principal.role == Role.leadership:
        in_province = await _province_orgs(session, principal)
        stmt = stmt.where(
            or_(col(Complaint.org_id).in_(in_province), col(Complaint.received_by_id).in_(in_province))
        )
    elif principal.role != Role.admin:
        stmt = stmt.where(
            or_(col(Complaint.org_id) == principal.org_id, col(Complaint.received_by_id) == principal.org_id)
        )
    today = vn_date(utcnow())
    counts: dict[tuple[str, uuid.UUID | None, str], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(("filed", "answered", "answered_on_time", "closed", "open_overdue"), 0)
    )
    for c in (await session.execute(stmt)).scalars():
        row = counts[(c.category, c.org_id, rules.month_of(vn_date(c.created_at)))]
        row["filed"] += 1
        row["answered"] += c.answered_at is not None
        row["answered_on_time"] += bool(c.answered_on_time)
        row["closed"] += c.status == ComplaintStatus.closed
        row["open_overdue"] += rules.is_overdue(c.status, c.due_on, today)
    ids = {org for _, org, _ in counts if org is not None}
    orgs = {}
    if ids:
        orgs = {
            o.id: o
            for o in (
                await session.execute(select(Organisation).where(col(Organisation.id).in_(ids)))
            ).scalars()
        }
    rows = []
    for (category, org_id, month), n in counts.items():
        org = orgs.get(org_id) if org_id else None
        rows.append(
            ComplaintReportRow(
                category=category,
                org=org.code if org else "",
                org_name=org.name if org else "Chưa giao / Not assigned",
                month=month,
                **n,
            )
        )
    rows.sort(key=lambda r: (r.month, r.category, r.org))
    return ComplaintReport(first_day=first, last_day=last, rows=rows)


RATING_COLUMNS: tuple[tuple[str, str], ...] = (
    ("group", "Mã / Code"),
    ("name", "Tên / Name"),
    ("month", "Tháng / Month"),
    ("ratings", "Số lượt đánh giá / Ratings"),
    ("attitude", "Thái độ phục vụ / Attitude"),
    ("timeliness", "Thời gian / Time taken"),
    ("fees", "Phí, lệ phí / Fees"),
    ("result", "Kết quả / Result"),
    ("overall", "Chung / Overall"),
)
COMPLAINT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("category", "Loại / Category"),
    ("org", "Mã đơn vị / Organisation code"),
    ("org_name", "Đơn vị xử lý / Organisation"),
    ("month", "Tháng / Month"),
    ("filed", "Tiếp nhận / Filed"),
    ("answered", "Đã trả lời / Answered"),
    ("answered_on_time", "Trả lời đúng hạn / Answered on time"),
    ("closed", "Đã đóng / Closed"),
    ("open_overdue", "Quá hạn chưa trả lời / Overdue, not answered"),
)


def to_csv(rows: list[Any], columns: tuple[tuple[str, str], ...]) -> bytes:
    buf = io.StringIO()
    buf.write(BOM)
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header for _, header in columns)
    for row in rows:
        values = row.model_dump()
        writer.writerow("" if values[key] is None else str(values[key]) for key, _ in columns)
    return buf.getvalue().encode("utf-8")
