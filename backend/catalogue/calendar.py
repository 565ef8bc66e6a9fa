"""Working calendar of Vietnamese state agencies and the legal due date ("ngày hẹn trả kết quả").

Pure: no DB, no web. Built from

* the ``holidays`` package (``holidays.country_holidays("VN")``), which already encodes the Labour Code 2019
  art. 112 holidays, Tết days falling on weekends moved onto working days, the observed Monday for a holiday on
  Sunday, and the swaps it knows about (e.g. 2 May 2025 off / Saturday 26 Apr 2025 worked);
* a list of overrides ``(date, kind, note)`` from government decisions the package may not know yet (e.g. the
  2 Jan 2026 swap, Công văn 12729/VPCP-KGVX). ``kind`` is ``"off"`` (extra day off) or ``"working"`` (make-up
  working day, also cancels a package holiday). The defaults ship in ``data/calendar_overrides.json``; the DB
  table ``calendar_override`` holds the same shape for later edits.

Saturdays and Sundays are days off unless listed as make-up working days.

Due-date rule (``add_working_days``), and why:

* A period counted in days starts the day after the event (Civil Code 2015 art. 147(1)): n working days are
  counted starting from the next working day after the day of receipt, and the result is due by the close of
  office hours of the n-th working day (default 17:00 Asia/Ho_Chi_Minh, returned as an aware UTC datetime).
* A dossier received on a day off, or after closing time, counts as received on the next working day: nobody at
  the desk could act on it earlier (e.g. a postal hand-over in the evening).
* Same-day procedures (n = 0, "trong ngày"): received before 15:00 -> due at closing the same day; received from
  15:00 on -> due at closing of the next working day. This is the rule written into Decree 23/2015/NĐ-CP art. 7
  (chứng thực) and the civil-status procedures (Decree 123/2015/NĐ-CP; DVCQG procedure 1.001193 "nếu tiếp nhận
  hồ sơ sau 15 giờ ... trả kết quả trong ngày làm việc tiếp theo"). Both times are configurable (``OfficeHours``).
* Procedures stated in hours or half-days ("4 giờ làm việc", 0.5 ngày) use ``add_working_hours`` over the
  office sessions (default 07:30-11:30 and 13:00-17:00, 8 hours a day); ``due_at`` picks the right rule for a
  catalogue ``processing_days`` value that may be fractional (0.5 day = 4 working hours).

Office hours differ by province (Decision 188/1999/QĐ-TTg fixes 40 hours a week, provinces set the clock), hence
``OfficeHours`` is a parameter, not a constant.
"""

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

import holidays

from schemas.vntime import VN_TZ as VN_TZ  # re-exported for older imports
from schemas.vntime import at_vn, to_vn, vn_date

DATA_DIR = Path(__file__).resolve().parent / "data"
OVERRIDES_FILE = DATA_DIR / "calendar_overrides.json"


class OverrideKind(StrEnum):
    off = "off"  # extra day off (nghỉ bù, hoán đổi ngày làm việc, ngày nghỉ theo quyết định)
    working = "working"  # make-up working day (làm bù), usually a Saturday


_KIND_ALIASES = {
    "off": OverrideKind.off,
    "day_off": OverrideKind.off,
    "extra_day_off": OverrideKind.off,
    "holiday": OverrideKind.off,
    "working": OverrideKind.working,
    "working_day": OverrideKind.working,
    "extra_working_day": OverrideKind.working,
    "makeup": OverrideKind.working,
}


def parse_kind(kind: str | OverrideKind) -> OverrideKind:
    try:
        return _KIND_ALIASES[str(kind).strip().lower()]
    except KeyError:
        raise ValueError(f"unknown calendar override kind {kind!r} (expected 'off' or 'working')") from None


@dataclass(frozen=True, slots=True)
class DayOverride:
    day: date
    kind: OverrideKind
    note: str = ""


