"""The province leadership's reports as CSV (UTF-8 with a byte-order mark, one header line "Vietnamese /
English", like form II.06a's ``export.py``), and their answer models."""

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from backend.reporting import export
from backend.reporting.leadership import UnitResult
from backend.reporting.legs_store import LegsResult
from backend.reporting.scorecards import ScorecardResult
from schemas.leadership import (
    ClockShare,
    LegsReport,
    LegStats,
    ScorecardReport,
    ScorecardRow,
    SlowHandover,
    UnitReport,
)
from schemas.reporting import ReportRow
from schemas.vntime import to_vn

LEG_COLUMNS = (
    ("leg", "Chặng / Leg"),
    ("name", "Tên / Name"),
    ("count", "Số lượt / Count"),
    ("median_working_hours", "Trung vị, giờ làm việc / Median, working hours"),
    ("p90_working_hours", "P90, giờ làm việc / P90, working hours"),
    ("median_hours", "Trung vị, giờ / Median, hours"),
    ("p90_hours", "P90, giờ / P90, hours"),
)
SLOW_COLUMNS = (
    ("item_id", "Mã hồ sơ / Item id"),
    ("leg", "Chặng / Leg"),
    ("from_unit", "Từ / From"),
    ("to_unit", "Đến / To"),
    ("started_at", "Bắt đầu / Started"),
    ("ended_at", "Kết thúc / Ended"),
    ("working_hours", "Giờ làm việc / Working hours"),
    ("hours", "Giờ / Hours"),
)
CARD_COLUMNS = (
    ("key", "Mã / Key"),
    ("name", "Tên / Name"),
    ("office", "Bưu cục / Post office"),
    ("visits", "Lượt đến nhà / Visits"),
    ("on_time", "Đúng hẹn / On time"),
    ("failed", "Không thành công / Failed"),
    ("on_time_rate", "Tỷ lệ đúng hẹn (%) / On-time rate (%)"),
    ("ratings", "Số đánh giá / Ratings"),
    ("rating_mean", "Điểm trung bình (1-5) / Mean score (1-5)"),
)


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _table(writer: Any, columns: Sequence[tuple[str, str]], rows: Iterable[dict[str, Any]]) -> None:
    writer.writerow(header for _, header in columns)
    for row in rows:
        writer.writerow(_cell(row[key]) for key, _ in columns)


def _csv(*tables: tuple[Sequence[tuple[str, str]], Iterable[dict[str, Any]]]) -> bytes:
    buf = io.StringIO()
    buf.write(export.BOM)
    writer = csv.writer(buf, lineterminator="\r\n")
    for i, (columns, rows) in enumerate(tables):
        if i:
            writer.writerow([])  # a blank line between two tables
        _table(writer, columns, rows)
    return buf.getvalue().encode("utf-8")


def units_csv(result: UnitResult) -> bytes:
    return _csv((export.COLUMNS, [*(r.as_json() for r in result.rows), result.total.as_json()]))


def legs_csv(result: LegsResult) -> bytes:
    slow = [
        {
            **lt.__dict__,
            "started_at": to_vn(lt.start).isoformat(),
            "ended_at": to_vn(lt.end).isoformat(),
            "working_hours": round(lt.working_hours, 2),
            "hours": round(lt.hours, 2),
        }
        for lt in result.slowest
    ]
    return _csv((LEG_COLUMNS, result.stats), (SLOW_COLUMNS, slow))


def cards_csv(result: ScorecardResult) -> bytes:
    return _csv((CARD_COLUMNS, [c.as_json() for c in result.cards]))


def filename(kind: str, province: str, first: Any, last: Any) -> str:
    return f"lanh-dao_{kind}_{province}_{first.isoformat()}_{last.isoformat()}.csv"


def units_model(result: UnitResult) -> UnitReport:
    return UnitReport(
        from_=result.period.first,
        to=result.period.last,
        province=result.province.code,
        province_name=result.province.name,
        group_by=result.group_by,
        as_of=result.as_of,
        generated_at=result.generated_at,
        rows=[ReportRow(**r.as_json()) for r in result.rows],
        total=ReportRow(**result.total.as_json()),
        units=len(result.units),
        units_without_dossiers=len(result.without_dossiers),
        units_without_postal=len(result.without_postal),
    )


def legs_model(result: LegsResult) -> LegsReport:
    return LegsReport(
        from_=result.period.first,
        to=result.period.last,
        province=result.province.code,
        province_name=result.province.name,
        generated_at=result.generated_at,
        legs=[LegStats(**s) for s in result.stats],  # type: ignore[arg-type]
        clock=ClockShare(**result.clock),  # type: ignore[arg-type]
        slowest=[
            SlowHandover(
                item_id=lt.item_id,
                leg=lt.leg,  # type: ignore[arg-type]
                started_at=lt.start,
                ended_at=lt.end,
                working_hours=round(lt.working_hours, 2),
                hours=round(lt.hours, 2),
                from_unit=lt.from_unit,
                to_unit=lt.to_unit,
            )
            for lt in result.slowest
        ],
    )


def cards_model(result: ScorecardResult) -> ScorecardReport:
    return ScorecardReport(
        from_=result.period.first,
        to=result.period.last,
        province=result.province.code,
        province_name=result.province.name,
        kind=result.kind,
        generated_at=result.generated_at,
        rows=[ScorecardRow(**c.as_json()) for c in result.cards],
    )
