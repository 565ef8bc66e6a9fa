"""HTTP for reference data (public: no personal data here)."""

from datetime import date
from typing import Annotated, Any

from litestar import Controller, delete, get, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue import calendar_service, services
from backend.lib.auth import Principal, provide_principal, requires
from backend.lib.paging import Paging, page, provide_paging
from schemas.catalogue import CalendarOverrideIn, ProcedurePublic
from schemas.common import MAX_OFFSET
from schemas.enums import OrgKind, Role
from schemas.orgs import OrganisationPublic
from schemas.units import ProvincePublic

paging_dep = {"paging": Provide(provide_paging, sync_to_thread=False)}


class UnitsController(Controller):
    path = "/units"
    tags = ["reference"]

    @get("/provinces")
    async def provinces(self, db_session: NamedDependency[AsyncSession]) -> list[ProvincePublic]:
        return await services.provinces(db_session)

    @get("/communes")
    async def communes(
        self,
        db_session: NamedDependency[AsyncSession],
        province: Annotated[str | None, QueryParameter(max_length=8)] = None,
        q: Annotated[str | None, QueryParameter(max_length=100)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 500,
        offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)] = 0,
    ) -> dict[str, Any]:
        """Communes, 500 a page by default so a province fits in one."""
        paging = Paging(limit=limit, offset=offset)
        items, total = await services.communes(db_session, province, q, paging)
        return page(items, total, paging)


class OrganisationsController(Controller):
    path = "/organisations"
    tags = ["reference"]
    dependencies = paging_dep

    @get("/")
    async def list_organisations(
        self,
        db_session: NamedDependency[AsyncSession],
        paging: NamedDependency[Paging],
        kind: FromQuery[OrgKind | None] = None,
        province: Annotated[str | None, QueryParameter(max_length=8)] = None,
        commune: Annotated[str | None, QueryParameter(max_length=8)] = None,
    ) -> dict[str, Any]:
        items, total = await services.organisations(db_session, kind, province, commune, paging)
        return page(items, total, paging)

    @get("/{code:str}")
    async def get_organisation(
        self, db_session: NamedDependency[AsyncSession], code: FromPath[str]
    ) -> OrganisationPublic:
        return await services.organisation(db_session, code)


class ProceduresController(Controller):
    path = "/procedures"
    tags = ["reference"]
    dependencies = paging_dep

    @get("/")
    async def list_procedures(
        self,
        db_session: NamedDependency[AsyncSession],
        paging: NamedDependency[Paging],
        q: Annotated[str | None, QueryParameter(max_length=100)] = None,
        field: Annotated[str | None, QueryParameter(max_length=120)] = None,
        postal: FromQuery[bool | None] = None,
    ) -> dict[str, Any]:
        items, total = await services.procedures(db_session, q, field, postal, paging)
        return page(items, total, paging)

    @get("/{code:str}")
    async def get_procedure(
        self, db_session: NamedDependency[AsyncSession], code: FromPath[str]
    ) -> ProcedurePublic:
        return services.procedure_public(await services.procedure_by_code(db_session, code))


class CalendarController(Controller):
    path = "/calendar"
    tags = ["reference"]
    dependencies = {"principal": Provide(provide_principal)}

    @get("/", exclude_from_auth=True)
    async def year(
        self,
        db_session: NamedDependency[AsyncSession],
        year: Annotated[int, QueryParameter(ge=1976, le=2199)],
    ) -> dict[str, Any]:
        """The working calendar of state agencies for one year: weekdays off (public holidays, swapped days)
        and working weekends (make-up days), from the Labour Code's holidays plus the stored overrides."""
        return await calendar_service.calendar_year(db_session, year)

    @put("/overrides/{day:date}", guards=[requires(Role.admin)])
    async def set_override(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        day: FromPath[date],
        data: JSONBody[CalendarOverrideIn],
    ) -> dict[str, Any]:
        """Enter a government decision for one day (admin): ``off`` or ``working``, citing its ``source``.
        Deadlines computed from now on count it; listings pick it up at once."""
        row = await calendar_service.set_override(db_session, principal, day, data)
        return row.model_dump()

    @delete("/overrides/{day:date}", guards=[requires(Role.admin)], status_code=204)
    async def delete_override(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        day: FromPath[date],
    ) -> None:
        await calendar_service.delete_override(db_session, principal, day)


ROUTES: list[Any] = [UnitsController, OrganisationsController, ProceduresController, CalendarController]