@dataclass(frozen=True, slots=True)
class OfficeHours:
    """Office sessions in Vietnam local time; ``close`` ends the working day, ``same_day_cutoff`` is the
    15:00 rule for same-day procedures."""

    morning: tuple[time, time] = (time(7, 30), time(11, 30))
    afternoon: tuple[time, time] = (time(13, 0), time(17, 0))
    same_day_cutoff: time = time(15, 0)

    def __post_init__(self) -> None:
        (a, b), (c, d) = self.morning, self.afternoon
        if not (a < b <= c < d):
            raise ValueError("office sessions must be ordered: morning start < end <= afternoon start < end")
        if not (a <= self.same_day_cutoff <= d):
            raise ValueError("same_day_cutoff must fall within office hours")

    @property
    def close(self) -> time:
        return self.afternoon[1]

    @property
    def sessions(self) -> tuple[tuple[time, time], tuple[time, time]]:
        return (self.morning, self.afternoon)

    @property
    def hours_per_day(self) -> float:
        return sum(_minutes(end) - _minutes(start) for start, end in self.sessions) / 60


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


OverrideLike = DayOverride | tuple[date, str] | tuple[date, str, str]


def _as_override(item: OverrideLike) -> DayOverride:
    if isinstance(item, DayOverride):
        return item
    day, kind, *rest = item
    if isinstance(day, datetime) or not isinstance(day, date):
        raise ValueError(f"override day must be a date, got {day!r}")
    return DayOverride(day=day, kind=parse_kind(kind), note=str(rest[0]) if rest else "")


