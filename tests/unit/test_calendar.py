"""Working calendar and the legal due date ("ngày hẹn trả")."""

import json
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.catalogue.calendar import (
    OVERRIDES_FILE,
    VN_TZ,
    DayOverride,
    OfficeHours,
    OverrideKind,
    WorkingCalendar,
    default_calendar,
    read_overrides,
    to_local,
)

CAL = default_calendar()


def vn(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VN_TZ)


def due(instant: datetime, n: int, cal: WorkingCalendar = CAL) -> datetime:
    return to_local(cal.add_working_days(instant, n))


# --- days ---------------------------------------------------------------------------------------------


def test_tet_2026_is_off_from_14_to_22_february() -> None:
    for d in range(14, 23):
        assert not CAL.is_working_day(date(2026, 2, d)), d
    assert CAL.is_working_day(date(2026, 2, 13))
    assert CAL.is_working_day(date(2026, 2, 23))
    assert CAL.holiday_name(date(2026, 2, 17)) is not None


def test_tet_2025_is_off_from_25_january_to_2_february() -> None:
    for d in [date(2025, 1, 25) + timedelta(days=i) for i in range(9)]:
        assert not CAL.is_working_day(d), d
    assert CAL.is_working_day(date(2025, 1, 24))
    assert CAL.is_working_day(date(2025, 2, 3))


def test_swap_days() -> None:
    # 30/4-1/5/2025: Friday 2 May off, Saturday 26 April worked
    assert not CAL.is_working_day(date(2025, 5, 2))
    assert CAL.is_working_day(date(2025, 4, 26))
    # Tết Dương lịch 2026: Friday 2 Jan off, Saturday 10 Jan worked (Công văn 12729/VPCP-KGVX)
    assert not CAL.is_working_day(date(2026, 1, 2))
    assert CAL.is_working_day(date(2026, 1, 10))
    # National Day 2025: Monday 1 September off
    assert not CAL.is_working_day(date(2025, 9, 1))
    # National Day 2026: 29/8-2/9 off, Saturday 22 Aug worked
    for d in range(29, 32):
        assert not CAL.is_working_day(date(2026, 8, d))
    assert not CAL.is_working_day(date(2026, 9, 1)) and not CAL.is_working_day(date(2026, 9, 2))
    assert CAL.is_working_day(date(2026, 8, 22))


def test_ordinary_weekends_are_off_and_weekdays_on() -> None:
    assert not CAL.is_working_day(date(2026, 3, 7))  # Saturday
    assert not CAL.is_working_day(date(2026, 3, 8))  # Sunday
    assert all(CAL.is_working_day(date(2026, 3, d)) for d in range(9, 14))


def test_month_counts() -> None:
    # February 2026: 20 weekdays minus the five Tết weekdays 16-20
    assert len(CAL.working_days_in(date(2026, 2, 1), date(2026, 2, 28))) == 15
    # January 2026: 22 weekdays minus 1 and 2 January, plus make-up Saturday 10 January
    assert len(CAL.working_days_in(date(2026, 1, 1), date(2026, 1, 31))) == 21
    # May 2025: 22 weekdays minus 1 and 2 May
    assert len(CAL.working_days_in(date(2025, 5, 1), date(2025, 5, 31))) == 20


def test_shipped_overrides_agree_with_the_holidays_package_where_it_claims_to() -> None:
    package_only = WorkingCalendar()
    rows = json.loads(OVERRIDES_FILE.read_text(encoding="utf-8"))["overrides"]
    assert rows, "no overrides shipped"
    for row in rows:
        assert row["source"].strip(), row
        day = date.fromisoformat(row["date"])
        want_working = row["kind"] == "working"
        assert CAL.is_working_day(day) is want_working, row
        if row["in_holidays_package"]:
            assert package_only.is_working_day(day) is want_working, row
        else:
            # the package does not know it; the override is what makes the difference
            assert package_only.is_working_day(day) is not want_working, row


