"""One row of an import file (``backend.reporting.importer``; the columns are in its docstring) checked and
turned into ``Dossier`` column values, with the first reason a row cannot be stored, in Vietnamese and English.
"""

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from backend.catalogue.calendar import WorkingCalendar
from backend.custody.transitions import PORTAL_STATUS, Status
from backend.reporting.definitions import FIRST_DAY
from schemas.dossiers import POSTAL_CHANNELS, Channel, CustodianKind
from schemas.enums import OrgKind
from schemas.vntime import from_vn_wall, vn_date

OUTCOMES = frozenset({"approved", "refused", "withdrawn"})
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


@dataclass
class Lookups:
    procedures: dict[str, uuid.UUID]
    orgs: dict[str, tuple[uuid.UUID, str]]  # code -> (id, kind)
    existing: dict[tuple[str, uuid.UUID | None], str]  # (old code, agency id) -> item id
    calendar: WorkingCalendar
    default_desk: uuid.UUID | None = None
    default_agency: tuple[str, uuid.UUID] | None = None


class RowInvalid(ValueError):
    pass


def parse_instant(value: str, *, bare_date_at_close: WorkingCalendar | None = None) -> datetime:
    """An aware UTC instant from the formats in ``backend.reporting.importer``'s docstring."""
    m = _DMY.match(value)
    if m:
        d, mo, y, hh, mm, ss = m.groups()
        try:
            local = datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
        except ValueError as exc:
            raise RowInvalid(f"ngày giờ không tồn tại / no such date: {value!r}") from exc
        bare = hh is None
    else:
        try:
            local = datetime.fromisoformat(value)
        except ValueError as exc:
            raise RowInvalid(f"không đọc được ngày giờ / unreadable date-time: {value!r}") from exc
        bare = len(value) == 10
    if bare and bare_date_at_close is not None:
        return bare_date_at_close.end_of_day(local.date())
    # A cell without an offset is Vietnam wall-clock time (the offices' spreadsheets); one with an offset is kept.
    return from_vn_wall(local) if local.tzinfo is None else local.astimezone(UTC)


def _flag(row: dict[str, str], name: str) -> bool:
    value = row.get(name, "")
    if value not in {"0", "1"}:
        raise RowInvalid(f"{name} phải là 0 hoặc 1 / {name} must be 0 or 1, got {value!r}")
    return value == "1"


def _org(lookups: Lookups, code: str, kind: OrgKind, column: str) -> uuid.UUID:
    found = lookups.orgs.get(code)
    if found is None:
        raise RowInvalid(f"{column}: không có tổ chức mã {code!r} / no organisation with code {code!r}")
    if found[1] != kind.value:
        raise RowInvalid(f"{column}: {code!r} không phải {kind.value} / {code!r} is not a {kind.value}")
    return found[0]


def _channel(row: dict[str, str]) -> tuple[Channel, bool]:
    raw = row["channel"].lower()
    pickup = _flag(row, "postal_pickup")
    if raw == "postal":
        return (Channel.home_pickup if pickup else Channel.post_office), True
    try:
        channel = Channel(raw)
    except ValueError:
        raise RowInvalid(
            f"channel phải là direct, online hoặc postal / channel must be direct, online or postal: {raw!r}"
        ) from None
    if channel in POSTAL_CHANNELS:
        if pickup != (channel == Channel.home_pickup):
            raise RowInvalid("postal_pickup mâu thuẫn với channel / postal_pickup contradicts channel")
        return channel, True
    if pickup:
        raise RowInvalid(
            f"hồ sơ {channel.value} không thể thu gom tại nhà / a {channel.value} dossier cannot have "
            "postal_pickup = 1"
        )
    return channel, False


def _code(row: dict[str, str]) -> str:
    code = row["code"]
    if not code:
        raise RowInvalid("thiếu mã hồ sơ / code is empty")
    if len(code) > 64:
        raise RowInvalid("mã hồ sơ quá 64 ký tự / code longer than 64 characters")
    return code


def _agency(row: dict[str, str], lookups: Lookups) -> uuid.UUID:
    """The deciding agency: the row's, or the file's when the import was made for one agency."""
    agency_code = row["agency_code"]
    if lookups.default_agency is not None:
        if agency_code and agency_code != lookups.default_agency[0]:
            raise RowInvalid(
                f"agency_code {agency_code!r} khác đơn vị của tệp / differs from the file's agency "
                f"{lookups.default_agency[0]!r}"
            )
        return lookups.default_agency[1]
    if not agency_code:
        raise RowInvalid("thiếu agency_code / agency_code is empty")
    return _org(lookups, agency_code, OrgKind.agency, "agency_code")


