"""HTTP for the province leadership's reports (issue 23): form II.06a by unit or month, the legs of the postal
chain, courier and desk scorecards; JSON or CSV (``format=csv``). Province leadership (its own province) and
admins (any province)."""

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from litestar import Controller, Response, get
from litestar.di import NamedDependency, Provide
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import FromQuery, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal, provide_principal, requires
from backend.lib.dates import check_days
from backend.lib.openapi import CONSOLE, problems
from backend.lib.responses import LocalTimeResponse
from backend.reporting import leadership, legs_store, scorecards, services
from backend.reporting import leadership_export as out
from backend.reporting.controllers import CSV, ReportFormat
from backend.reporting.definitions import Period
from schemas.base import utcnow
from schemas.enums import Role
from schemas.leadership import LegsReport, ScorecardKind, ScorecardReport, UnitGroup, UnitReport
from schemas.vntime import vn_date


@dataclass
class CsvOperation(Operation):
    """The 200 answer also as CSV (``format=csv``): a handler declares only one media type."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse) and ok.content is not None:
            ok.content[CSV] = OpenAPIMediaType(
                schema=Schema(type=OpenAPIType.STRING, description="the same report as CSV with a BOM")
            )


FromDay = Annotated[date | None, QueryParameter(name="from", description="first day (Vietnam time)")]
ToDay = Annotated[date | None, QueryParameter(description="last day, inclusive")]
ProvinceParam = Annotated[
    str | None,
    QueryParameter(max_length=8, description="province code: leadership's own (the default), any for admins"),
]
WHO = (
    " Province leadership (role `leadership`) reads its own province (another `province` is 403); admins "
    "name any `province`. `format=csv` answers a CSV file with a BOM."
)


def _csv(content: bytes, name: str) -> Response[Any]:
    return Response(
        content=content, media_type=CSV, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


async def _period_and_province(
    session: AsyncSession, principal: Principal, first: date | None, last: date | None, province: str | None
) -> tuple[Period, leadership.ProvinceScope]:
    check_days(**{"from": first, "to": last})
    period = services.make_period(first, last, vn_date(utcnow()))
    return period, await leadership.province_scope(session, principal, province)


class LeadershipReportsController(Controller):
    path = "/reports/province"
    tags = [CONSOLE]
    dependencies = {"principal": Provide(provide_principal)}
    guards = [requires(Role.leadership, Role.admin)]

    @get(
        "/dossiers",
        operation_class=CsvOperation,
        summary="Report a province's dossiers by commune, post office, agency, procedure, field or month",
        description=(
            "Form II.06a (received, resolved, in progress with postal counts and rates; "
            "`backend/reporting/definitions.py`) for the days `from`–`to` (default this month), one row per "
            "unit of `group_by`: every commune, post office, agency, procedure or field of the province, those "
            "with no dossier included (`units_without_dossiers`, `units_without_postal` count them), or one "
            "row per month; then the total. Units are defined in `backend/reporting/leadership.py`." + WHO
        ),
        responses=problems(404, 422),
    )
    async def get_province_dossier_report(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        from_: FromDay = None,
        to: ToDay = None,
        province: ProvinceParam = None,
        group_by: FromQuery[UnitGroup] = UnitGroup.commune,
        format: FromQuery[ReportFormat] = ReportFormat.json,
    ) -> Response[UnitReport]:
        period, scope = await _period_and_province(db_session, principal, from_, to, province)
        result = await leadership.unit_report(db_session, period, scope, group_by)
        if format is ReportFormat.csv:
            name = out.filename(f"II06a-{group_by.value}", scope.code, period.first, period.last)
            return _csv(out.units_csv(result), name)
        return LocalTimeResponse(content=out.units_model(result))

    @get(
        "/legs",
        operation_class=CsvOperation,
        summary="Report the time in each leg of the postal chain and the postal share of the legal clock",
        description=(
            "For the legs citizen → post, post → desk, desk and agency, desk → post, post → citizen that ended "
            "in the period (from custody events): how many, median and 90th percentile in working hours "
            "(the working calendar's office hours) and in calendar hours; the postal share of the legal clock "
            "over the dossiers whose deadline fell in the period; the `top` slowest legs by item id and the "
            "units at each end (no personal data). `backend/reporting/legs.py` defines each." + WHO
        ),
        responses=problems(404, 422),
    )
    async def get_province_legs_report(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        from_: FromDay = None,
        to: ToDay = None,
        province: ProvinceParam = None,
        top: Annotated[
            int, QueryParameter(ge=0, le=legs_store.MAX_TOP, description="slowest legs listed")
        ] = 10,
        format: FromQuery[ReportFormat] = ReportFormat.json,
    ) -> Response[LegsReport]:
        period, scope = await _period_and_province(db_session, principal, from_, to, province)
        result = await legs_store.legs_report(db_session, period, scope, top)
        if format is ReportFormat.csv:
            return _csv(out.legs_csv(result), out.filename("legs", scope.code, period.first, period.last))
        return LocalTimeResponse(content=out.legs_model(result))

    @get(
        "/scorecards",
        operation_class=CsvOperation,
        summary="Report couriers' or desks' scorecards: visits, on time, failed, ratings",
        description=(
            "Every courier of the province's post offices (`kind=courier`, by username and office, no names) "
            "or every desk (`kind=desk`): home visits finished in the period, those done within the booked "
            "window, failed visits, and the citizens' ratings (count and mean of the SIPAS criteria). "
            "`backend/reporting/scorecards.py` defines each." + WHO
        ),
        responses=problems(404, 422),
    )
    async def get_province_scorecards(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        from_: FromDay = None,
        to: ToDay = None,
        province: ProvinceParam = None,
        kind: FromQuery[ScorecardKind] = ScorecardKind.courier,
        format: FromQuery[ReportFormat] = ReportFormat.json,
    ) -> Response[ScorecardReport]:
        period, scope = await _period_and_province(db_session, principal, from_, to, province)
        result = await scorecards.scorecards(db_session, period, scope, kind)
        if format is ReportFormat.csv:
            name = out.filename(f"scorecards-{kind.value}", scope.code, period.first, period.last)
            return _csv(out.cards_csv(result), name)
        return LocalTimeResponse(content=out.cards_model(result))


ROUTES = [LeadershipReportsController]
