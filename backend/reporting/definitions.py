"""What the numbers of form II.06a mean: one place, pure Python, no DB.

Form II.06a ("Tình hình, kết quả giải quyết TTHC tại cơ quan, đơn vị trực tiếp giải quyết TTHC", Circular
01/2018/TT-VPCP, appendix II; still the reporting form desks file under Decree 118/2025/NĐ-CP) has, per row:

    received  = received online + received directly or by post (new in the period) + carried over
    received  = resolved + in progress
    resolved  = early + on time + late
    in progress = within the deadline + overdue

This module is the specification. ``backend/reporting/query.py`` implements the same rules as SQL CASE
expressions (so a province-year aggregates in the database); ``classify`` below is the reference the tests
compare that SQL against, dossier by dossier.

Definitions (a period is ``[from, to]``, whole days in Asia/Ho_Chi_Minh, both inclusive; ``S`` is 00:00 of
``from`` and ``E`` is 00:00 of the day after ``to``, Vietnam time):

* **Received** instant: ``received_at``, when the one-stop desk accepts the dossier and the legal clock starts
  (Decree 118/2025/NĐ-CP). ``submitted_at`` (handed to a courier or a post-office counter) does not count: a
  dossier still being carried by the post is not yet received and appears in no column.
* **Resolved** instant: ``resolved_at`` (the agency decided: approved, refused or withdrawn all leave the pile);
  when only ``returned_at`` is known (older systems record only the hand-back) the return is the resolution.
  A resolution stamped before the receipt (clock errors in old data) is taken as happening at the receipt.
* **Returned** instant: ``returned_at``, the result handed to the citizen (at the desk or by post). It does not
  decide timeliness when ``resolved_at`` is known: carrying the result back by post (Decision 45/2016/QĐ-TTg)
  happens after the decision and is not the agency's processing time.
* **New** in the period: received in ``[S, E)``. **Online**: channel ``online``; everything else (``direct``,
  ``home_pickup``, ``post_office``) is the form's "trực tiếp và dịch vụ bưu chính" column.
* **Carried over** from the previous period: received before ``S`` and not resolved before ``S``. This is
  exactly the previous period's "in progress" at its end, so consecutive periods chain.
* **Resolved** in the period: a new or carried-over dossier resolved before ``E``; the others are **in progress**.
* **Early / on time / late**: compare the Vietnam date of the resolution with the *effective due date*:
  before it early (trước hạn), the same day on time (đúng hạn), after it late (quá hạn). Dates, not instants,
  because the appointment slip gives a day ("ngày hẹn trả"). A dossier without a due date (no legal time
  limit) that is resolved counts as on time.
* **Pauses**: while a dossier waits for a supplement the clock stops (Decree 118/2025/NĐ-CP: time for the
  citizen to supplement is not counted). ``due_at`` stays the date printed at receipt; ``paused_working_days``
  accumulates the working days the clock stood still, and the effective due date is the Vietnam date of
  ``due_at`` moved forward by that many working days (the working calendar, holidays included).
* **Overdue / within** (in progress): overdue when the effective due date is before the *as-of* day (the last
  day of the period, or today for a period not yet over); a dossier paused at the end of the period
  (``paused_at`` set before ``E``) is within the deadline: its clock is stopped. No due date: within.
* **Postal counts**: ``postal_pickup`` counts new dossiers that came through the post (channel ``home_pickup``
  or ``post_office``, or the ``postal_pickup`` flag); ``postal_home_pickup`` those collected at the citizen's
  home (Circular 17/2017/TT-BTTTT art. 5); ``postal_return`` the dossiers resolved in the period whose result
  goes back by post (Decision 45/2016/QĐ-TTg).
* **Rates**: on-time rate = (early + on time) / resolved, as the reports quote "đúng và trước hạn"; online
  share = online / new; postal share = postal pickup / new. Percentages with one decimal, ``None`` when the
  denominator is zero.

Known limits: pause columns hold the dossier's state now, not at the end of a past period, so a report on an
old period may see a later pause (which can only move a deadline later). Days before 1976 (``FIRST_DAY``) are
not supported: the SQL uses the fixed UTC+7 offset.
"""

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta

from backend.catalogue.calendar import WorkingCalendar
from schemas.base import VN_TZ

# Asia/Ho_Chi_Minh has been UTC+7 without daylight saving since 13 June 1975 (the South used UTC+8 before),
# so the SQL may use a fixed offset for any day from FIRST_DAY on.
VN_OFFSET_S = 7 * 3600
EPOCH = date(1970, 1, 1)
FIRST_DAY = date(1976, 1, 1)

ONLINE = "online"
POSTAL_CHANNELS = frozenset({"home_pickup", "post_office"})
HOME_PICKUP = "home_pickup"


def vn_date(instant: datetime) -> date:
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(VN_TZ).date()


def day_number(day: date) -> int:
    """Days since 1970-01-01: how the SQL compares Vietnam dates on both SQLite and PostgreSQL."""
    return (day - EPOCH).days


