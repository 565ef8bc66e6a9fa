"""The pure rules of ratings and complaints (backend/feedback/rules.py, issue 23): the steps a complaint may
take from each status, the windows, overdue and on-time by Vietnam day, and the report's means."""

from datetime import UTC, date, datetime, timedelta

import pytest

from backend.feedback import rules
from schemas.feedback import ComplaintStatus


@pytest.mark.parametrize(
    ("step", "allowed"),
    [
        ("assign", {"received", "assigned"}),
        ("answer", {"assigned"}),
        ("close", {"answered"}),
        ("reopen", {"answered", "closed"}),
    ],
)
def test_each_step_only_from_its_statuses(step: str, allowed: set[str]) -> None:
    for status in ComplaintStatus:
        assert rules.may_step(step, status) is (status.value in allowed), (step, status)


def test_a_closed_complaint_cannot_be_answered_or_assigned() -> None:
    assert not rules.may_step("answer", ComplaintStatus.closed)
    assert not rules.may_step("assign", ComplaintStatus.closed)
    assert rules.next_status("reopen") == ComplaintStatus.assigned


def test_windows() -> None:
    at = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    assert rules.rate_until(at, 14) == at + timedelta(days=14)
    assert rules.edit_until(at, 3) == at + timedelta(days=3)


def test_overdue_only_when_assigned_and_past_its_day() -> None:
    due = date(2026, 12, 10)
    assert not rules.is_overdue("assigned", due, due)  # the due day itself is still in time
    assert rules.is_overdue("assigned", due, due + timedelta(days=1))
    assert not rules.is_overdue("answered", due, due + timedelta(days=30))
    assert not rules.is_overdue("received", None, due)
    assert rules.on_time(due, due) and not rules.on_time(due + timedelta(days=1), due)


def test_means_per_criterion_and_overall() -> None:
    sums = rules.ScoreSums()
    assert sums.means() == {
        "attitude": None,
        "timeliness": None,
        "fees": None,
        "result": None,
        "overall": None,
    }
    sums.add({"attitude": 5, "timeliness": 1, "fees": 4, "result": 2})
    sums.add({"attitude": 4, "timeliness": 2, "fees": 4, "result": 3})
    assert sums.count == 2
    assert sums.means() == {"attitude": 4.5, "timeliness": 1.5, "fees": 4.0, "result": 2.5, "overall": 3.12}


def test_months_and_names() -> None:
    assert rules.month_of(date(2026, 1, 31)) == "2026-01"
    assert rules.months([date(2026, 2, 1), date(2026, 1, 5), date(2026, 2, 9)]) == ["2026-01", "2026-02"]
    assert rules.category_name("fees") == "Thu phí không đúng / Wrong fees charged"
