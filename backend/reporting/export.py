"""The report as a CSV file for spreadsheets: UTF-8 with a byte-order mark (so Excel reads Vietnamese
correctly), one header line "Vietnamese / English", the rows, then the total row."""

import csv
import io
from typing import Any

from backend.reporting.services import Report

BOM = "\ufeff"

# (JSON key, header). The order is form II.06a's column order, then the postal counts and the rates.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("group", "Nhóm / Group"),
    ("name", "Tên / Name"),
    ("received_total", "Tổng số hồ sơ nhận giải quyết / Received total"),
    ("received_online", "Trong kỳ: trực tuyến / New: online"),
    ("received_direct_postal", "Trong kỳ: trực tiếp và bưu chính / New: direct and postal"),
    ("carried_over", "Từ kỳ trước chuyển qua / Carried over"),
    ("resolved_total", "Đã giải quyết: tổng số / Resolved: total"),
    ("resolved_early", "Đã giải quyết: trước hạn / Resolved: early"),
    ("resolved_on_time", "Đã giải quyết: đúng hạn / Resolved: on time"),
    ("resolved_late", "Đã giải quyết: quá hạn / Resolved: late"),
    ("in_progress_total", "Đang giải quyết: tổng số / In progress: total"),
    ("in_progress_within", "Đang giải quyết: trong hạn / In progress: within deadline"),
    ("in_progress_overdue", "Đang giải quyết: quá hạn / In progress: overdue"),
    ("postal_pickup", "Tiếp nhận qua bưu chính / Received by post"),
    ("postal_home_pickup", "Thu gom tại nhà / Picked up at home"),
    ("postal_return", "Trả kết quả qua bưu chính / Results returned by post"),
    ("withdrawn", "Rút hồ sơ (không tính) / Withdrawn (not counted)"),
    ("received_new", "Tiếp nhận mới trong kỳ / New in the period"),
    ("on_time_rate", "Tỷ lệ đúng và trước hạn (%) / On-time rate (%)"),
    ("online_share", "Tỷ lệ trực tuyến (%) / Online share (%)"),
    ("postal_share", "Tỷ lệ qua bưu chính (%) / Postal share (%)"),
)
TEXT_KEYS = frozenset({"group", "name"})
RATE_KEYS = frozenset({"on_time_rate", "online_share", "postal_share"})


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def to_csv(report: Report) -> bytes:
    buf = io.StringIO()
    buf.write(BOM)
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header for _, header in COLUMNS)
    for row in [*(r.as_json() for r in report.rows), report.total.as_json()]:
        writer.writerow(_cell(row[key]) for key, _ in COLUMNS)
    return buf.getvalue().encode("utf-8")


def read_csv(data: bytes) -> list[dict[str, Any]]:
    """Parse a file written by ``to_csv`` back into JSON-like rows (numbers as int/float, blanks as None)."""
    text = data.decode("utf-8-sig")
    by_header = {header: key for key, header in COLUMNS}
    rows = []
    for raw in csv.DictReader(io.StringIO(text)):
        row: dict[str, Any] = {}
        for header, value in raw.items():
            key = by_header[header]
            if key in TEXT_KEYS:
                row[key] = value
            elif key in RATE_KEYS:
                row[key] = float(value) if value else None
            else:
                row[key] = int(value)
        rows.append(row)
    return rows


def filename(report: Report) -> str:
    org = (report.scope.code or "all").replace('"', "")
    return f"bao-cao-II06a_{org}_{report.period.first.isoformat()}_{report.period.last.isoformat()}.csv"
