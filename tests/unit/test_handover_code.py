"""The citizen's daily handover code around Vietnam's midnight, where the two phones may disagree on the day."""

import uuid
from datetime import date, datetime, time, timedelta

from backend.catalogue.calendar import VN_TZ
from backend.custody.services import CLIENT_SKEW, code_matches, handover_code

CITIZEN = uuid.UUID(int=7)
MIDNIGHT = datetime.combine(date(2026, 12, 1), time(0, 0), tzinfo=VN_TZ)


def test_a_code_is_six_digits_and_changes_with_the_day_and_the_citizen() -> None:
    today = handover_code(CITIZEN, date(2026, 12, 1))
    assert len(today) == 6 and today.isdigit()
    assert today != handover_code(CITIZEN, date(2026, 11, 30))
    assert today != handover_code(uuid.UUID(int=8), date(2026, 12, 1))


def test_the_code_of_the_events_day_and_of_the_day_before_match() -> None:
    at = MIDNIGHT + timedelta(hours=10)
    assert code_matches(CITIZEN, handover_code(CITIZEN, date(2026, 12, 1)), at)
    # The citizen's app still showing yesterday's code.
    assert code_matches(CITIZEN, handover_code(CITIZEN, date(2026, 11, 30)), at)
    assert not code_matches(CITIZEN, handover_code(CITIZEN, date(2026, 11, 29)), at)
    assert not code_matches(CITIZEN, handover_code(CITIZEN, date(2026, 12, 2)), at)
    assert not code_matches(uuid.UUID(int=8), handover_code(CITIZEN, date(2026, 12, 1)), at)


def test_tomorrows_code_matches_only_within_the_clock_skew_of_midnight() -> None:
    tomorrow = handover_code(CITIZEN, date(2026, 12, 1))
    # A device clock behind the server stamps the pickup just before midnight; the citizen's app is already
    # past it.
    assert code_matches(CITIZEN, tomorrow, MIDNIGHT - CLIENT_SKEW)
    assert code_matches(CITIZEN, tomorrow, MIDNIGHT - timedelta(seconds=1))
    assert not code_matches(CITIZEN, tomorrow, MIDNIGHT - CLIENT_SKEW - timedelta(seconds=1))
    assert not code_matches(CITIZEN, tomorrow, MIDNIGHT - timedelta(hours=12))