def test_without_package_holidays_only_overrides_and_weekends_count() -> None:
    bare = WorkingCalendar(use_package_holidays=False)
    assert bare.is_working_day(date(2026, 2, 17))  # Tết is a weekday like any other here
    assert not bare.is_working_day(date(2026, 2, 21))


# --- overrides ----------------------------------------------------------------------------------------


def test_tuple_overrides_and_kind_aliases() -> None:
    cal = WorkingCalendar(
        [
            (date(2030, 3, 5), "off", "bão (storm closure)"),
            (date(2030, 3, 9), "working_day", "làm bù"),
            DayOverride(date(2030, 3, 12), OverrideKind.off),
        ]
    )
    assert not cal.is_working_day(date(2030, 3, 5))
    assert cal.holiday_name(date(2030, 3, 5)) == "bão (storm closure)"
    assert cal.is_working_day(date(2030, 3, 9))  # a Saturday
    assert not cal.is_working_day(date(2030, 3, 12))
    assert cal.working_days_between(date(2030, 3, 1), date(2030, 3, 15)) == 10 - 2 + 1


def test_working_override_cancels_a_package_holiday() -> None:
    cal = WorkingCalendar([(date(2026, 11, 24), "working", "Ngày Văn hóa chưa được luật hóa")])
    assert cal.is_working_day(date(2026, 11, 24))
    assert not WorkingCalendar().is_working_day(date(2026, 11, 24))


def test_conflicting_or_bad_overrides_are_rejected() -> None:
    with pytest.raises(ValueError, match="conflicting"):
        WorkingCalendar([(date(2030, 1, 7), "off"), (date(2030, 1, 7), "working")])
    with pytest.raises(ValueError, match="kind"):
        WorkingCalendar([(date(2030, 1, 7), "holiday-ish")])
    with pytest.raises(ValueError, match="date"):
        WorkingCalendar([(datetime(2030, 1, 7, tzinfo=UTC), "off")])  # type: ignore[list-item]


def test_read_overrides_matches_file() -> None:
    rows = json.loads(OVERRIDES_FILE.read_text(encoding="utf-8"))["overrides"]
    parsed = read_overrides()
    assert [(o.day.isoformat(), o.kind.value) for o in parsed] == [(r["date"], r["kind"]) for r in rows]


# --- due dates ----------------------------------------------------------------------------------------


def test_due_is_aware_utc_at_close_of_office() -> None:
    result = CAL.add_working_days(vn(2026, 3, 9), 1)
    assert result.tzinfo is UTC
    assert result == datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # 17:00 in Vietnam (UTC+7)


def test_deadline_across_tet_2026() -> None:
    assert due(vn(2026, 2, 12), 5) == vn(2026, 2, 26, 17)  # 13, 23, 24, 25, 26
    assert due(vn(2026, 2, 13, 10), 1) == vn(2026, 2, 23, 17)
    # received during Tết: counts as received on Monday 23 Feb
    assert due(vn(2026, 2, 17, 10), 1) == vn(2026, 2, 24, 17)
    assert due(vn(2026, 2, 17, 10), 0) == vn(2026, 2, 23, 17)


def test_deadline_across_swap_days() -> None:
    # Friday 25 Apr 2025: Saturday 26 is a make-up working day, then 30/4, 1/5, 2/5 (swap) and a weekend
    assert due(vn(2025, 4, 25, 10), 1) == vn(2025, 4, 26, 17)
    assert due(vn(2025, 4, 25, 10), 3) == vn(2025, 4, 29, 17)
    assert due(vn(2025, 4, 25, 10), 4) == vn(2025, 5, 5, 17)
    # New Year 2026: 1 Jan holiday, 2 Jan swapped off, weekend
    assert due(vn(2025, 12, 31, 10), 1) == vn(2026, 1, 5, 17)
    # Friday 9 Jan 2026: next working day is make-up Saturday 10 Jan
    assert due(vn(2026, 1, 9, 10), 1) == vn(2026, 1, 10, 17)


