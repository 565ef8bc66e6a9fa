"""HTTP for reports: form II.06a figures (JSON or CSV) and the admin import of past dossiers."""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import FromQuery, MultipartBody, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal, provide_principal, requires
from backend.lib.dates import check_days
from backend.lib.openapi import CONSOLE, problems
from backend.lib.problems import Problem
from backend.lib.responses import LocalTimeResponse
from backend.reporting import export, importer, services
from backend.reporting.query import GroupBy
from schemas.base import utcnow
from schemas.enums import Role
from schemas.reporting import DossierReport, ImportSummary, ReportRow
from schemas.vntime import vn_date

MAX_UPLOAD_BYTES = 12 * 1024 * 1024
CSV = "text/csv; charset=utf-8"


class ReportFormat(StrEnum):
    json = "json"
    csv = "csv"


@dataclass
class ImportUpload:
    file: UploadFile
    org: str | None = None
    dry_run: bool = False


@dataclass
class ReportOperation(Operation):
    """One 200 answer in two media types, chosen by ``format``: a handler declares only one, so the CSV is
    added to the document here."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse) and ok.content is not None:
            ok.content[CSV] = OpenAPIMediaType(
                schema=Schema(
                    type=OpenAPIType.STRING, description="form II.06a as CSV with a BOM (`format=csv`)"
                )
            )


def report_model(report: services.Report) -> DossierReport:
    def row(r: services.ReportRow) -> ReportRow:
        return ReportRow(**r.as_json())

    return DossierReport(
        from_=report.period.first,
        to=report.period.last,
        org=report.scope.code,
        org_name=report.scope.name,
        scope=report.scope.kind,  # type: ignore[arg-type]
        group_by=report.group_by,
        as_of=report.as_of,
        generated_at=report.generated_at,
        rows=[row(r) for r in report.rows],
        total=row(report.total),
    )


class ReportsController(Controller):
    path = "/reports"
    tags = [CONSOLE]
    dependencies = {"principal": Provide(provide_principal)}

    @get(
        "/dossiers",
        guards=[requires(Role.desk, Role.agency, Role.admin)],
        operation_class=ReportOperation,
        summary="Report dossiers received, resolved and in progress (form II.06a)",
        description=(
            "Form II.06a (Circular 01/2018/TT-VPCP appendix II, filed under Decree 118/2025/NĐ-CP) for the days "
            "`from`–`to` (Vietnam time; default this month up to today, at most five years): received "
            "(online, direct or postal, carried over), resolved (early, on time, late), in progress (within, "
            "overdue), with postal counts and rates, one row per field, procedure or agency (`group_by`) and "
            "the total. `backend/reporting/definitions.py` says what each column counts. Desks and agencies "
            "see their own organisation (another `org` is 403); admins any organisation, a province "
            "(`org=82`) or everything. `format=csv` answers the same as CSV with a BOM, as a download."
        ),
        responses=problems(404, 422),
    )
    async def get_dossier_report(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        from_: Annotated[
            date | None, QueryParameter(name="from", description="first day (Vietnam time)")
        ] = None,
        to: Annotated[date | None, QueryParameter(description="last day, inclusive")] = None,
        org: Annotated[
            str | None, QueryParameter(max_length=32, description="organisation code, or a province code")
        ] = None,
        group_by: FromQuery[GroupBy] = GroupBy.field,
        format: FromQuery[ReportFormat] = ReportFormat.json,
    ) -> Response[DossierReport]:
        check_days(**{"from": from_, "to": to})
        period = services.make_period(from_, to, vn_date(utcnow()))
        scope = await services.resolve_scope(db_session, principal, org)
        report = await services.dossier_report(db_session, period, scope, group_by)
        if format is ReportFormat.csv:
            csv: Response[Any] = Response(
                content=export.to_csv(report),
                media_type=CSV,
                headers={"Content-Disposition": f'attachment; filename="{export.filename(report)}"'},
            )
            return csv
        return LocalTimeResponse(content=report_model(report))

    @post(
        "/imports",
        guards=[requires(Role.admin)],
        status_code=201,
        summary="Import past dossiers from the previous one-stop system",
        description=(
            "Admins. A CSV file (`file`, at most 12 MB; columns in `backend/reporting/importer.py`) of dossiers "
            "the previous system handled, for `org` (a desk or agency code) when the file does not say, so "
            "reports cover the years before. All or nothing: any bad row rejects the whole file with 422 "
            "`import_rejected` and the `errors` by line. A dossier already imported (same old code and agency) "
            "is not imported twice. `dry_run=true` validates only and changes nothing. No notifications."
        ),
        responses=problems(413, 422),
    )
    async def import_dossiers(
        self,
        db_session: NamedDependency[AsyncSession],
        data: MultipartBody[ImportUpload],
    ) -> ImportSummary:
        content = await data.file.read()
        if len(content) > MAX_UPLOAD_BYTES:
            raise Problem(413, "Tệp quá lớn / File too large", code="too_large")
        try:
            result = await importer.import_dossiers(
                db_session,
                content,
                source=data.file.filename or "upload.csv",
                org_code=data.org or None,
                dry_run=data.dry_run,
            )
        except importer.ImportRejected as exc:
            raise Problem(
                422,
                f"Không nhập hồ sơ nào: {len(exc.errors)} lỗi / Nothing imported: {len(exc.errors)} error(s)",
                code="import_rejected",
                extra={
                    "rows": exc.rows,
                    "error_count": len(exc.errors),
                    "errors": [e.as_json() for e in exc.errors[: importer.MAX_ERRORS_SHOWN]],
                },
            ) from None
        return ImportSummary.model_validate(result.as_json())


ROUTES = [ReportsController]