@dataclass
class WorkingCalendar:
    """Working days of state agencies: weekdays minus public holidays, adjusted by overrides."""

    overrides: Iterable[OverrideLike] = ()
    hours: OfficeHours = field(default_factory=OfficeHours)
    use_package_holidays: bool = True

    def __post_init__(self) -> None:
        self._overrides: dict[date, DayOverride] = {}
        for item in self.overrides:
            o = _as_override(item)
            seen = self._overrides.get(o.day)
            if seen is not None and seen.kind != o.kind:
                raise ValueError(f"conflicting calendar overrides for {o.day}: {seen.kind} and {o.kind}")
            self._overrides[o.day] = o
        self.overrides = tuple(self._overrides.values())
        self._holidays = holidays.country_holidays("VN", language="vi") if self.use_package_holidays else None
        self._cache: dict[date, bool] = {}

    # --- days -------------------------------------------------------------------------------------------

    def override_for(self, day: date) -> DayOverride | None:
        return self._overrides.get(day)

    def holiday_name(self, day: date) -> str | None:
        """Name of the public holiday on that day (package or override), else None."""
        o = self._overrides.get(day)
        if o is not None:
            return (o.note or "Ngày nghỉ") if o.kind is OverrideKind.off else None
        if self._holidays is None:
            return None
        return self._holidays.get(day)

    def is_working_day(self, day: date) -> bool:
        if isinstance(day, datetime):
            raise TypeError("is_working_day takes a date; convert instants with schemas.vntime.vn_date(...)")
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        o = self._overrides.get(day)
        if o is not None:
            result = o.kind is OverrideKind.working
        elif self._holidays is not None and day in self._holidays:
            result = False
        elif self._holidays is not None and day in self._holidays.weekend_workdays:
            # swaps the package knows (make-up Saturdays); checked after ``in`` so the year is populated
            result = True
        else:
            result = day.weekday() < 5
        self._cache[day] = result
        return result

    def next_working_day(self, day: date, *, include_today: bool = False) -> date:
        d = day if include_today else day + timedelta(days=1)
        for _ in range(3660):  # no real calendar has 10 years without a working day
            if self.is_working_day(d):
                return d
            d += timedelta(days=1)
        raise ValueError(f"no working day within 10 years after {day}")

    def previous_working_day(self, day: date, *, include_today: bool = False) -> date:
        d = day if include_today else day - timedelta(days=1)
        for _ in range(3660):
            if self.is_working_day(d):
                return d
            d -= timedelta(days=1)
        raise ValueError(f"no working day within 10 years before {day}")

    def working_days_between(self, a: date, b: date) -> int:
        """Working days d with a < d <= b (negative when b < a). Inverse of ``add_working_days`` on dates."""
        if b < a:
            return -self.working_days_between(b, a)
        count = 0
        d = a + timedelta(days=1)
        while d <= b:
            if self.is_working_day(d):
                count += 1
            d += timedelta(days=1)
        return count

    def working_days_in(self, start: date, end: date) -> list[date]:
        """All working days in [start, end]."""
        out = []
        d = start
        while d <= end:
            if self.is_working_day(d):
                out.append(d)
            d += timedelta(days=1)
        return out

    def add_days(self, day: date, n: int) -> date:
        """The n-th working day after ``day`` (n >= 1), or ``day`` itself for n = 0."""
        if n < 0:
            raise ValueError("n must be >= 0")
        d = day
        for _ in range(n):
            d = self.next_working_day(d)
        return d

    # --- instants ---------------------------------------------------------------------------------------

    def effective_receipt_day(self, instant: datetime) -> date:
        """The working day a dossier counts as received: same day if received on a working day before
        closing, else the next working day."""
        local = to_vn(instant)
        if self.is_working_day(local.date()) and local.time() < self.hours.close:
            return local.date()
        return self.next_working_day(local.date())

    def add_working_days(self, instant: datetime, n: int) -> datetime:
        """Due instant (aware, UTC) of a procedure taking ``n`` working days, for a dossier received at
        ``instant``. See the module docstring for the rule and its legal basis."""
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError("n must be an int; use due_at(...) for fractional days")
        if n < 0:
            raise ValueError("n must be >= 0")
        local = to_vn(instant)
        if n == 0:
            day = local.date()
            if not self.is_working_day(day) or local.time() >= self.hours.same_day_cutoff:
                day = self.next_working_day(day)
        else:
            day = self.add_days(self.effective_receipt_day(instant), n)
        return self.end_of_day(day)

    def due_date(self, instant: datetime, n: int) -> date:
        """Local date of ``add_working_days`` (what is printed on the receipt, "ngày hẹn trả")."""
        return vn_date(self.add_working_days(instant, n))

    def end_of_day(self, day: date) -> datetime:
        return at_vn(day, self.hours.close)

    def add_working_hours(self, instant: datetime, hours: float) -> datetime:
        """Instant (UTC) after ``hours`` of office time counted from ``instant`` (procedures stated in hours)."""
        if not math.isfinite(hours) or hours < 0:
            raise ValueError("hours must be a finite number >= 0")
        remaining = round(hours * 60)  # minutes; sub-minute precision has no legal meaning
        local = to_vn(instant)
        day, now = local.date(), _minutes(local.time()) + (local.second > 0 or local.microsecond > 0)
        for _ in range(3660 * 2):
            if self.is_working_day(day):
                for start, end in self.hours.sessions:
                    s, e = _minutes(start), _minutes(end)
                    begin = max(now, s)
                    if begin >= e:
                        continue
                    if begin + remaining <= e:
                        at = begin + remaining
                        return at_vn(day, time(at // 60, at % 60))
                    remaining -= e - begin
            day, now = day + timedelta(days=1), 0
        raise ValueError("working hours did not fit in 10 years")

    def due_at(self, instant: datetime, processing_days: float) -> datetime:
        """Due instant for a catalogue ``processing_days`` (0 = same day, whole numbers = working days,
        fractions = office hours at ``hours_per_day`` a day, e.g. 0.5 -> 4 working hours)."""
        if not math.isfinite(processing_days) or processing_days < 0:
            raise ValueError("processing_days must be a finite number >= 0")
        if float(processing_days).is_integer():
            return self.add_working_days(instant, int(processing_days))
        return self.add_working_hours(instant, processing_days * self.hours.hours_per_day)


# Kept as an alias for older imports (tests); new code uses schemas.vntime.to_vn.
to_local = to_vn


def read_overrides(path: Path = OVERRIDES_FILE) -> list[DayOverride]:
    """The overrides shipped in ``data/calendar_overrides.json`` (each with its source decision)."""
    data: Any = json.loads(path.read_text(encoding="utf-8"))
    rows = data["overrides"] if isinstance(data, dict) else data
    return [
        DayOverride(day=date.fromisoformat(r["date"]), kind=parse_kind(r["kind"]), note=r.get("note", ""))
        for r in rows
    ]


@lru_cache(maxsize=1)
def default_calendar() -> WorkingCalendar:
    """Package holidays plus the shipped overrides, default office hours. Shared; treat as read-only."""
    return WorkingCalendar(read_overrides())