def test_receipt_on_saturday_or_holiday_counts_from_next_working_day() -> None:
    assert due(vn(2026, 3, 7, 10), 1) == vn(2026, 3, 10, 17)  # Sat -> received Mon 9 -> due Tue 10
    assert due(vn(2026, 3, 7, 10), 0) == vn(2026, 3, 9, 17)
    assert due(vn(2025, 9, 2, 10), 1) == vn(2025, 9, 4, 17)  # National Day -> received Wed 3 -> due Thu 4


def test_receipt_after_close_counts_from_next_working_day() -> None:
    assert due(vn(2026, 3, 9, 16, 59), 1) == vn(2026, 3, 10, 17)
    assert due(vn(2026, 3, 9, 17, 0), 1) == vn(2026, 3, 11, 17)
    assert due(vn(2026, 3, 13, 18, 30), 1) == vn(2026, 3, 17, 17)  # Friday evening -> Monday -> Tuesday


def test_same_day_procedures_use_the_15h_rule() -> None:
    assert due(vn(2026, 3, 9, 14, 59), 0) == vn(2026, 3, 9, 17)
    assert due(vn(2026, 3, 9, 15, 0), 0) == vn(2026, 3, 10, 17)
    assert due(vn(2026, 2, 13, 15, 30), 0) == vn(2026, 2, 23, 17)  # Friday before Tết


def test_utc_input_is_converted_to_vietnam_time() -> None:
    # 2026-03-09 09:30 UTC is 16:30 in Vietnam: still before close, after the 15:00 cut-off
    instant = datetime(2026, 3, 9, 9, 30, tzinfo=UTC)
    assert due(instant, 1) == vn(2026, 3, 10, 17)
    assert due(instant, 0) == vn(2026, 3, 10, 17)
    # 2026-03-08 20:00 UTC is Monday 03:00 in Vietnam: a working day, before opening
    assert due(datetime(2026, 3, 8, 20, 0, tzinfo=UTC), 1) == vn(2026, 3, 10, 17)


def test_office_hours_are_configurable() -> None:
    cal = WorkingCalendar(
        read_overrides(),
        hours=OfficeHours(
            morning=(time(8, 0), time(12, 0)),
            afternoon=(time(13, 30), time(16, 30)),
            same_day_cutoff=time(16, 0),
        ),
    )
    assert due(vn(2026, 3, 9, 15, 30), 0, cal) == vn(2026, 3, 9, 16, 30)
    assert due(vn(2026, 3, 9, 16, 45), 1, cal) == vn(2026, 3, 11, 16, 30)
    with pytest.raises(ValueError):
        OfficeHours(morning=(time(12, 0), time(8, 0)))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        CAL.add_working_days(vn(2026, 3, 9), -1)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.add_working_days(datetime(2026, 3, 9, 9, 0), 1)
    with pytest.raises(TypeError):
        CAL.add_working_days(vn(2026, 3, 9), 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        CAL.is_working_day(vn(2026, 3, 9))


def test_working_days_between_examples() -> None:
    assert CAL.working_days_between(date(2026, 2, 13), date(2026, 2, 23)) == 1
    assert CAL.working_days_between(date(2026, 2, 23), date(2026, 2, 13)) == -1
    assert CAL.working_days_between(date(2026, 3, 9), date(2026, 3, 9)) == 0
    assert CAL.working_days_between(date(2026, 3, 6), date(2026, 3, 13)) == 5


def test_working_hours_and_fractional_days() -> None:
    # Friday before Tết, 15:00 + 4 office hours: 2 h on Friday, 2 h on Monday 23 Feb from 07:30
    assert to_local(CAL.add_working_hours(vn(2026, 2, 13, 15), 4)) == vn(2026, 2, 23, 9, 30)
    # lunch break is skipped: 10:30 + 2 h = 11:30 + 1 h after 13:00
    assert to_local(CAL.add_working_hours(vn(2026, 3, 9, 10, 30), 2)) == vn(2026, 3, 9, 14, 0)
    # before opening: starts at 07:30
    assert to_local(CAL.add_working_hours(vn(2026, 3, 9, 6, 0), 1)) == vn(2026, 3, 9, 8, 30)
    # half a day = 4 working hours
    assert CAL.due_at(vn(2026, 3, 9, 8), 0.5) == CAL.add_working_hours(vn(2026, 3, 9, 8), 4)
    assert CAL.due_at(vn(2026, 3, 9, 8), 3.0) == CAL.add_working_days(vn(2026, 3, 9, 8), 3)
    with pytest.raises(ValueError):
        CAL.due_at(vn(2026, 3, 9), -1)


# --- properties ---------------------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2024, 12, 1), max_value=datetime(2026, 12, 31), timezones=st.just(VN_TZ)
).map(lambda d: d.replace(second=0, microsecond=0))
days = st.dates(min_value=date(2024, 12, 1), max_value=date(2027, 1, 31))


