"""Couriers' shifts as rules (issue 23): a pattern's checks, the pattern in force on a day, and a roster that
counts each window with the pattern of its own day."""

from datetime import date

import pytest

from backend.booking.capacity import Roster
from backend.booking.windows import day_windows, parse_hours
from backend.catalogue.shift_rules import check_shifts, shifts_on
from backend.lib.problems import Problem
from tests.unit.test_booking_windows import HOURS, RULES

MORNING = {"3": [["07:30", "11:30"]]}
AFTERNOON = {"3": [["13:30", "17:00"]]}


def test_check_shifts_orders_and_refuses() -> None:
    got = check_shifts({"1": [["13:30", "17:00"], ["07:30", "11:30"]], "7": []})
    assert got == {"1": [["07:30", "11:30"], ["13:30", "17:00"]]}
    for bad in (
        {"8": [["07:30", "11:30"]]},
        {"1": [["7:30", "11:30"]]},
        {"1": [["11:30", "07:30"]]},
        {"1": [["07:30", "11:30"], ["11:00", "12:00"]]},
        {"1": [["07:30"]]},
    ):
        with pytest.raises(Problem) as exc:
            check_shifts(bad)
        assert exc.value.code == "invalid_shifts"


def test_the_latest_version_started_by_the_day_holds() -> None:
    pending = [(date(2027, 3, 10), AFTERNOON), (date(2027, 3, 17), {})]
    assert shifts_on(MORNING, pending, date(2027, 3, 9)) is MORNING
    assert shifts_on(MORNING, pending, date(2027, 3, 10)) is AFTERNOON
    assert shifts_on(MORNING, pending, date(2027, 3, 16)) is AFTERNOON
    assert shifts_on(MORNING, pending, date(2027, 3, 17)) == {}
    assert shifts_on(MORNING, [], date(2030, 1, 1)) is MORNING


def test_roster_counts_each_window_with_its_days_pattern() -> None:
    wed, next_wed = date(2027, 3, 3), date(2027, 3, 10)
    roster = Roster([MORNING, MORNING], [[(next_wed, AFTERNOON)], []])
    this_week = day_windows(wed, parse_hours(HOURS["3"]), RULES)
    next_week = day_windows(next_wed, parse_hours(HOURS["3"]), RULES)
    today = [roster.minutes(w) for w in this_week]
    later = [roster.minutes(w) for w in next_week]
    assert today == [Roster([MORNING, MORNING]).minutes(w) for w in this_week]
    assert later == [Roster([MORNING, AFTERNOON]).minutes(w) for w in next_week]
    assert today != later and sum(today) > 0 and sum(later) > 0
