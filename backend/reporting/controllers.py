"""HTTP for reports: form II.06a figures (JSON or CSV) and the admin import of past dossiers."""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, MultipartBody, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal, provide_principal, requires
from backend.lib.dates import check_days
from backend.lib.problems import Problem
from backend.reporting import export, importer, services
from backend.reporting.query import GroupBy
from schemas.base import utcnow
from schemas.enums import Role
from schemas.vntime import vn_date

MAX_UPLOAD_BYTES = 12 * 1024 * 1024


class ReportFormat(StrEnum):
    json = "json"
    csv = "csv"


@dataclass
class ImportUpload:
    file: UploadFile
    org: str | None = None
    dry_run: bool = False


class ReportsController(Controller):
    path = "/reports"
    tags = ["reports"]
    dependencies = {"principal": Provide(provide_principal)}

    @get("/dossiers", guards=[requires(Role.desk, Role.agency, Role.admin)])
    async def dossiers(
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
    ) -> Response[Any]:
        """Form II.06a (received / resolved / in progress) with postal counts and rates; see
        ``backend/reporting/definitions.py`` for what each column counts. Desks and agencies see their own
        organisation; admins any organisation, a province (``org=82``) or everything."""
        check_days(**{"from": from_, "to": to})
        period = services.make_period(from_, to, vn_date(utcnow()))
        scope = await services.resolve_scope(db_session, principal, org)
        report = await services.dossier_report(db_session, period, scope, group_by)
        if format is ReportFormat.csv:
            return Response(
                content=export.to_csv(report),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{export.filename(report)}"'},
            )
        return Response(content=report.as_json())

    @post("/imports", guards=[requires(Role.admin)], status_code=201)
    async def import_dossiers(
        self,
        db_session: NamedDependency[AsyncSession],
        data: MultipartBody[ImportUpload],
    ) -> dict[str, Any]:
        """Import past dossiers from the previous one-stop system (CSV, columns in
        ``backend/reporting/importer.py``). All or nothing: any bad row rejects the file with 422 and the list
        of ``errors`` by line. ``dry_run=true`` validates only."""
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
        return result.as_json()


ROUTES = [ReportsController]