def _instant(row: dict[str, str], name: str, lookups: Lookups, now: datetime) -> datetime | None:
    value = row[name]
    if not value:
        return None
    try:
        at = parse_instant(value, bare_date_at_close=lookups.calendar if name == "due_at" else None)
    except RowInvalid as exc:
        raise RowInvalid(f"{name}: {exc}") from None
    if name != "due_at" and at > now + timedelta(hours=1):
        raise RowInvalid(f"{name} ở tương lai / {name} is in the future")
    return at


def _required(at: datetime | None, name: str) -> datetime:
    if at is None:
        raise RowInvalid(f"thiếu {name} / {name} is empty")
    return at


@dataclass(frozen=True)
class _Times:
    received: datetime
    due: datetime
    resolved: datetime | None
    returned: datetime | None


def _times(row: dict[str, str], lookups: Lookups, now: datetime) -> _Times:
    """The four instants, in the order a dossier lives them."""
    received = _required(_instant(row, "received_at", lookups, now), "received_at")
    due = _required(_instant(row, "due_at", lookups, now), "due_at")
    resolved = _instant(row, "resolved_at", lookups, now)
    returned = _instant(row, "returned_at", lookups, now)
    if vn_date(received) < FIRST_DAY:
        raise RowInvalid("received_at trước năm 1976 / received_at is before 1976")
    if vn_date(due) < vn_date(received):
        raise RowInvalid("due_at trước ngày tiếp nhận / due_at is before received_at")
    if resolved is not None and resolved < received:
        raise RowInvalid("resolved_at trước received_at / resolved_at is before received_at")
    if returned is not None and returned < (resolved or received):
        raise RowInvalid(
            "returned_at trước khi giải quyết / returned_at is before resolved_at or received_at"
        )
    return _Times(received, due, resolved, returned)


def _outcome(row: dict[str, str], times: _Times) -> str | None:
    outcome = row.get("outcome", "").lower() or None
    if outcome is not None and outcome not in OUTCOMES:
        raise RowInvalid(f"outcome phải là / must be approved, refused or withdrawn: {outcome!r}")
    if outcome is not None and times.resolved is None and times.returned is None:
        raise RowInvalid("có outcome nhưng chưa giải quyết / outcome given for an unresolved dossier")
    return outcome


def _paused_days(row: dict[str, str]) -> int:
    paused_raw = row.get("paused_working_days", "") or "0"
    if not paused_raw.isdigit() or int(paused_raw) > 365:
        raise RowInvalid(f"paused_working_days phải từ 0 đến 365 / must be 0..365: {paused_raw!r}")
    return int(paused_raw)


def _custody(times: _Times, desk_id: uuid.UUID | None, agency_id: uuid.UUID) -> dict[str, Any]:
    """Where the paper is now and its status: with the citizen once returned, at the desk once decided, else
    at the agency; statuses from custody's one vocabulary, so tracking and desk views read imported dossiers."""
    if times.returned is not None:
        custodian = CustodianKind.citizen
    elif times.resolved is not None and desk_id is not None:
        custodian = CustodianKind.desk
    else:
        custodian = CustodianKind.agency
    if times.returned:
        status = Status.delivered
    else:
        status = Status.result_ready if times.resolved else Status.processing
    return {
        "status": status.value,
        "portal_status": PORTAL_STATUS[status],
        "custodian_kind": custodian,
        "custodian_org_id": (
            None if times.returned else (desk_id if custodian == CustodianKind.desk else agency_id)
        ),
    }


def validate_row(row: dict[str, str], lookups: Lookups, now: datetime) -> dict[str, Any]:
    """The Dossier column values for one row, or ``RowInvalid`` with the first reason it cannot be stored."""
    code = _code(row)
    procedure_id = lookups.procedures.get(row["procedure_code"])
    if procedure_id is None:
        raise RowInvalid(f"không có thủ tục mã / no procedure with code {row['procedure_code']!r}")
    agency_id = _agency(row, lookups)
    desk_code = row.get("desk_code", "")
    desk_id = _org(lookups, desk_code, OrgKind.desk, "desk_code") if desk_code else lookups.default_desk
    po_code = row.get("post_office_code", "")
    post_office_id = _org(lookups, po_code, OrgKind.post_office, "post_office_code") if po_code else None
    channel, postal_pickup = _channel(row)
    postal_return = _flag(row, "postal_return")
    times = _times(row, lookups, now)
    outcome = _outcome(row, times)
    paused = _paused_days(row)
    return {
        "procedure_id": procedure_id,
        "channel": channel,
        "postal_pickup": postal_pickup,
        "postal_return": postal_return,
        **_custody(times, desk_id, agency_id),
        "post_office_id": post_office_id,
        "desk_id": desk_id,
        "agency_id": agency_id,
        "agency_code": code,
        "submitted_at": times.received,
        "received_at": times.received,
        "due_at": times.due,
        "paused_working_days": paused,
        "resolved_at": times.resolved,
        "returned_at": times.returned,
        "outcome": outcome,
    }
