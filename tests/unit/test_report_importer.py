"""The importer's pure parts: reading the file, times, channels and the per-row rules."""

import uuid
from datetime import UTC, datetime

import pytest

from backend.catalogue.calendar import default_calendar
from backend.reporting.import_rows import Lookups, RowInvalid, parse_instant, validate_row
from backend.reporting.importer import ImportRejected, read_rows

CAL = default_calendar()
PROC, AGENCY, DESK = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
HEADER = "code,procedure_code,agency_code,channel,postal_pickup,postal_return,received_at,due_at,resolved_at,returned_at"


def lookups() -> Lookups:
    return Lookups(
        procedures={"1.001193": PROC},
        orgs={"82-STP": (AGENCY, "agency"), "82-TTPVHCC": (DESK, "desk")},
        existing={},
        calendar=CAL,
    )


def row(**kw: str) -> dict[str, str]:
    base = dict(
        code="HS-OLD-1",
        procedure_code="1.001193",
        agency_code="82-STP",
        channel="direct",
        postal_pickup="0",
        postal_return="0",
        received_at="2024-05-06 09:00",
        due_at="2024-05-10",
        resolved_at="",
        returned_at="",
    )
    base.update(kw)
    return base


NOW = datetime(2025, 1, 1, tzinfo=UTC)


def test_times_in_every_accepted_form() -> None:
    nine_vn = datetime(2024, 5, 6, 2, tzinfo=UTC)
    assert parse_instant("2024-05-06 09:00") == nine_vn
    assert parse_instant("2024-05-06T09:00:00+07:00") == nine_vn
    assert parse_instant("2024-05-06T02:00:00Z") == nine_vn
    assert parse_instant("06/05/2024 09:00") == nine_vn
    assert parse_instant("06/05/2024") == datetime(2024, 5, 5, 17, tzinfo=UTC)
    assert parse_instant("2024-05-10", bare_date_at_close=CAL) == datetime(2024, 5, 10, 10, tzinfo=UTC)
    for bad in ("tomorrow", "31/02/2024", "2024-13-01"):
        with pytest.raises(RowInvalid):
            parse_instant(bad)


def test_line_numbers_follow_the_file_even_with_multiline_cells_and_blank_lines() -> None:
    text = (
        HEADER + '\nA,1,2,direct,0,0,x,y,,\n\n"B\nsecond line",1,2,online,0,0,x,y,,\nC,1,2,direct,0,0,x,y,,\n'
    )
    rows, errors = read_rows(text + "D,1,2,direct,0,0,x,y,,,extra\nE,1\n")
    assert [(line, r["code"]) for line, r in rows] == [(2, "A"), (4, "B\nsecond line"), (6, "C"), (8, "E")]
    assert rows[-1][1]["returned_at"] == ""  # short rows are padded; validation reports the empty cells
    assert [(e.line, "11 cells" in e.reason) for e in errors] == [(7, True)]
    with pytest.raises(ImportRejected) as exc:
        read_rows("code,channel\nA,direct\n")
    assert exc.value.errors[0].line == 1 and "procedure_code" in exc.value.errors[0].reason


def test_channels_and_flags() -> None:
    v = validate_row(row(channel="postal", postal_pickup="1", postal_return="1"), lookups(), NOW)
    assert (v["channel"], v["postal_pickup"], v["postal_return"]) == ("home_pickup", True, True)
    v = validate_row(row(channel="POSTAL"), lookups(), NOW)
    assert (v["channel"], v["postal_pickup"]) == ("post_office", True)
    assert validate_row(row(channel="online"), lookups(), NOW)["postal_pickup"] is False
    for bad in (
        dict(channel="online", postal_pickup="1"),
        dict(channel="home_pickup"),
        dict(postal_return=""),
    ):
        with pytest.raises(RowInvalid):
            validate_row(row(**bad), lookups(), NOW)


def test_row_rules() -> None:
    v = validate_row(row(resolved_at="2024-05-09 10:00", returned_at="2024-05-10 08:00"), lookups(), NOW)
    assert v["status"] == "delivered" and v["custodian_kind"] == "citizen"
    assert v["due_at"] == datetime(2024, 5, 10, 10, tzinfo=UTC)  # bare due date: 17:00 Vietnam time
    assert v["agency_code"] == "HS-OLD-1" and v["agency_id"] == AGENCY and v["desk_id"] is None
    v = validate_row(row(desk_code="82-TTPVHCC", resolved_at="2024-05-09 10:00"), lookups(), NOW)
    assert (v["status"], v["custodian_kind"], v["custodian_org_id"]) == ("result_ready", "desk", DESK)
    assert validate_row(row(), lookups(), NOW)["status"] == "processing"
    cases = {
        "procedure": dict(procedure_code="9.999"),
        "agency is a desk": dict(agency_code="82-TTPVHCC"),
        "returned before resolved": dict(resolved_at="2024-05-09 10:00", returned_at="2024-05-08 10:00"),
        "outcome without resolution": dict(outcome="approved"),
        "bad outcome": dict(resolved_at="2024-05-09 10:00", outcome="maybe"),
        "paused": dict(paused_working_days="-1"),
        "before 1976": dict(received_at="1975-01-01 09:00", due_at="1975-01-05"),
        "future": dict(received_at="2025-02-01 09:00", due_at="2025-02-05"),
    }
    for name, kw in cases.items():
        with pytest.raises(RowInvalid):
            validate_row(row(**kw), lookups(), NOW)
            pytest.fail(name)
    with_agency = lookups()
    with_agency.default_agency = ("82-STP", AGENCY)
    assert validate_row(row(agency_code=""), with_agency, NOW)["agency_id"] == AGENCY
    with pytest.raises(RowInvalid):
        validate_row(row(agency_code="82-OTHER"), with_agency, NOW)
