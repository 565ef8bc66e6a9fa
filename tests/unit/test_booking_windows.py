"""Window generation, the booking checks, capacity arithmetic and cut-offs (pure)."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.booking.capacity import Roster
from backend.booking.windows import (
    BookingRules,
    WindowError,
    bookable_windows,
    capacity_minutes,
    check_window,
    cutoff_passed,
    day_windows,
    parse_hours,
    remaining,
)
from backend.catalogue.calendar import VN_TZ, WorkingCalendar

HOURS = {str(d): [["07:30", "11:30"], ["13:30", "17:00"]] for d in range(1, 6)} | {"6": [["07:30", "11:30"]]}
CAL = WorkingCalendar()
RULES = BookingRules()


def vn(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=VN_TZ)


def test_day_windows_follow_opening_hours() -> None:
    ws = day_windows(date(2027, 3, 3), parse_hours(HOURS["3"]), RULES)
    assert [(w.start.astimezone(VN_TZ).strftime("%H:%M"), w.minutes) for w in ws] == [
        ("07:30", 120),
        ("09:30", 120),
        ("13:30", 120),
        ("15:30", 90),
    ]
    assert all(w.start.tzinfo is UTC for w in ws)
    short = BookingRules(min_window_minutes=100)
    assert len(day_windows(date(2027, 3, 3), parse_hours(HOURS["3"]), short)) == 3  # 90-minute tail dropped


def test_bookable_windows_skip_weekends_holidays_notice_and_horizon() -> None:
    now = vn(2027, 4, 28, 8, 0)  # a Wednesday; 30 Apr and 1 May are public holidays
    ws = bookable_windows(CAL, HOURS, RULES, now.astimezone(UTC), date(2027, 4, 1), date(2027, 6, 1))
    days = sorted({w.start.astimezone(VN_TZ).date() for w in ws})
    assert date(2027, 4, 30) not in days and date(2027, 5, 1) not in days and date(2027, 5, 2) not in days
    assert all(d.weekday() < 5 for d in days)
    assert days[0] == date(2027, 4, 28) and days[-1] <= date(2027, 5, 12)
    assert min(ws).start >= now + timedelta(minutes=RULES.min_notice_minutes)


@pytest.mark.parametrize(
    ("start", "code"),
    [
        (vn(2027, 4, 28, 7, 30), "window_in_past"),
        (vn(2027, 4, 28, 9, 30), "too_short_notice"),
        (vn(2027, 4, 30, 7, 30), "not_working_day"),
        (vn(2027, 5, 2, 7, 30), "not_working_day"),  # Sunday
        (vn(2027, 4, 29, 8, 0), "not_a_window"),
        (vn(2027, 4, 29, 12, 0), "not_a_window"),
        (vn(2027, 6, 29, 7, 30), "beyond_horizon"),
        (datetime(2027, 4, 29, 7, 30), "naive_time"),
    ],
)
def test_check_window_refusals(start: datetime, code: str) -> None:
    now = vn(2027, 4, 28, 8, 0).astimezone(UTC)
    with pytest.raises(WindowError) as err:
        check_window(CAL, HOURS, RULES, now, start)
    assert err.value.code == code


def test_check_window_accepts_any_offset() -> None:
    now = vn(2027, 4, 28, 8, 0).astimezone(UTC)
    w = check_window(CAL, HOURS, RULES, now, datetime(2027, 4, 29, 0, 30, tzinfo=UTC))  # 07:30 in Vietnam
    assert w.start.astimezone(VN_TZ) == vn(2027, 4, 29, 7, 30) and w.minutes == 120


def test_capacity_from_shifts() -> None:
    w = day_windows(date(2027, 3, 3), parse_hours(HOURS["3"]), RULES)
    full_day = {"3": ["07:30", "17:00"]}
    late = {"3": ["10:30", "17:00"]}
    off = {"4": ["07:30", "17:00"]}
    assert [capacity_minutes([full_day, late, off], x) for x in w] == [120, 120 + 60, 240, 180]
    assert remaining(240, 0, RULES.cost("pickup")) == 10
    assert remaining(240, 230, 22) == 0 and remaining(240, 0, 0) == 0
    assert RULES.cost("assisted") > RULES.cost("pickup") > RULES.cost("delivery")


def test_roster_remembers_the_same_minutes() -> None:
    shifts = [{"3": ["07:30", "17:00"]}, {"3": ["10:30", "17:00"]}, {"4": ["07:30", "17:00"]}]
    roster = Roster(shifts)
    wednesday = day_windows(date(2027, 3, 3), parse_hours(HOURS["3"]), RULES)
    thursday = day_windows(date(2027, 3, 4), parse_hours(HOURS["4"]), RULES)
    for _ in range(2):  # the second pass is answered from memory
        assert [roster.minutes(x) for x in wednesday] == [120, 180, 240, 180]
        assert [roster.minutes(x) for x in thursday] == [capacity_minutes(shifts, x) for x in thursday]
    assert [Roster(shifts[2:]).minutes(x) for x in wednesday] == [0, 0, 0, 0]


def test_cutoff() -> None:
    start = vn(2027, 4, 29, 13, 30).astimezone(UTC)
    assert not cutoff_passed(RULES, start - timedelta(minutes=121), start)
    assert cutoff_passed(RULES, start - timedelta(minutes=119), start)


@given(
    st.integers(min_value=30, max_value=240),
    st.integers(min_value=0, max_value=23),
    st.integers(min_value=1, max_value=8),
)
def test_windows_tile_the_opening_hours(window: int, open_h: int, hours: int) -> None:
    close_h = min(23, open_h + hours)
    if close_h <= open_h:
        return
    rules = BookingRules(window_minutes=window, min_window_minutes=1)
    ws = day_windows(date(2027, 3, 3), parse_hours([[f"{open_h:02d}:00", f"{close_h:02d}:00"]]), rules)
    assert sum(w.minutes for w in ws) == (close_h - open_h) * 60
    assert all(a.end == b.start for a, b in zip(ws, ws[1:], strict=False))
    assert all(0 < w.minutes <= window for w in ws)
