"""Time in each leg of the postal chain and the postal share of the legal clock (issue 23), from custody events.

The chain (Decision 45/2016/QĐ-TTg: collected -> post office -> desk -> agency -> result -> post office ->
citizen) is cut at these milestones of a dossier, each the first event of its code (the device's time
``client_at`` when the event was synced from a courier's phone, else the server's ``at``):

* ``posted``: ``EMA`` (collected at home, or handed in at a post office counter);
* ``at_post``: ``EMB`` (arrived at the post office); a counter receipt is at the post office at ``EMA``;
* ``received``: ``TNH`` (accepted by the one-stop desk; the legal clock starts, Decree 118/2025/NĐ-CP);
* ``result_at_desk``: ``KQS``; ``result_at_post``: the first ``EMG`` (result at the delivering post office);
* ``delivered``: ``EMI`` (handed to the citizen at home).

Legs: ``citizen_post`` posted -> at_post (home pickups only); ``post_desk`` at_post (else posted) -> received
(postal dossiers only); ``agency`` received -> result_at_desk (the desk and the agency together);
``desk_post`` result_at_desk -> result_at_post; ``post_citizen`` result_at_post -> delivered. A leg counts in
the period when it ENDS in the period. Durations are given in working hours (the working calendar's office
sessions on working days, 8 a day by default: the unit of the legal clock) and in calendar hours; the
statistics are the median and the 90th percentile (nearest rank).

Postal share of the legal clock: over the dossiers whose deadline (``due_at``) fell in the period and has
passed, the working hours between receipt and the deadline (the clock; pauses for supplements are already in
``due_at``), and those of them the result spent with the post (from ``result_at_post`` to ``delivered``, or to
the deadline while still undelivered): postal share = postal / clock, over all those dossiers and the median
of each dossier's share. Before receipt the clock does not run, so the inbound legs are not in it.
"""

import bisect
import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from backend.catalogue.calendar import WorkingCalendar
from backend.reporting.definitions import EPOCH, VN_OFFSET_S

LEGS: dict[str, str] = {
    "citizen_post": "Công dân → bưu điện / Citizen → post",
    "post_desk": "Bưu điện → Bộ phận Một cửa / Post → desk",
    "agency": "Bộ phận Một cửa và cơ quan giải quyết / Desk and agency",
    "desk_post": "Bộ phận Một cửa → bưu điện / Desk → post",
    "post_citizen": "Bưu điện → công dân / Post → citizen",
}
MILESTONE_CODES = {"posted": "EMA", "at_post": "EMB", "received": "TNH", "result_at_desk": "KQS"}
MILESTONE_CODES |= {"result_at_post": "EMG", "delivered": "EMI"}


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


