"""The legal clock: due dates across Tết 2026 and a swapped day, pauses for supplements, timeliness."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backend.catalogue.calendar import VN_TZ, default_calendar, to_local
from backend.custody.deadlines import Timeliness, due_at, resume, timeliness, working_days_left

CAL = default_calendar()


def vn(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VN_TZ)


@dataclass
class Clock:
    received_at: datetime | None = None
    due_at: datetime | None = None
    paused_at: datetime | None = None
    resolved_at: datetime | None = None
    outcome: str | None = None


def test_due_date_skips_tet_2026() -> None:
    # Received Thursday 12 Feb 2026; Tết closes offices 14-22 Feb. 3 working days: Fri 13, Mon 23, Tue 24.
    due = to_local(due_at(vn(2026, 2, 12, 10), 3, CAL))
    assert due.date().isoformat() == "2026-02-24"
    assert (due.hour, due.minute) == (17, 0)


def test_received_during_tet_counts_from_the_first_working_day() -> None:
    due = to_local(due_at(vn(2026, 2, 17, 10), 1, CAL))
    assert due.date().isoformat() == "2026-02-24"  # received counts as Mon 23 Feb, 1 day -> Tue 24


def test_swap_day_2_january_2026_and_makeup_saturday() -> None:
    # Wed 31 Dec 2025 + 2 working days: 1 Jan holiday, Fri 2 Jan swapped off, weekend -> Mon 5, Tue 6.
    assert to_local(due_at(vn(2025, 12, 31, 9), 2, CAL)).date().isoformat() == "2026-01-06"
    # Fri 9 Jan + 1: Saturday 10 Jan 2026 is a make-up working day.
    assert to_local(due_at(vn(2026, 1, 9, 9), 1, CAL)).date().isoformat() == "2026-01-10"


def test_pause_across_tet_shifts_the_due_date_by_working_days_only() -> None:
    due = due_at(vn(2026, 2, 9, 9), 5, CAL)  # Mon 9 Feb + 5 -> Mon 23 Feb (13 Feb is the last day before Tết)
    assert to_local(due).date().isoformat() == "2026-02-23"
    # Paused Wed 11 Feb, resumed Wed 25 Feb: working days 12, 13, 23, 24, 25 = 5.
    r = resume(due, vn(2026, 2, 11, 10), vn(2026, 2, 25, 10), CAL)
    assert r.paused_days == 5
    assert to_local(r.due_at).date().isoformat() == "2026-03-02"
    assert (to_local(r.due_at).hour, to_local(r.due_at).minute) == (17, 0)


def test_same_day_pause_costs_nothing() -> None:
    due = due_at(vn(2026, 3, 2, 9), 3, CAL)
    r = resume(due, vn(2026, 3, 3, 9), vn(2026, 3, 3, 15), CAL)
    assert r.paused_days == 0 and r.due_at == due


def test_timeliness_when_resolved() -> None:
    due = due_at(vn(2026, 3, 2, 9), 3, CAL)  # Thu 5 Mar 17:00
    base: dict[str, Any] = {"received_at": vn(2026, 3, 2, 9), "due_at": due}
    now = vn(2026, 4, 1)
    assert timeliness(Clock(**base, resolved_at=vn(2026, 3, 4, 10)), now, CAL) == Timeliness.early
    assert timeliness(Clock(**base, resolved_at=vn(2026, 3, 5, 16)), now, CAL) == Timeliness.on_time
    assert timeliness(Clock(**base, resolved_at=vn(2026, 3, 5, 17, 30)), now, CAL) == Timeliness.late
    assert timeliness(Clock(**base, resolved_at=vn(2026, 3, 9, 9)), now, CAL) == Timeliness.late


def test_timeliness_while_open_and_paused() -> None:
    due = due_at(vn(2026, 3, 2, 9), 3, CAL)
    clock = Clock(received_at=vn(2026, 3, 2, 9), due_at=due)
    assert timeliness(clock, vn(2026, 3, 5, 12), CAL) == Timeliness.within
    assert timeliness(clock, vn(2026, 3, 6, 8), CAL) == Timeliness.overdue
    paused = Clock(received_at=clock.received_at, due_at=due, paused_at=vn(2026, 3, 4, 9))
    assert timeliness(paused, vn(2026, 3, 20), CAL) == Timeliness.within  # the clock stopped before due
    assert timeliness(Clock(), vn(2026, 3, 20), CAL) is None  # not received: no clock
    assert timeliness(Clock(**{**clock.__dict__, "outcome": "withdrawn"}), vn(2026, 3, 20), CAL) is None
    assert working_days_left(clock, vn(2026, 3, 3, 9), CAL) == 2