@settings(max_examples=300, deadline=None)
@given(instant=instants, n=st.integers(0, 40))
def test_due_is_the_close_of_a_working_day_after_receipt(instant: datetime, n: int) -> None:
    result = due(instant, n)
    assert CAL.is_working_day(result.date())
    assert result.time() == time(17, 0)
    assert result > instant
    received = CAL.effective_receipt_day(instant)
    if n >= 1:
        assert CAL.working_days_between(received, result.date()) == n
    else:
        assert CAL.working_days_between(received, result.date()) in (0, 1)


@settings(max_examples=200, deadline=None)
@given(instant=instants, n=st.integers(0, 30))
def test_one_more_day_is_exactly_the_next_working_day(instant: datetime, n: int) -> None:
    a, b = due(instant, n).date(), due(instant, n + 1).date()
    if n == 0:
        # A same-day procedure received from 15:00 is due at the next day's closing, as is a 1-day one.
        assert b >= a
    else:
        assert b > a
        assert b == CAL.next_working_day(a)


@settings(max_examples=200, deadline=None)
@given(
    instant=instants,
    later_by=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)),
    n=st.integers(0, 15),
)
def test_later_receipt_never_gives_an_earlier_due_date(
    instant: datetime, later_by: timedelta, n: int
) -> None:
    assert due(instant + later_by, n) >= due(instant, n)


@settings(max_examples=200, deadline=None)
@given(a=days, b=days, c=days)
def test_working_days_between_is_additive_and_antisymmetric(a: date, b: date, c: date) -> None:
    ab, bc, ac = (
        CAL.working_days_between(a, b),
        CAL.working_days_between(b, c),
        CAL.working_days_between(a, c),
    )
    assert ab + bc == ac
    assert CAL.working_days_between(b, a) == -ab
    if a <= b:
        assert ab == len(CAL.working_days_in(a + timedelta(days=1), b))


@settings(max_examples=200, deadline=None)
@given(d=days)
def test_next_and_previous_working_day(d: date) -> None:
    nxt, prev = CAL.next_working_day(d), CAL.previous_working_day(d)
    assert prev < d < nxt
    assert CAL.is_working_day(nxt) and CAL.is_working_day(prev)
    assert CAL.working_days_between(prev, nxt) == 1 + (1 if CAL.is_working_day(d) else 0)
    assert CAL.add_days(d, 1) == nxt


@settings(max_examples=200, deadline=None)
@given(instant=instants, hours=st.integers(0, 80))
def test_working_hours_land_inside_office_sessions(instant: datetime, hours: int) -> None:
    result = to_local(CAL.add_working_hours(instant, hours))
    assert result >= instant
    if hours > 0:
        assert CAL.is_working_day(result.date())
        t = result.time()
        assert time(7, 30) < t <= time(11, 30) or time(13, 0) < t <= time(17, 0)
    # whole days of office time equal whole working days on the clock
    if hours % 8 == 0 and hours > 0 and CAL.is_working_day(instant.date()) and instant.time() == time(7, 30):
        assert result.date() == CAL.add_days(instant.date(), hours // 8 - 1)
