"""Pure rules of ratings and complaints: windows, who handles what, means. No web, no database.

Ratings use the criteria and the 1-5 scale of the national satisfaction index SIPAS (Chỉ số hài lòng về sự phục
vụ hành chính; Ministry of Home Affairs, Decision 3004/QĐ-BNV, survey methodology of Decision 1055/QĐ-BNV):
attitude of the staff, the time taken, fees, the result (``schemas.feedback.CRITERIA``).

Complaints follow the steps of Decree 20/2008/NĐ-CP (receiving and handling feedback and recommendations,
phản ánh, kiến nghị, as amended by Decree 92/2017/NĐ-CP): received, classified and passed to the competent
organisation, handled within a deadline counted in working days, the answer sent to the person who filed it.
A complaint in the sense of the Law on Complaints (khiếu nại) is outside that decree and this service.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from schemas.feedback import CATEGORY_TEXTS, CRITERIA, ComplaintStatus

# Status -> the statuses a complaint may move to, and by which step.
STEPS: Mapping[str, tuple[frozenset[str], str]] = {
    "assign": (frozenset({ComplaintStatus.received, ComplaintStatus.assigned}), ComplaintStatus.assigned),
    "answer": (frozenset({ComplaintStatus.assigned}), ComplaintStatus.answered),
    "close": (frozenset({ComplaintStatus.answered}), ComplaintStatus.closed),
    "reopen": (frozenset({ComplaintStatus.answered, ComplaintStatus.closed}), ComplaintStatus.assigned),
}
DEFAULT_DEADLINE_DAYS = 10  # working days; the assigning staff may set 1-30


def may_step(step: str, status: str) -> bool:
    return status in STEPS[step][0]


def next_status(step: str) -> str:
    return STEPS[step][1]


def rate_until(completed_at: datetime, window_days: int) -> datetime:
    """The last moment a visit completed at ``completed_at`` may be rated."""
    return completed_at + timedelta(days=window_days)


def edit_until(rated_at: datetime, edit_days: int) -> datetime:
    return rated_at + timedelta(days=edit_days)


def is_overdue(status: str, due_on: date | None, today: date) -> bool:
    """Assigned and not answered by the end of its due day (Vietnam time)."""
    return status == ComplaintStatus.assigned and due_on is not None and today > due_on


def on_time(answered_on: date, due_on: date | None) -> bool:
    return due_on is None or answered_on <= due_on


def category_name(category: str) -> str:
    vi, en = CATEGORY_TEXTS.get(category, (category, category))
    return f"{vi} / {en}"


@dataclass
class ScoreSums:
    """Running sums of one group's scores, for the report's means."""

    count: int = 0
    attitude: int = 0
    timeliness: int = 0
    fees: int = 0
    result: int = 0

    def add(self, scores: Mapping[str, int]) -> None:
        self.count += 1
        self.attitude += scores["attitude"]
        self.timeliness += scores["timeliness"]
        self.fees += scores["fees"]
        self.result += scores["result"]

    def means(self) -> dict[str, float | None]:
        out: dict[str, float | None] = {
            k: (round(getattr(self, k) / self.count, 2) if self.count else None) for k in CRITERIA
        }
        values = [v for v in out.values() if v is not None]
        out["overall"] = round(sum(values) / len(values), 2) if values else None
        return out


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def months(days: Iterable[date]) -> list[str]:
    return sorted({month_of(d) for d in days})
