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
* **Early / on time / late** (the rule of ``backend/custody/deadlines.timeliness``, so the desk's live view
  and the report agree): resolved on a Vietnam date before the due date is early (trước hạn); after the due
  instant is late (quá hạn), including later on the due day itself (the slip gives the hour, usually the close
  of office hours); otherwise on time (đúng hạn). A dossier without a due date counts as on time.
* **Pauses**: while a dossier waits for a supplement the clock stops (Decree 118/2025/NĐ-CP: the time the
  citizen takes to supplement is not counted). Custody moves ``due_at`` later by the paused working days when
  the clock restarts (``deadlines.resume``), so ``due_at`` is always the deadline in force;
  ``paused_working_days`` is a record of it and is NOT added again here. An imported ``due_at`` is likewise
  the final appointment date.
* **Overdue / within** (in progress): judged at the *as-of* instant, the end of the period (or now, while
  the period is running): overdue when that instant is after ``due_at``. A dossier paused at that time is
  judged at the moment it was paused (its clock stands still), as custody does. No due date: within.
* **Withdrawn** (outcome ``withdrawn``, rút hồ sơ): counted apart, in no column of the form (custody's
  ``timeliness`` gives none either); the ``withdrawn`` count says how many there were among the dossiers the
  period would otherwise include.
* **Postal counts**: ``postal_pickup`` counts new dossiers that came through the post (channel ``home_pickup``
  or ``post_office``, or the ``postal_pickup`` flag); ``postal_home_pickup`` those collected at the citizen's
  home (Circular 17/2017/TT-BTTTT art. 5); ``postal_return`` the dossiers resolved in the period whose result
  goes back by post (Decision 45/2016/QĐ-TTg).
* **Rates**: on-time rate = (early + on time) / resolved, as the reports quote "đúng và trước hạn"; online
  share = online / new; postal share = postal pickup / new. Percentages with one decimal, ``None`` when the
  denominator is zero.

Known limits: ``due_at``, ``paused_at`` and ``outcome`` hold the dossier's state now, not at the end of a past
period, so a report on an old period may see a later pause (a later deadline) or a later withdrawal. Days before 1976 (``FIRST_DAY``) are
not supported: the SQL uses the fixed UTC+7 offset.
"""

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta

from schemas.vntime import vn_date, vn_day_start

# Asia/Ho_Chi_Minh has been UTC+7 without daylight saving since 13 June 1975 (the South used UTC+8 before),
# so the SQL may use a fixed offset for any day from FIRST_DAY on.
VN_OFFSET_S = 7 * 3600
EPOCH = date(1970, 1, 1)
FIRST_DAY = date(1976, 1, 1)

ONLINE = "online"
POSTAL_CHANNELS = frozenset({"home_pickup", "post_office"})
HOME_PICKUP = "home_pickup"
WITHDRAWN = "withdrawn"


def day_number(day: date) -> int:
    """Days since 1970-01-01: how the SQL compares Vietnam dates on both SQLite and PostgreSQL."""
    return (day - EPOCH).days


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("the period ends before it starts")

    @property
    def start(self) -> datetime:
        return vn_day_start(self.first)

    @property
    def end(self) -> datetime:
        """Exclusive end: 00:00 of the day after ``last``."""
        return vn_day_start(self.last + timedelta(days=1))

    def as_of(self, now: datetime) -> datetime:
        """The instant open dossiers are judged at: the end of the period, or now while it is running."""
        return min(self.end, now)


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
    outcome: str | None = None


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
    withdrawn: int = 0  # counted apart: not part of the identities

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


def timeliness(resolved: datetime, due: datetime | None) -> str:
    """``early`` / ``on_time`` / ``late`` of a resolution (see the module docstring)."""
    if due is None:
        return "on_time"
    if vn_date(resolved) < vn_date(due):
        return "early"
    return "late" if resolved > due else "on_time"


def overdue_at(d: DossierFacts, as_of: datetime) -> bool:
    """An open dossier is overdue when its judging instant is after its deadline."""
    if d.due_at is None:
        return False
    judged = d.paused_at if d.paused_at is not None and d.paused_at < as_of else as_of
    return judged > d.due_at


def classify(d: DossierFacts, period: Period, as_of: datetime) -> Counts | None:
    """This dossier's contribution to a row, or ``None`` when it is not in the report at all.

    ``as_of`` is ``period.as_of(now)``."""
    if d.received_at is None or d.received_at >= period.end:
        return None
    res = resolution_instant(d)
    new = d.received_at >= period.start
    if not new and res is not None and res < period.start:
        return None  # closed before the period began
    if d.outcome == WITHDRAWN:
        return Counts(withdrawn=1)
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
    if res is not None and res < period.end:
        c.resolved_total = 1
        kind = timeliness(res, d.due_at)
        c.resolved_early, c.resolved_on_time, c.resolved_late = (
            int(kind == "early"),
            int(kind == "on_time"),
            int(kind == "late"),
        )
        c.postal_return = int(d.postal_return)
    else:
        c.in_progress_total = 1
        overdue = overdue_at(d, as_of)
        c.in_progress_overdue, c.in_progress_within = int(overdue), int(not overdue)
    return c


def aggregate(dossiers: Iterable[DossierFacts], period: Period, as_of: datetime) -> Counts:
    """The naive reference: classify one by one and add up."""
    total = Counts()
    for d in dossiers:
        c = classify(d, period, as_of)
        if c is not None:
            total = total + c
    return total
