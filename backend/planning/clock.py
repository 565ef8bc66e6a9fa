"""The routing library counts seconds from local midnight of the plan day; the database keeps aware UTC."""

import functools
from datetime import UTC, date, datetime, time, timedelta

from schemas.base import VN_TZ, to_vn


def day_start(day: date) -> datetime:
    """Midnight of ``day`` in Vietnam time (no DST in Vietnam, so every day is 86,400 s long)."""
    return datetime.combine(day, time(0), tzinfo=VN_TZ)


def secs(day: date, instant: datetime) -> int:
    """Seconds from the plan day's local midnight to ``instant`` (negative before the day)."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return int((instant - day_start(day)).total_seconds())


def at(day: date, seconds: float) -> datetime:
    """The aware UTC instant ``seconds`` after the plan day's local midnight."""
    return (day_start(day) + timedelta(seconds=round(seconds))).astimezone(UTC)


def hhmm_secs(value: str) -> int:
    hours, _, minutes = value.partition(":")
    return int(hours) * 3600 + int(minutes or 0) * 60


@functools.lru_cache(maxsize=8192)
def vn_date(instant: datetime) -> date:
    # Cached: listings ask it of the same few hundred window starts on every request.
    return to_vn(instant).date()


def rfc3339(instant: datetime | None) -> str | None:
    """Shown in Vietnam time with its offset (``2025-07-01T08:00:00+07:00``)."""
    return None if instant is None else to_vn(instant).isoformat(timespec="seconds")
