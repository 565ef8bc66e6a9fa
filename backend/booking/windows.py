"""Booking windows, capacity arithmetic and cut-offs. Pure: no DB, no web.

A post office offers windows of ``window_minutes`` inside its opening hours, on working days only (the
one-stop desks a pickup feeds work on working days, Decree 118/2025/NĐ-CP art. 9), from ``min_notice`` ahead
up to ``horizon_days``. A window's capacity is courier-minutes: the minutes each courier's shift overlaps the
window, summed. A visit costs its kind's service minutes plus a travel allowance.
"""

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from backend.catalogue.calendar import WorkingCalendar
from schemas.booking import DEFAULT_SERVICE_MINUTES
from schemas.vntime import at_vn, vn_date

Hours = list[tuple[time, time]]


@dataclass(frozen=True)
class BookingRules:
    window_minutes: int = 120
    min_notice_minutes: int = 120
    horizon_days: int = 14
    cutoff_minutes: int = 120
    travel_minutes: int = 12
    service_minutes: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_SERVICE_MINUTES))
    # A last stretch of opening hours shorter than a window still makes a window if it is at least this long.
    min_window_minutes: int = 60

    def cost(self, kind: str) -> int:
        """Courier-minutes one visit of ``kind`` takes from a window."""
        return int(self.service_minutes.get(kind, DEFAULT_SERVICE_MINUTES[kind])) + self.travel_minutes


@dataclass(frozen=True, order=True)
class Window:
    start: datetime  # aware UTC
    end: datetime

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


class WindowError(ValueError):
    """A requested window is not bookable; ``code`` is the problem code, the message Vietnamese / English."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.extra = extra


def _hm(raw: str) -> time:
    h, m = raw.split(":")
    return time(int(h), int(m))


def parse_hours(raw: Any) -> Hours:
    """``[["07:30","11:30"], ...]`` or a single ``["07:30","17:00"]`` -> sorted [(start, end)]."""
    if not raw:
        return []
    pairs = [raw] if isinstance(raw[0], str) else raw
    return list(_parse_pairs(tuple((a, b) for a, b in pairs)))


@functools.lru_cache(maxsize=1024)
def _parse_pairs(pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[time, time], ...]:
    out = [(_hm(a), _hm(b)) for a, b in pairs]
    return tuple(sorted(p for p in out if p[0] < p[1]))


def day_windows(day: date, hours: Hours, rules: BookingRules) -> list[Window]:
    """Consecutive windows from the start of each opening session; a short remainder is kept if long enough."""
    return list(_day_windows(day, tuple(hours), rules.window_minutes, rules.min_window_minutes))


@functools.lru_cache(maxsize=4096)  # every booking and listing asks for the same few days of each office
def _day_windows(
    day: date, hours: tuple[tuple[time, time], ...], window_minutes: int, min_window_minutes: int
) -> tuple[Window, ...]:
    out: list[Window] = []
    step = timedelta(minutes=window_minutes)
    for open_t, close_t in hours:
        start = at_vn(day, open_t)
        close = at_vn(day, close_t)
        while start < close:
            end = min(start + step, close)
            if (end - start) >= timedelta(minutes=min(min_window_minutes, window_minutes)):
                out.append(Window(start, end))
            start = end
    return tuple(out)


def last_bookable_day(rules: BookingRules, now: datetime) -> date:
    return vn_date(now) + timedelta(days=rules.horizon_days)


def bookable_windows(
    cal: WorkingCalendar,
    opening_hours: Mapping[str, Any],
    rules: BookingRules,
    now: datetime,
    first: date,
    last: date,
) -> list[Window]:
    """Every window in [first, last] (local dates) that can still be booked at ``now``."""
    first = max(first, vn_date(now))
    last = min(last, last_bookable_day(rules, now))
    earliest = now + timedelta(minutes=rules.min_notice_minutes)
    return [w for w in windows_between(cal, opening_hours, rules, first, last) if w.start >= earliest]


def windows_between(
    cal: WorkingCalendar, opening_hours: Mapping[str, Any], rules: BookingRules, first: date, last: date
) -> list[Window]:
    """Every window of the working days in [first, last], whatever the time now."""
    out: list[Window] = []
    for day in cal.working_days_in(first, last) if first <= last else []:
        hours = parse_hours(opening_hours.get(str(day.isoweekday())))
        out.extend(day_windows(day, hours, rules))
    return out


def check_window(
    cal: WorkingCalendar,
    opening_hours: Mapping[str, Any],
    rules: BookingRules,
    now: datetime,
    start: datetime,
) -> Window:
    """The window starting at ``start`` if it can be booked now, else ``WindowError`` saying why."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise WindowError("naive_time", "Thời điểm phải có múi giờ / The time must carry a UTC offset")
    start = start.astimezone(UTC)
    day = vn_date(start)
    if start <= now:
        raise WindowError("window_in_past", "Khung giờ đã qua / The window is in the past")
    if day > last_bookable_day(rules, now):
        raise WindowError(
            "beyond_horizon",
            f"Chỉ đặt lịch trước tối đa {rules.horizon_days} ngày / "
            f"Bookings open at most {rules.horizon_days} days ahead",
        )
    if not cal.is_working_day(day):
        name = cal.holiday_name(day)
        raise WindowError(
            "not_working_day",
            f"{day.isoformat()} không phải ngày làm việc{f' ({name})' if name else ''} / "
            f"{day.isoformat()} is not a working day",
            holiday=name,
        )
    hours = parse_hours(opening_hours.get(str(day.isoweekday())))
    window = next((w for w in day_windows(day, hours, rules) if w.start == start), None)
    if window is None:
        raise WindowError(
            "not_a_window",
            "Thời điểm không trùng khung giờ nhận hẹn của bưu cục / The time is not the start of a window",
        )
    if window.start < now + timedelta(minutes=rules.min_notice_minutes):
        raise WindowError(
            "too_short_notice",
            f"Cần đặt trước ít nhất {rules.min_notice_minutes} phút / "
            f"Book at least {rules.min_notice_minutes} minutes ahead",
        )
    return window


def cutoff_passed(rules: BookingRules, now: datetime, start: datetime) -> bool:
    """Reschedule and cancel close ``cutoff_minutes`` before the window: the route is fixed by then."""
    return now > start - timedelta(minutes=rules.cutoff_minutes)


def overlap_minutes(shift: Hours, day: date, window: Window) -> int:
    total = 0
    for a, b in shift:
        s = max(at_vn(day, a), window.start)
        e = min(at_vn(day, b), window.end)
        if e > s:
            total += int((e - s).total_seconds() // 60)
    return total


def capacity_minutes(shifts: Iterable[Mapping[str, Any]], window: Window) -> int:
    """Courier-minutes available in ``window``: each courier's weekly shift (ISO weekday -> hours) overlapping it."""
    day = vn_date(window.start)
    key = str(day.isoweekday())
    return sum(overlap_minutes(parse_hours(s.get(key)), day, window) for s in shifts)


def remaining(capacity: int, booked: int, cost: int) -> int:
    """How many more visits costing ``cost`` fit."""
    return max(0, (capacity - booked) // cost) if cost > 0 else 0


def windows_by_start(windows: Sequence[Window]) -> dict[datetime, Window]:
    return {w.start: w for w in windows}
