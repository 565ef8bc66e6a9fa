"""Vietnam time: the one place that turns instants into Vietnam dates and clock times, and back.

Asia/Ho_Chi_Minh has been UTC+07:00 without daylight saving since 13 June 1975, so a Vietnam day is always
86,400 s long and starts at 17:00 UTC of the day before.

The one rule for naive datetimes: an *instant* without a UTC offset is a programming error and raises
``ValueError`` (fail closed). The API refuses naive instants (``schemas.base.Instant``, 422 ``naive_time``) and
the database returns aware UTC (advanced-alchemy ``DateTimeUTC``), so a naive value here means a bug upstream;
guessing "UTC" or "the server's zone" would silently shift a deadline by seven hours. The only naive input
accepted is a *wall-clock* reading that is known to be Vietnam time (a spreadsheet cell, a form field):
``from_vn_wall`` takes exactly that, and refuses aware values.

This module imports nothing from backend, so backend, notifications and routing-free code may all use it.
"""

import functools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

NAIVE_INSTANT = "instant must be timezone-aware (store UTC, see schemas.base.utcnow); got a naive datetime"


def _require_aware(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(NAIVE_INSTANT)
    return instant


def to_vn(instant: datetime) -> datetime:
    """``instant`` shown in Vietnam time (aware, +07:00). Naive values raise ``ValueError``."""
    return _require_aware(instant).astimezone(VN_TZ)


@functools.lru_cache(maxsize=8192)
def vn_date(instant: datetime) -> date:
    """The Vietnam calendar date of ``instant``. Naive values raise ``ValueError``.

    Cached: booking and planning listings ask it of the same few hundred window starts on every request
    (equal instants in different zones hash alike and share one date, which is correct).
    """
    return to_vn(instant).date()


def vn_day_start(day: date) -> datetime:
    """00:00 Vietnam time of ``day`` as an aware UTC instant (17:00 UTC of the day before)."""
    return datetime.combine(day, time(0), tzinfo=VN_TZ).astimezone(UTC)


def at_vn(day: date, at: time | float) -> datetime:
    """The aware UTC instant at Vietnam clock time ``at`` on ``day``.

    ``at`` is a ``datetime.time`` (naive: it is a wall-clock reading; an aware time is refused) or a number of
    seconds from local midnight (rounded to whole seconds; may exceed a day or be negative).
    """
    if isinstance(at, time):
        if at.tzinfo is not None:
            raise ValueError("at_vn takes a Vietnam wall-clock time without tzinfo")
        return datetime.combine(day, at, tzinfo=VN_TZ).astimezone(UTC)
    return vn_day_start(day) + timedelta(seconds=round(at))


def from_vn_wall(local: datetime) -> datetime:
    """A naive wall-clock reading known to be Vietnam time (e.g. a spreadsheet cell) as an aware UTC instant."""
    if local.tzinfo is not None:
        raise ValueError(
            "from_vn_wall takes a naive Vietnam wall-clock reading; convert aware values with to_vn"
        )
    return local.replace(tzinfo=VN_TZ).astimezone(UTC)
