"""Couriers' weekly shifts as rules (no database): what a well-formed pattern is, and which pattern holds on a day.

A pattern maps ISO weekdays "1".."7" to ordered, non-overlapping [start, end] spans of HH:MM in Vietnam time. A
courier's pattern on a Vietnam day is the latest scheduled version (``courier_shift_version``) starting on or
before that day, else the profile's (the pattern in force today). Booking capacity (``backend/booking/
capacity.py``) and route planning (``backend/planning/problem_builder.py``) both read it through ``shifts_on``.
"""

import re
from collections.abc import Mapping, Sequence
from datetime import date, time
from typing import Any

from backend.lib.problems import Problem

_HM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
WEEKDAYS = frozenset(str(d) for d in range(1, 8))

Pending = Sequence[tuple[date, Mapping[str, Any]]]  # scheduled versions, oldest first


def check_shifts(shifts: Mapping[str, Sequence[Sequence[str]]]) -> dict[str, list[list[str]]]:
    """ISO weekdays "1".."7" to ordered, non-overlapping [start, end] pairs of HH:MM (Vietnam time); 422
    ``invalid_shifts`` otherwise."""
    out: dict[str, list[list[str]]] = {}
    for day, pairs in shifts.items():
        if day not in WEEKDAYS:
            raise Problem(422, f"Ngày '{day}' phải là 1..7 / weekday keys are 1..7", code="invalid_shifts")
        spans: list[tuple[time, time]] = []
        for pair in pairs:
            if len(pair) != 2 or not all(isinstance(t, str) and _HM.match(t) for t in pair):
                raise Problem(
                    422,
                    f"Ca '{pair}' phải là [HH:MM, HH:MM] / shift must be [HH:MM, HH:MM]",
                    code="invalid_shifts",
                )
            a, b = (time.fromisoformat(t) for t in pair)
            if a >= b:
                raise Problem(
                    422,
                    f"Ca {pair}: giờ bắt đầu phải trước giờ kết thúc / start before end",
                    code="invalid_shifts",
                )
            spans.append((a, b))
        spans.sort()
        if any(prev[1] > nxt[0] for prev, nxt in zip(spans, spans[1:], strict=False)):
            raise Problem(
                422, f"Các ca ngày {day} chồng nhau / shifts of day {day} overlap", code="invalid_shifts"
            )
        if spans:
            out[day] = [[a.strftime("%H:%M"), b.strftime("%H:%M")] for a, b in spans]
    return out


def shifts_on(current: Mapping[str, Any], pending: Pending, day: date) -> Mapping[str, Any]:
    """The pattern in force on ``day``: the latest of ``pending`` starting on or before it, else ``current``."""
    found = current
    for start, shifts in pending:
        if start > day:
            break
        found = shifts
    return found
