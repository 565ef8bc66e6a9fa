"""The definitions of form II.06a (pure): single dossiers with known classification, identities on random
dossiers, rates, periods, and the CSV round trip of a report."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.catalogue.calendar import VN_TZ, default_calendar
from backend.custody import deadlines
from backend.reporting.definitions import (
    COUNT_FIELDS,
    Counts,
    DossierFacts,
    Period,
    aggregate,
    classify,
    day_number,
    overdue_at,
    rates,
    resolution_instant,
    timeliness,
)
from backend.reporting.export import read_csv, to_csv
from backend.reporting.query import GroupBy, Scope
from backend.reporting.services import Report, ReportRow
from schemas.vntime import vn_day_start

CAL = default_calendar()
KINDS = {
    "early": "resolved_early",
    "on_time": "resolved_on_time",
    "late": "resolved_late",
    "within": "in_progress_within",
    "overdue": "in_progress_overdue",
}


@dataclass
class Clock:
    """What ``backend.custody.deadlines.timeliness`` reads."""

    received_at: datetime | None
    due_at: datetime | None
    paused_at: datetime | None
    resolved_at: datetime | None
    outcome: str | None = None


MARCH = Period(date(2025, 3, 1), date(2025, 3, 31))


def vn(y: int, m: int, d: int, h: int = 9) -> datetime:
    return datetime(y, m, d, h, tzinfo=VN_TZ)


def test_period_bounds_are_vietnam_midnights() -> None:
    assert MARCH.start == datetime(2025, 2, 28, 17, tzinfo=UTC)
    assert MARCH.end == datetime(2025, 3, 31, 17, tzinfo=UTC)
    assert MARCH.as_of(vn(2025, 3, 10)) == vn(2025, 3, 10)
    assert MARCH.as_of(vn(2026, 1, 1)) == MARCH.end
    assert vn_day_start(date(1976, 1, 2)) == datetime(1976, 1, 1, 17, tzinfo=UTC)
    assert vn_day_start(date(1970, 1, 2)) != datetime(1970, 1, 1, 17, tzinfo=UTC)  # UTC+8 then: see FIRST_DAY
    assert day_number(date(1970, 1, 2)) == 1
    with pytest.raises(ValueError):
        Period(date(2025, 3, 2), date(2025, 3, 1))


def test_timeliness() -> None:
    due = vn(2025, 3, 14, 17)
    assert timeliness(vn(2025, 3, 13, 18), due) == "early"
    assert timeliness(vn(2025, 3, 14, 8), due) == "on_time"
    assert timeliness(vn(2025, 3, 14, 17), due) == "on_time"
    assert timeliness(vn(2025, 3, 14, 18), due) == "late"  # same day, after the hour on the slip
    assert timeliness(vn(2025, 3, 15, 8), due) == "late"
    assert timeliness(vn(2025, 3, 15), None) == "on_time"


def test_overdue_is_judged_when_paused() -> None:
    due = vn(2025, 3, 14, 17)
    as_of = vn(2025, 3, 20)
    assert overdue_at(DossierFacts(received_at=vn(2025, 3, 3), due_at=due), as_of)
    assert not overdue_at(
        DossierFacts(received_at=vn(2025, 3, 3), due_at=due, paused_at=vn(2025, 3, 10)), as_of
    )
    assert overdue_at(DossierFacts(received_at=vn(2025, 3, 3), due_at=due, paused_at=vn(2025, 3, 17)), as_of)
    assert not overdue_at(DossierFacts(received_at=vn(2025, 3, 3)), as_of)


def test_resolution_instant_falls_back_to_return_and_never_precedes_receipt() -> None:
    assert resolution_instant(DossierFacts(received_at=vn(2025, 3, 3), returned_at=vn(2025, 3, 5))) == vn(
        2025, 3, 5
    )
    early = DossierFacts(received_at=vn(2025, 3, 3), resolved_at=vn(2025, 3, 1), returned_at=vn(2025, 3, 9))
    assert resolution_instant(early) == vn(2025, 3, 3)


def test_single_dossiers() -> None:
    as_of = MARCH.end
    assert classify(DossierFacts(received_at=None), MARCH, as_of) is None
    assert classify(DossierFacts(received_at=vn(2025, 4, 1)), MARCH, as_of) is None
    closed = DossierFacts(received_at=vn(2025, 2, 3), resolved_at=vn(2025, 2, 27))
    assert classify(closed, MARCH, as_of) is None
    withdrawn = DossierFacts(received_at=vn(2025, 3, 3), outcome="withdrawn")
    assert classify(withdrawn, MARCH, as_of) == Counts(withdrawn=1)

    carried = classify(
        DossierFacts(received_at=vn(2025, 2, 27), due_at=vn(2025, 3, 3, 17), resolved_at=vn(2025, 3, 3, 16)),
        MARCH,
        as_of,
    )
    assert carried == Counts(received_total=1, carried_over=1, resolved_total=1, resolved_on_time=1)

    postal = classify(
        DossierFacts(
            received_at=vn(2025, 3, 3), due_at=vn(2025, 3, 5, 17), channel="home_pickup", postal_return=True
        ),
        MARCH,
        as_of,
    )
    assert postal == Counts(
        received_total=1,
        received_direct_postal=1,
        in_progress_total=1,
        in_progress_overdue=1,
        postal_pickup=1,
        postal_home_pickup=1,
    )
    # the same dossier judged on 4 March, before its due date, is within the deadline
    within = classify(
        DossierFacts(received_at=vn(2025, 3, 3), due_at=vn(2025, 3, 5, 17)), MARCH, vn(2025, 3, 4)
    )
    assert within is not None and within.in_progress_within == 1


def test_rates() -> None:
    c = Counts(
        received_total=10,
        received_online=3,
        received_direct_postal=4,
        carried_over=3,
        resolved_total=6,
        resolved_early=1,
        resolved_on_time=1,
        resolved_late=4,
        in_progress_total=4,
        in_progress_within=4,
        postal_pickup=2,
    )
    assert c.identity_errors() == []
    assert rates(c) == {"on_time_rate": 33.3, "online_share": 42.9, "postal_share": 28.6}
    assert rates(Counts()) == {"on_time_rate": None, "online_share": None, "postal_share": None}
    broken = Counts(received_total=1, received_online=1, resolved_total=1)
    assert len(broken.identity_errors()) == 1


BASE = datetime(2025, 1, 20, tzinfo=VN_TZ)  # Tết 2025 (28/1-2/2) falls inside
instants = st.integers(-30 * 24, 90 * 24).map(lambda h: BASE + timedelta(hours=h))
facts = st.builds(
    DossierFacts,
    received_at=st.none() | instants,
    due_at=st.none() | instants,
    resolved_at=st.none() | instants,
    returned_at=st.none() | instants,
    paused_at=st.none() | instants,
    paused_working_days=st.integers(0, 6),
    channel=st.sampled_from(["direct", "online", "home_pickup", "post_office"]),
    postal_pickup=st.booleans(),
    postal_return=st.booleans(),
    outcome=st.sampled_from([None, "approved", "withdrawn"]),
)


@settings(max_examples=300)
@given(st.lists(facts, max_size=40), st.integers(-20, 60), st.integers(0, 40), st.integers(-120, 60 * 24))
def test_identities_and_chaining_on_random_dossiers(
    dossiers: list[DossierFacts], start: int, length: int, today: int
) -> None:
    first = BASE.date() + timedelta(days=start)
    period = Period(first, first + timedelta(days=length))
    as_of = period.as_of(vn_day_start(first) + timedelta(hours=today))
    total = aggregate(dossiers, period, as_of)
    assert total.identity_errors() == []
    for d in dossiers:
        c = classify(d, period, as_of)
        if c is not None:
            assert c.identity_errors() == []
            assert c.received_total + c.withdrawn == 1
            if d.due_at is not None and d.received_at is not None and c.received_total:
                # the report and custody's live view name every counted dossier the same way
                res = resolution_instant(d)
                closed = res is not None and res < period.end
                paused = (
                    d.paused_at if d.paused_at is not None and d.paused_at < as_of and not closed else None
                )
                live = deadlines.timeliness(
                    Clock(d.received_at, d.due_at, paused, res if closed else None),
                    as_of,
                    CAL,
                )
                mine = next(k for k in KINDS if getattr(c, KINDS[k]))
                assert live is not None and live.value == mine
    # what is in progress at the end of one period is what the next one carries over
    after = Period(period.last + timedelta(days=1), period.last + timedelta(days=10))
    following = aggregate(dossiers, after, after.end)
    assert following.carried_over == total.in_progress_total


def test_csv_round_trip_of_a_report() -> None:
    c = Counts(
        received_total=3, received_online=1, received_direct_postal=2, resolved_total=3, resolved_late=3
    )
    rows = [ReportRow("Hộ tịch", "Hộ tịch", c), ReportRow('Chứng thực, "sao y"', "x;y", c + c)]
    report = Report(MARCH, Scope(kind="desk", code="82-MC-1"), GroupBy.field, MARCH.end, rows, BASE)
    data = to_csv(report)
    assert data.startswith(b"\xef\xbb\xbf")
    parsed = read_csv(data)
    assert parsed == [r.as_json() for r in rows] + [report.total.as_json()]
    assert parsed[-1]["received_total"] == 9 and parsed[-1]["on_time_rate"] == 0.0
    assert set(COUNT_FIELDS) <= parsed[0].keys()