class WorkClock:
    """Office minutes between instants. Days are numbered at Vietnam's fixed UTC+7 (``definitions.VN_OFFSET_S``);
    a table holds, for each day asked about, the office minutes from an anchor day to that day's start, grown
    one day at a time in either direction, so a position never changes once computed."""

    def __init__(self, calendar: WorkingCalendar) -> None:
        self.calendar = calendar
        self.sessions = [(_minutes(a), _minutes(b)) for a, b in calendar.hours.sessions]
        self.full_day = sum(b - a for a, b in self.sessions)
        self._start: dict[int, int] = {}  # day number -> office minutes from the anchor day to its start
        self._working: dict[int, bool] = {}

    def _is_working(self, day: int) -> bool:
        known = self._working.get(day)
        if known is None:
            known = self._working[day] = self.calendar.is_working_day(EPOCH + timedelta(days=day))
        return known

    def _day_start(self, day: int) -> int:
        start = self._start
        if not start:
            start[day] = 0
            return 0
        if day in start:
            return start[day]
        lo, hi = min(start), max(start)
        while day > hi:
            start[hi + 1] = start[hi] + (self.full_day if self._is_working(hi) else 0)
            hi += 1
        while day < lo:
            start[lo - 1] = start[lo] - (self.full_day if self._is_working(lo - 1) else 0)
            lo -= 1
        return start[day]

    def day_start(self, day: int) -> int:
        """Office minutes from the anchor day's start to day number ``day``'s start (``legs_sql``'s table)."""
        return self._day_start(day)

    def is_working(self, day: int) -> bool:
        return self._is_working(day)

    def position(self, instant: datetime) -> float:
        """Office minutes from the anchor day's start to ``instant``."""
        local = instant.timestamp() + VN_OFFSET_S
        day = int(local // 86400)
        base = self._day_start(day)
        if not self._is_working(day):
            return float(base)
        now = (local - day * 86400) / 60
        return base + sum(max(0.0, min(now, b) - a) for a, b in self.sessions)

    def hours(self, a: datetime, b: datetime) -> float:
        """Working hours from ``a`` to ``b`` (0 when b is not after a)."""
        if b <= a:
            return 0.0
        return max(0.0, self.position(b) - self.position(a)) / 60


@dataclass
class Milestones:
    """The first instant of each milestone of one dossier, with what the report may show of it."""

    item_id: str
    channel: str
    times: dict[str, datetime] = field(default_factory=dict)
    units: dict[str, str | None] = field(default_factory=dict)  # post_office, desk, agency -> code
    due_at: datetime | None = None


@dataclass(frozen=True)
class LegTime:
    item_id: str
    leg: str
    start: datetime
    end: datetime
    working_hours: float
    hours: float
    from_unit: str | None
    to_unit: str | None


def legs_of(m: Milestones, clock: WorkClock) -> list[LegTime]:
    """The legs of one dossier that are complete (both ends known, in order)."""
    t, u = m.times, m.units
    at_post = t.get("at_post") or (t.get("posted") if m.channel == "post_office" else None)
    spans = {
        "citizen_post": (t.get("posted") if m.channel == "home_pickup" else None, t.get("at_post")),
        "post_desk": (at_post or t.get("posted"), t.get("received")),
        "agency": (t.get("received"), t.get("result_at_desk")),
        "desk_post": (t.get("result_at_desk"), t.get("result_at_post")),
        "post_citizen": (t.get("result_at_post"), t.get("delivered")),
    }
    ends = {
        "citizen_post": (None, u.get("post_office")),
        "post_desk": (u.get("post_office"), u.get("desk")),
        "agency": (u.get("desk"), u.get("agency")),
        "desk_post": (u.get("desk"), u.get("post_office")),
        "post_citizen": (u.get("post_office"), None),
    }
    out = []
    for leg, (start, end) in spans.items():
        if start is None or end is None or end < start:
            continue
        hours = (end - start).total_seconds() / 3600
        out.append(LegTime(m.item_id, leg, start, end, clock.hours(start, end), hours, *ends[leg]))
    return out


def p90(values: list[float]) -> float | None:
    """The 90th percentile by nearest rank."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 2)


def leg_stats(legs: Iterable[LegTime]) -> list[dict[str, object]]:
    by: dict[str, list[LegTime]] = {leg: [] for leg in LEGS}
    for lt in legs:
        by[lt.leg].append(lt)
    out = []
    for leg, name in LEGS.items():
        work = [x.working_hours for x in by[leg]]
        cal = [x.hours for x in by[leg]]
        out.append(
            {
                "leg": leg,
                "name": name,
                "count": len(work),
                "median_working_hours": _r(statistics.median(work)) if work else None,
                "p90_working_hours": _r(p90(work)),
                "median_hours": _r(statistics.median(cal)) if cal else None,
                "p90_hours": _r(p90(cal)),
            }
        )
    return out


def slowest(legs: Iterable[LegTime], top: int) -> list[LegTime]:
    """The ``top`` longest legs in working hours (calendar hours break ties), longest first."""
    return sorted(legs, key=lambda x: (-x.working_hours, -x.hours, x.item_id, x.leg))[:top]


@dataclass
class ClockFigures:
    dossiers: int = 0
    clock_hours: float = 0.0
    postal_hours: float = 0.0
    shares: list[float] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        share = round(100 * self.postal_hours / self.clock_hours, 1) if self.clock_hours > 0 else None
        median = round(statistics.median(self.shares), 1) if self.shares else None
        return {
            "dossiers": self.dossiers,
            "clock_working_hours": round(self.clock_hours, 2),
            "postal_working_hours": round(self.postal_hours, 2),
            "postal_share": share,
            "median_dossier_share": median,
        }


def clock_share(dossiers: Iterable[Milestones], clock: WorkClock) -> ClockFigures:
    """The postal share of the legal clock over dossiers whose deadline has passed (see the module)."""
    out = ClockFigures()
    for m in dossiers:
        received, due = m.times.get("received"), m.due_at
        if received is None or due is None or due <= received:
            continue
        total = clock.hours(received, due)
        if total <= 0:
            continue
        postal = 0.0
        start = m.times.get("result_at_post")
        if start is not None:
            end = min(m.times.get("delivered") or due, due)
            postal = clock.hours(max(start, received), end)
        out.dossiers += 1
        out.clock_hours += total
        out.postal_hours += postal
        bisect.insort(out.shares, 100 * postal / total)
    return out
