"""The pure parts of the leadership reports (issue 23): working hours between instants, the legs of one
dossier, percentiles, months of a period."""

from datetime import UTC, date, datetime, timedelta

from backend.catalogue.calendar import WorkingCalendar
from backend.reporting.definitions import Period
from backend.reporting.leadership import months
from backend.reporting.legs import Milestones, WorkClock, clock_share, legs_of, p90
from schemas.base import VN_TZ


def vn(y: int, m: int, d: int, h: int = 9, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=VN_TZ).astimezone(UTC)


def test_working_hours_skip_nights_weekends_lunch_and_holidays() -> None:
    clock = WorkClock(WorkingCalendar())
    assert clock.hours(vn(2025, 3, 3, 8), vn(2025, 3, 3, 10)) == 2.0  # Monday morning
    assert clock.hours(vn(2025, 3, 3, 11), vn(2025, 3, 3, 14)) == 1.5  # lunch 11:30-13:00 not counted
    assert clock.hours(vn(2025, 3, 7, 16), vn(2025, 3, 10, 8)) == 1.5  # Friday 16-17, Monday 07:30-08:00
    assert clock.hours(vn(2025, 3, 8, 9), vn(2025, 3, 9, 15)) == 0.0  # a weekend
    # 30 Apr and 1 May 2025 are holidays (and 2 May a day off by swap): Tuesday 29 Apr 17:00 to Monday 5 May 07:30
    assert clock.hours(vn(2025, 4, 29, 17), vn(2025, 5, 5, 7, 30)) == 0.0
    assert clock.hours(vn(2025, 3, 3, 10), vn(2025, 3, 3, 9)) == 0.0  # backwards: nothing
    # far apart, in either order of asking (the table grows both ways)
    assert clock.hours(vn(2024, 3, 4, 7, 30), vn(2024, 3, 8, 17)) == 40.0
    assert clock.hours(vn(2026, 3, 2, 7, 30), vn(2026, 3, 2, 17)) == 8.0


def test_legs_of_a_counter_receipt_and_a_missing_end() -> None:
    clock = WorkClock(WorkingCalendar())
    m = Milestones(
        "HS1", "post_office", {"posted": vn(2025, 3, 3, 8), "received": vn(2025, 3, 3, 10)}, {"desk": "D"}
    )
    legs = legs_of(m, clock)
    assert [(x.leg, x.working_hours, x.to_unit) for x in legs] == [("post_desk", 2.0, "D")]  # no citizen_post
    m.times["result_at_desk"] = vn(2025, 3, 3, 9)  # before the receipt: clock error, left out
    assert [x.leg for x in legs_of(m, clock)] == ["post_desk"]


def test_clock_share_counts_the_result_with_the_post_within_the_deadline() -> None:
    clock = WorkClock(WorkingCalendar())
    times = {"received": vn(2025, 3, 3, 7, 30), "result_at_post": vn(2025, 3, 6, 7, 30)}
    m = Milestones("HS2", "direct", times, {}, due_at=vn(2025, 3, 7, 17))  # 5 working days, 2 with the post
    got = clock_share([m], clock).as_json()
    assert (got["clock_working_hours"], got["postal_working_hours"], got["postal_share"]) == (
        40.0,
        16.0,
        40.0,
    )


def test_p90_is_the_nearest_rank() -> None:
    assert p90([]) is None
    assert p90([5.0]) == 5.0
    assert p90([float(i) for i in range(1, 11)]) == 9.0
    assert p90([float(i) for i in range(1, 12)]) == 10.0


def test_months_cut_a_period_at_month_ends() -> None:
    pieces = months(Period(date(2024, 1, 15), date(2024, 3, 3)))
    assert [(p.first, p.last) for p in pieces] == [
        (date(2024, 1, 15), date(2024, 1, 31)),
        (date(2024, 2, 1), date(2024, 2, 29)),
        (date(2024, 3, 1), date(2024, 3, 3)),
    ]
    assert sum(((p.last - p.first).days + 1 for p in pieces), 0) == 49
    assert all(b.first == a.last + timedelta(days=1) for a, b in zip(pieces, pieces[1:], strict=False))
