"""The legal clock of a dossier (Decree 118/2025/NĐ-CP): due date, pauses for supplements, timeliness.

Pure functions over the working calendar (``backend.catalogue.calendar_service.working_calendar`` gives the one
in force); reporting uses ``timeliness`` to fill form II.06a, so the rule lives only here.

* Due date (ngày hẹn trả): ``WorkingCalendar.due_at(received_at, processing_days)`` when the desk receives it.
* A supplement request stops the clock; the time the citizen takes to supplement is not counted
  (Decree 118/2025/NĐ-CP on the one-stop mechanism: the processing time runs from a complete dossier). On
  resumption the due date moves later by the working days the clock was stopped.
* Resolved: ``early`` before the due day, ``on_time`` on the due day (by closing), ``late`` after the due
  instant. Open: ``within`` or ``overdue`` (a paused dossier is judged at the moment it was paused).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from backend.catalogue.calendar import WorkingCalendar
from schemas.dossiers import Timeliness as Timeliness  # part of the API's answers, so it lives with them
from schemas.vntime import at_vn, to_vn, vn_date


class ClockLike(Protocol):
    received_at: datetime | None
    due_at: datetime | None
    paused_at: datetime | None
    resolved_at: datetime | None
    outcome: str | None


def due_at(received_at: datetime, processing_days: float, calendar: WorkingCalendar) -> datetime:
    return calendar.due_at(received_at, processing_days)


@dataclass(frozen=True)
class Resumed:
    due_at: datetime
    paused_days: int


def resume(due: datetime, paused_at: datetime, resumed_at: datetime, calendar: WorkingCalendar) -> Resumed:
    """The due date after a pause from ``paused_at`` to ``resumed_at``: later by the working days in between
    (days d with pause day < d <= resume day), keeping the time of day of the original due instant."""
    days = max(0, calendar.working_days_between(vn_date(paused_at), vn_date(resumed_at)))
    local = to_vn(due)
    new_day = calendar.add_days(local.date(), days) if days else local.date()
    return Resumed(due_at=at_vn(new_day, local.time()).astimezone(due.tzinfo), paused_days=days)


def timeliness(dossier: ClockLike, now: datetime, calendar: WorkingCalendar) -> Timeliness | None:
    """Early / on time / late once resolved, within / overdue while open; None before the desk received it
    (no clock yet) or for a withdrawn dossier (counted apart on form II.06a)."""
    if dossier.received_at is None or dossier.due_at is None or dossier.outcome == "withdrawn":
        return None
    due = dossier.due_at
    if dossier.resolved_at is not None:
        done = dossier.resolved_at
        if done > due:
            return Timeliness.late
        # Same local date as the due day -> on time; an earlier day -> early.
        if vn_date(done) < vn_date(due):
            return Timeliness.early
        return Timeliness.on_time
    judged_at = dossier.paused_at if dossier.paused_at is not None else now
    return Timeliness.overdue if judged_at > due else Timeliness.within


def working_days_left(dossier: ClockLike, now: datetime, calendar: WorkingCalendar) -> int | None:
    """Working days from today to the due day (negative when overdue), for the desk's "due soon" view."""
    if dossier.due_at is None or dossier.resolved_at is not None:
        return None
    return calendar.working_days_between(vn_date(now), vn_date(dossier.due_at))
