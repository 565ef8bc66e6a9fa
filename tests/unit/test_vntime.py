"""schemas.vntime: the one Vietnam-time module and its one rule for naive datetimes (issue 18)."""

import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.vntime import VN_TZ, at_vn, from_vn_wall, to_vn, vn_date, vn_day_start

ROOT = Path(__file__).resolve().parents[2]
PLUS7 = timedelta(hours=7)


@pytest.mark.parametrize("fn", [to_vn, vn_date])
def test_naive_instant_is_refused(fn: object) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        fn(datetime(2026, 12, 5, 8, 30))  # type: ignore[operator]


def test_wall_clock_helpers_refuse_the_wrong_kind() -> None:
    with pytest.raises(ValueError):
        at_vn(date(2026, 12, 5), time(8, 30, tzinfo=UTC))
    with pytest.raises(ValueError):
        from_vn_wall(datetime(2026, 12, 5, 8, 30, tzinfo=UTC))
    assert from_vn_wall(datetime(2026, 12, 5, 8, 30)) == datetime(2026, 12, 5, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize("month", range(1, 13))
def test_always_plus_seven_no_dst(month: int) -> None:
    shown = to_vn(datetime(2026, month, 15, 12, tzinfo=UTC))
    assert shown.utcoffset() == PLUS7
    assert shown.hour == 19 and shown.tzinfo is VN_TZ


def test_day_boundary_is_17_utc() -> None:
    assert vn_date(datetime(2026, 12, 31, 16, 59, 59, 999999, tzinfo=UTC)) == date(2026, 12, 31)
    assert vn_date(datetime(2026, 12, 31, 17, 0, tzinfo=UTC)) == date(2027, 1, 1)
    assert vn_date(datetime(2027, 1, 1, 0, 0, tzinfo=timezone(PLUS7))) == date(2027, 1, 1)
    assert vn_day_start(date(2027, 1, 1)) == datetime(2026, 12, 31, 17, tzinfo=UTC)
    assert vn_day_start(date(2027, 1, 1)).tzinfo is UTC


def test_at_vn_time_and_seconds() -> None:
    day = date(2026, 12, 5)
    assert at_vn(day, time(17, 0)) == datetime(2026, 12, 5, 10, tzinfo=UTC)
    assert at_vn(day, 8 * 3600 + 30 * 60) == datetime(2026, 12, 5, 1, 30, tzinfo=UTC)
    assert at_vn(day, 24 * 3600) == vn_day_start(day + timedelta(days=1))
    assert at_vn(day, 0).tzinfo is UTC and at_vn(day, time(0)).tzinfo is UTC


@given(st.datetimes(min_value=datetime(1976, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)))
def test_round_trips(instant: datetime) -> None:
    local = to_vn(instant)
    assert local == instant and local.utcoffset() == PLUS7
    day = vn_date(instant)
    assert vn_day_start(day) <= instant < vn_day_start(day + timedelta(days=1))
    assert at_vn(day, local.time()) == instant
    assert from_vn_wall(local.replace(tzinfo=None)) == instant
    whole = instant.replace(microsecond=0)
    assert at_vn(day, int((whole - vn_day_start(day)).total_seconds())) == whole


def test_one_vietnam_zone_in_the_source() -> None:
    """Only schemas/vntime.py may build the Asia/Ho_Chi_Minh zone: everything else imports VN_TZ from it."""
    pattern = re.compile(r"""ZoneInfo\(\s*["']Asia/(Ho_Chi_Minh|Saigon)["']\s*\)""")
    found = [
        str(path.relative_to(ROOT))
        for folder in ("backend", "schemas", "notifications")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != ROOT / "schemas" / "vntime.py" and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []
    assert pattern.search((ROOT / "schemas" / "vntime.py").read_text(encoding="utf-8"))
