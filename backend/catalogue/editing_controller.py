"""HTTP for the catalogue people edit (issue 23): procedures and their versions, provinces' postal eligibility,
organisations, post offices' service areas, and the import of the national catalogue. Admins only; a
provincial admin (``staff_user.province_code``) within its province (``backend/catalogue/editing.py``)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from litestar import Controller, Request, get, post, put
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue import editing, editing_changes, importer, services, shifts_controller
from backend.lib.auth import Principal, provide_principal, requires
from backend.lib.clientip import caller_ip
from backend.lib.openapi import CONSOLE, problems
from backend.lib.paging import Paging, provide_paging
from backend.lib.problems import Problem
from schemas.base import Instant
from schemas.catalogue import OrganisationPage
from schemas.catalogue_edits import (
    CatalogueChangePublic,
    EligibilityIn,
    EligibilityPage,
    EligibilityPublic,
    ImportResult,
    OrganisationChangeIn,
    OrganisationCreate,
    OrganisationEdited,
    ProcedureCreate,
    ProcedureVersionIn,
    ProcedureVersionPage,
    ProcedureVersionPublic,
    ServiceAreaIn,
)
from schemas.enums import OrgKind, Role

MAX_UPLOAD_BYTES = 12 * 1024 * 1024
NEW = (
    " Versions are never edited: a new one starts at `effective_from` (now or later, else 422 "
    "`catalogue_version_in_past`; after every version of its key, else 409 `catalogue_version_overlap`) and is "
    "in force until the next one starts. Booking checks, quotes and every process's caches follow at once; the "
    "version in force on the day a dossier is received is the one its checks use."
)


@dataclass
class CatalogueUpload:
    file: UploadFile
    dry_run: bool = False
    effective_from: Instant | None = None


class CatalogueEditController(Controller):
    path = "/catalogue"
    tags = [CONSOLE]
    guards = [requires(Role.admin)]
    dependencies = {"principal": Provide(provide_principal)}

    @post(
        "/procedures",
        summary="Create a procedure",
        description="Admin only (national: an admin without a province). A new procedure by its national code "
        "with its first version (name, field, agency level, processing time in working days, documents, whether "
        "the law lets the post collect it and return its result) and its fee (phí) and charge (lệ phí) as its "
        "first fee version (`/prices/procedure-fees`). 409 `procedure_exists` for a known code." + NEW,
        responses=problems(409, 422),
    )
    async def create_procedure(
        self,
        request: Request,  # type: ignore[type-arg]
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[ProcedureCreate],
    ) -> ProcedureVersionPublic:
        return await editing.create_procedure(db_session, principal, caller_ip(request), data)

    @post(
        "/procedures/{code:str}/versions",
        summary="Add a procedure version",
        description="Admin only (national). A new version of a procedure's content from `effective_from`; "
        "fees are versioned at `/prices/procedure-fees`." + NEW,
        responses=problems(404, 409, 422),
    )
    async def create_procedure_version(
        self,
        request: Request,  # type: ignore[type-arg]
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        code: FromPath[str],
        data: JSONBody[ProcedureVersionIn],
    ) -> ProcedureVersionPublic:
        return await editing.add_version(db_session, principal, caller_ip(request), code, data)

    @get(
        "/procedures/{code:str}/versions",
        summary="List a procedure's versions",
        description="Admin only. Every version of a procedure, oldest first, with when each starts and ends.",
        responses=problems(404),
    )
    async def list_procedure_versions(
        self, db_session: NamedDependency[AsyncSession], code: FromPath[str]
    ) -> ProcedureVersionPage:
        items = await editing.list_versions(db_session, code)
        return ProcedureVersionPage(items=items, total=len(items))

    @post(
        "/procedures/{code:str}/eligibility",
        summary="Set a province's postal eligibility of a procedure",
        description="Admin (national, or the province's own). Whether the post may collect the dossier "
        "(`postal_pickup`) and return the result (`postal_return`) of this procedure in `province_code` from "
        "`effective_from`, citing the province's decision (`basis`). A province narrows what the law allows "
        "(Decision 45/2016/QĐ-TTg art. 5): a booking of a procedure the province does not carry by post is "
        "refused with 422 `procedure_not_postal` from then on." + NEW,
        responses=problems(404, 409, 422),
    )
    async def set_procedure_eligibility(
        self,
        request: Request,  # type: ignore[type-arg]
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        code: FromPath[str],
        data: JSONBody[EligibilityIn],
    ) -> EligibilityPublic:
        return await editing.set_eligibility(db_session, principal, caller_ip(request), code, data)

    @get(
        "/procedures/{code:str}/eligibility",
        summary="List a procedure's postal eligibility",
        description="Admin only. Every province's versions (or one `province`'s), with when each starts and ends.",
    )
    async def list_procedure_eligibility(
        self,
        db_session: NamedDependency[AsyncSession],
        code: FromPath[str],
        province: Annotated[str | None, QueryParameter(max_length=8)] = None,
    ) -> EligibilityPage:
        items = await editing.list_eligibility(db_session, code, province)
        return EligibilityPage(items=items, total=len(items))

    @post(
        "/procedures/import",
        summary="Import the national procedure catalogue",
        description="Admin only (national). A CSV (UTF-8, with or without BOM) or JSON export of the national "
        "catalogue (`file`, at most 12 MB; columns: mã thủ tục, tên, lĩnh vực, cấp thực hiện, thời hạn giải "
        "quyết, phí, lệ phí, thành phần hồ sơ, căn cứ pháp lý; see `backend/catalogue/importer_rows.py`). Each "
        "row is compared with the version in force at `effective_from` (now by default): new codes are created, "
        "changed rows get a new version, unchanged rows nothing (importing again is idempotent); changed phí / "
        "lệ phí a fee version. All or nothing: any bad row rejects the file with 422 `import_rejected` and the "
        "`errors` by line. `dry_run=true` reports what would change and writes nothing.",
        responses=problems(409, 413, 422),
    )
    async def import_procedures(
        self,
        request: Request,  # type: ignore[type-arg]
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: MultipartBody[CatalogueUpload],
    ) -> ImportResult:
        content = await data.file.read()
        if len(content) > MAX_UPLOAD_BYTES:
            raise Problem(413, "Tệp quá lớn / File too large", code="too_large")
        when: datetime | None = data.effective_from
        try:
            return await importer.import_catalogue(
                db_session, principal, caller_ip(request), content, dry_run=data.dry_run, effective_from=when
            )
        except importer.ImportRejected as exc:
            raise Problem(
                422,
                f"Không nhập thủ tục nào: {len(exc.errors)} lỗi / Nothing imported: {len(exc.errors)} error(s)",
                code="import_rejected",
                extra={
                    "rows": exc.rows,
                    "error_count": len(exc.errors),
                    "errors": [e.as_json() for e in exc.errors[: importer.MAX_ERRORS_SHOWN]],
                },
            ) from None

    @post(
        "/organisations",
        summary="Create an organisation",
        description="Admin (national, or of the commune's province). A post office, one-stop desk or agency in "
        "a commune; in the catalogue at once. 409 `organisation_exists` for a known code; 422 "
        "`unknown_commune`.",
        responses=problems(409, 422),
    )
    async def create_catalogue_organisation(
        self,
        request: Request,  # type: ignore[type-arg]
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[OrganisationCreate],
    ) -> OrganisationEdited:
        return await editing_changes.create_organisation(db_session, principal, caller_ip(request), data)

    @get(
        "/organisations",
        summary="List organisations, deactivated ones too",
        description="Admin (a provincial admin: its province's only). Like `GET /organisations` (`kind`, "
        "`province`, `commune`; paged) but deactivated organisations are listed too, each with `active`; "
        "`active=false` lists only those, `active=true` only those in service. Not cached: what an admin "
        "just changed shows at once.",
        dependencies={"paging": Provide(provide_paging, sync_to_thread=False)},
        responses=problems(403),
    )
    async def list_catalogue_organisations(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        paging: NamedDependency[Paging],
        kind: FromQuery[OrgKind | None] = None,
        province: Annotated[str | None, QueryParameter(max_length=8)] = None,
        commune: Annotated[str | None, QueryParameter(max_length=8)] = None,
        active: FromQuery[bool | None] = None,
    ) -> OrganisationPage:
        mine = await editing.admin_province(db_session, principal)
        if mine is not None and province not in (None, mine):
            await editing.require_province(db_session, principal, province)
        scope = mine or province
        items, total = await services.organisations(db_session, kind, scope, commune, paging, active=active)
        return OrganisationPage(items=items, total=total, limit=paging.limit, offset=paging.offset)

    @post(
        "/organisations/{code:str}/changes",
        summary="Rename or deactivate an organisation",
        description="Admin (national, or of the organisation's province). A new `name` / `name_en` or "
        "`active` false from `effective_from` (now or later); a deactivated post office serves no commune from "
        "then on. A deactivated organisation is not listed (`GET /organisations`), offered for booking or given "
        "new dossiers (422 `unknown_org` when one names it); its dossiers keep going. Applied at once when it "
        "starts now, else when it comes due.",
        responses=problems(404, 422),
    )
    async def change_catalogue_organisation(
        self,
        request: Request,  # type: ignore[type-arg]
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        code: FromPath[str],
        data: JSONBody[OrganisationChangeIn],
    ) -> CatalogueChangePublic:
        return await editing_changes.change_organisation(
            db_session, principal, caller_ip(request), code, data
        )

    @get(
        "/organisations/{code:str}/changes",
        summary="List an organisation's changes",
        description="Admin only. Renames, deactivations and service areas, applied and scheduled.",
        responses=problems(404),
    )
    async def list_catalogue_organisation_changes(
        self, db_session: NamedDependency[AsyncSession], code: FromPath[str]
    ) -> list[CatalogueChangePublic]:
        return await editing_changes.list_changes(db_session, code)

    @put(
        "/post-offices/{code:str}/service-area",
        summary="Set a post office's service area",
        description="Admin (national, or of the office's and communes' province). The communes the office "
        "serves from `effective_from` (the whole list; a commune another office served moves here). Where "
        "bookings may be made, and so the windows listed, follow at once in every process when it starts now, "
        "else when it comes due.",
        responses=problems(404, 422),
    )
    async def set_service_area(
        self,
        request: Request,  # type: ignore[type-arg]
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        code: FromPath[str],
        data: JSONBody[ServiceAreaIn],
    ) -> CatalogueChangePublic:
        return await editing_changes.set_service_area(db_session, principal, caller_ip(request), code, data)


ROUTES = [CatalogueEditController, *shifts_controller.ROUTES]