def start_of_day(day: date) -> datetime:
    """00:00 Vietnam time of ``day`` as an aware UTC instant."""
    return datetime.combine(day, time(0, 0), tzinfo=VN_TZ).astimezone(UTC)


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("the period ends before it starts")

    @property
    def start(self) -> datetime:
        return start_of_day(self.first)

    @property
    def end(self) -> datetime:
        """Exclusive end: 00:00 of the day after ``last``."""
        return start_of_day(self.last + timedelta(days=1))

    def as_of(self, today: date) -> date:
        """The day overdue is judged on: the period's last day, or today while the period is running."""
        return min(self.last, today)


@dataclass(frozen=True)
class DossierFacts:
    """The columns of a dossier the report reads."""

    received_at: datetime | None
    due_at: datetime | None = None
    resolved_at: datetime | None = None
    returned_at: datetime | None = None
    paused_at: datetime | None = None
    paused_working_days: int = 0
    channel: str = "direct"
    postal_pickup: bool = False
    postal_return: bool = False


@dataclass
class Counts:
    """One row of the form (plus postal counts). Field order is the form's column order."""

    received_total: int = 0
    received_online: int = 0
    received_direct_postal: int = 0
    carried_over: int = 0
    resolved_total: int = 0
    resolved_early: int = 0
    resolved_on_time: int = 0
    resolved_late: int = 0
    in_progress_total: int = 0
    in_progress_within: int = 0
    in_progress_overdue: int = 0
    postal_pickup: int = 0
    postal_home_pickup: int = 0
    postal_return: int = 0

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(**{n: getattr(self, n) + getattr(other, n) for n in COUNT_FIELDS})

    @property
    def received_new(self) -> int:
        return self.received_online + self.received_direct_postal

    def as_dict(self) -> dict[str, int]:
        return {n: getattr(self, n) for n in COUNT_FIELDS}

    def identity_errors(self) -> list[str]:
        """The form's own arithmetic; an empty list when every identity holds."""
        errors = []
        if self.received_total != self.received_new + self.carried_over:
            errors.append("received_total != online + direct_postal + carried_over")
        if self.received_total != self.resolved_total + self.in_progress_total:
            errors.append("received_total != resolved_total + in_progress_total")
        if self.resolved_total != self.resolved_early + self.resolved_on_time + self.resolved_late:
            errors.append("resolved_total != early + on_time + late")
        if self.in_progress_total != self.in_progress_within + self.in_progress_overdue:
            errors.append("in_progress_total != within + overdue")
        return errors


COUNT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Counts))


def percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def rates(c: Counts) -> dict[str, float | None]:
    return {
        "on_time_rate": percent(c.resolved_early + c.resolved_on_time, c.resolved_total),
        "online_share": percent(c.received_online, c.received_new),
        "postal_share": percent(c.postal_pickup, c.received_new),
    }


def resolution_instant(d: DossierFacts) -> datetime | None:
    res = d.resolved_at if d.resolved_at is not None else d.returned_at
    if res is not None and d.received_at is not None and res < d.received_at:
        return d.received_at
    return res


def effective_due_date(d: DossierFacts, calendar: WorkingCalendar) -> date | None:
    if d.due_at is None:
        return None
    due = vn_date(d.due_at)
    return calendar.add_days(due, d.paused_working_days) if d.paused_working_days > 0 else due


def timeliness(resolved_on: date, due: date | None) -> str:
    """``early`` / ``on_time`` / ``late`` by Vietnam dates (see the module docstring)."""
    if due is None or resolved_on == due:
        return "on_time"
    return "early" if resolved_on < due else "late"


def classify(d: DossierFacts, period: Period, calendar: WorkingCalendar, as_of: date) -> Counts | None:
    """This dossier's contribution to a row, or ``None`` when it is not in the report at all."""
    if d.received_at is None or d.received_at >= period.end:
        return None
    res = resolution_instant(d)
    new = d.received_at >= period.start
    if not new and res is not None and res < period.start:
        return None  # closed before the period began
    c = Counts(received_total=1)
    if new:
        if d.channel == ONLINE:
            c.received_online = 1
        else:
            c.received_direct_postal = 1
        if d.channel in POSTAL_CHANNELS or d.postal_pickup:
            c.postal_pickup = 1
        if d.channel == HOME_PICKUP:
            c.postal_home_pickup = 1
    else:
        c.carried_over = 1
    due = effective_due_date(d, calendar)
    if res is not None and res < period.end:
        c.resolved_total = 1
        kind = timeliness(vn_date(res), due)
        c.resolved_early, c.resolved_on_time, c.resolved_late = (
            int(kind == "early"),
            int(kind == "on_time"),
            int(kind == "late"),
        )
        c.postal_return = int(d.postal_return)
    else:
        c.in_progress_total = 1
        paused_now = d.paused_at is not None and d.paused_at < period.end
        overdue = due is not None and due < as_of and not paused_now
        c.in_progress_overdue, c.in_progress_within = int(overdue), int(not overdue)
    return c


def aggregate(
    dossiers: Iterable[DossierFacts], period: Period, calendar: WorkingCalendar, as_of: date
) -> Counts:
    """The naive reference: classify one by one and add up."""
    total = Counts()
    for d in dossiers:
        c = classify(d, period, calendar, as_of)
        if c is not None:
            total = total + c
    return total
