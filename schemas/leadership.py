"""Answers of the province leadership's reports (issue 23): form II.06a by commune, post office, agency,
procedure, field or month with the units that had no dossiers; the legs of the postal chain and the postal share
of the legal clock; courier and desk scorecards. What is counted is specified in
``backend/reporting/leadership.py``, ``legs.py`` and ``scorecards.py``.

msgspec Structs like ``schemas.reporting`` (the period is ``from``/``to``); instants are shown in Vietnam time.
No personal data: dossiers by item id, couriers by username and office, no names, phones or addresses.
"""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

from schemas.reporting import Count, Rate, ReportRow
from schemas.vntime import to_vn


class UnitGroup(StrEnum):
    commune = "commune"  # the commune of the dossier's desk (else its agency)
    post_office = "post_office"
    agency = "agency"
    procedure = "procedure"
    field = "field"  # lĩnh vực
    month = "month"  # the period cut at month ends, each month its own form


class ScorecardKind(StrEnum):
    courier = "courier"
    desk = "desk"


Leg = Literal["citizen_post", "post_desk", "agency", "desk_post", "post_citizen"]
Hours = Annotated[float, Meta(ge=0, examples=[6.5])]
From = Annotated[date, Meta(description="first day (Vietnam time)")]
To = Annotated[date, Meta(description="last day, inclusive")]
ProvinceCode = Annotated[str, Meta(examples=["82"])]
ProvinceName = Annotated[str, Meta(examples=["Tỉnh Đồng Tháp"])]


class UnitReport(Struct, kw_only=True):
    """Form II.06a of a province, one row per unit (every commune, post office, agency, procedure or field
    of the province, those without dossiers included, or every month), then the total."""

    from_: From = msgspec.field(name="from")
    to: To
    province: ProvinceCode
    province_name: ProvinceName
    group_by: UnitGroup
    as_of: Annotated[datetime, Meta(description="open dossiers are judged at this instant")]
    generated_at: datetime
    rows: list[ReportRow]
    total: ReportRow
    units: Annotated[int, Meta(ge=0, description="units listed (rows other than 'none')", examples=[102])]
    units_without_dossiers: Annotated[
        int, Meta(ge=0, description="units with no dossier received (received_total 0)", examples=[66])
    ]
    units_without_postal: Annotated[
        int, Meta(ge=0, description="units with no dossier received through the post", examples=[80])
    ]

    def __post_init__(self) -> None:
        self.as_of = to_vn(self.as_of)
        self.generated_at = to_vn(self.generated_at)


class LegStats(Struct, kw_only=True):
    """One leg of the chain: how many ended in the period and how long they took."""

    leg: Leg
    name: Annotated[str, Meta(examples=["Công dân → bưu điện / Citizen → post"])]
    count: Count
    median_working_hours: Hours | None
    p90_working_hours: Hours | None
    median_hours: Hours | None
    p90_hours: Hours | None


class SlowHandover(Struct, kw_only=True):
    """One of the slowest legs: the dossier's item id and the units at each end; no personal data."""

    item_id: Annotated[str, Meta(examples=["HS123456785VN"])]
    leg: Leg
    started_at: datetime
    ended_at: datetime
    working_hours: Hours
    hours: Hours
    from_unit: Annotated[str, Meta(examples=["82-BD-01"])] | None
    to_unit: Annotated[str, Meta(examples=["82-TTPVHCC"])] | None

    def __post_init__(self) -> None:
        self.started_at = to_vn(self.started_at)
        self.ended_at = to_vn(self.ended_at)


class ClockShare(Struct, kw_only=True):
    """The postal share of the legal clock over the dossiers whose deadline fell in the period."""

    dossiers: Count
    clock_working_hours: Hours
    postal_working_hours: Hours
    postal_share: Rate | None
    median_dossier_share: Rate | None


class LegsReport(Struct, kw_only=True):
    """Time in each leg of the chain (working hours of the working calendar and calendar hours)."""

    from_: From = msgspec.field(name="from")
    to: To
    province: ProvinceCode
    province_name: ProvinceName
    generated_at: datetime
    legs: list[LegStats]
    clock: ClockShare
    slowest: list[SlowHandover]

    def __post_init__(self) -> None:
        self.generated_at = to_vn(self.generated_at)


class ScorecardRow(Struct, kw_only=True):
    """A courier (by username, with its post office) or a desk: home visits finished in the period."""

    key: Annotated[str, Meta(description="courier's username or desk code", examples=["courier07"])]
    name: Annotated[str, Meta(examples=["Bưu điện Phường Cao Lãnh"])]
    office: Annotated[str, Meta(description="the courier's post office", examples=["82-BD-04"])] | None
    visits: Count
    on_time: Count
    failed: Count
    on_time_rate: Rate | None
    ratings: Count | None
    rating_mean: Annotated[float, Meta(ge=1, le=5, examples=[4.6])] | None


class ScorecardReport(Struct, kw_only=True):
    from_: From = msgspec.field(name="from")
    to: To
    province: ProvinceCode
    province_name: ProvinceName
    kind: ScorecardKind
    generated_at: datetime
    rows: list[ScorecardRow]

    def __post_init__(self) -> None:
        self.generated_at = to_vn(self.generated_at)
