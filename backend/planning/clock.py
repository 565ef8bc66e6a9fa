"""The routing library counts seconds from local midnight of the plan day; the database keeps aware UTC.

Vietnam time itself (and its rule for naive datetimes: ``ValueError``) lives in ``schemas.vntime``.
"""

from datetime import date, datetime

from schemas.vntime import at_vn, to_vn, vn_day_start
from schemas.vntime import vn_date as vn_date  # re-exported for older imports (tests)

# Kept as an alias for older imports (tests); new code uses schemas.vntime.vn_day_start.
day_start = vn_day_start


def secs(day: date, instant: datetime) -> int:
    """Seconds from the plan day's local midnight to ``instant`` (negative before the day; naive: ValueError)."""
    return int((to_vn(instant) - vn_day_start(day)).total_seconds())


def at(day: date, seconds: float) -> datetime:
    """The aware UTC instant ``seconds`` after the plan day's local midnight."""
    return at_vn(day, seconds)


def hhmm_secs(value: str) -> int:
    hours, _, minutes = value.partition(":")
    return int(hours) * 3600 + int(minutes or 0) * 60


def rfc3339(instant: datetime | None) -> str | None:
    """Shown in Vietnam time with its offset (``2025-07-01T08:00:00+07:00``)."""
    return None if instant is None else to_vn(instant).isoformat(timespec="seconds")
