"""HTTP for reference data (public: no personal data here). Answers are rendered once and kept until a
reference table changes (``backend/lib/answer_cache.py``: ETag, If-None-Match, per-client limit)."""

from collections.abc import Iterable
from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue import calendar_service, services
from backend.lib import answer_cache
from backend.lib.auth import Principal, provide_principal, requires
from backend.lib.etag import PUBLIC_REFERENCE
from backend.lib.openapi import CONSOLE, REFERENCE, problems
from backend.lib.paging import Paging, provide_paging
from schemas.catalogue import (
    CalendarOverrideIn,
    CalendarOverridePublic,
    CalendarYear,
    CommunePage,
    OrganisationPage,
    ProcedurePage,
    ProcedurePublic,
)
from schemas.common import MAX_OFFSET
from schemas.enums import OrgKind, Role
from schemas.orgs import OrganisationPublic
from schemas.units import ProvincePublic

paging_dep = {"paging": Provide(provide_paging, sync_to_thread=False)}
# Any change to these drops every stored reference answer (they change a few times a year; migration 0029).
REFERENCE_TAGS = tuple(
    answer_cache.table_tag(table)
    for table in (
        "procedure",
        "procedure_version",
        "procedure_eligibility",
        "procedure_fee",
        "organisation",
        "post_office_commune",
        "province",
        "commune",
        "calendar_override",
    )
)
CACHED = answer_cache.public(
    PUBLIC_REFERENCE
)  # stored answers, ETag and 304, Cache-Control, per-client limit
AnyRequest = Request[Any, Any, Any]


def _tagged(content: Any) -> tuple[Any, Iterable[str]]:
    return content, REFERENCE_TAGS


class UnitsController(Controller):
    path = "/units"
    tags = [REFERENCE]

    @get(
        "/provinces",
        **CACHED,
        responses=problems(429),
        summary="List provinces",
        description="The 34 provinces and centrally-run cities after the 1 July 2025 reform (Resolution "
        "202/2025/QH15), each with its number of communes. Public, no sign-in; changes only with a new "
        "administrative reform, so apps may keep it.",
    )
    async def list_provinces(
        self, request: AnyRequest, db_session: NamedDependency[AsyncSession]
    ) -> Response[list[ProvincePublic]]:
        async def load() -> tuple[Any, Iterable[str]]:
            return _tagged(await services.provinces(db_session))

        return await answer_cache.serve(request, load)

    @get(
        "/communes",
        **CACHED,
        responses=problems(429),
        summary="List communes",
        description="Communes (xã, phường, đặc khu; there are no districts since 2025), by code, optionally "
        "of one `province` or matching `q` in the name. Public, no sign-in. Paged with `limit` (default and "
        "at most 500, so one province fits in a page) and `offset`.",
    )
    async def list_communes(
        self,
        request: AnyRequest,
        db_session: NamedDependency[AsyncSession],
        province: Annotated[str | None, QueryParameter(max_length=8)] = None,
        q: Annotated[str | None, QueryParameter(max_length=100)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 500,
        offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)] = 0,
    ) -> Response[CommunePage]:
        paging = Paging(limit=limit, offset=offset)

        async def load() -> tuple[Any, Iterable[str]]:
            items, total = await services.communes(db_session, province, q, paging)
            return _tagged(CommunePage(items=items, total=total, limit=paging.limit, offset=paging.offset))

        return await answer_cache.serve(request, load)


class OrganisationsController(Controller):
    path = "/organisations"
    tags = [REFERENCE]
    dependencies = paging_dep

    @get(
        "/",
        summary="List organisations",
        **CACHED,
        responses=problems(429),
        description="Post offices, one-stop desks (Bộ phận Một cửa, Trung tâm Phục vụ hành chính công) and "
        "agencies, filtered by `kind`, `province` or `commune`; a post office lists the communes it serves. "
        "Public, no sign-in. Paged (`limit`, `offset`).",
    )
    async def list_organisations(
        self,
        request: AnyRequest,
        db_session: NamedDependency[AsyncSession],
        paging: NamedDependency[Paging],
        kind: FromQuery[OrgKind | None] = None,
        province: Annotated[str | None, QueryParameter(max_length=8)] = None,
        commune: Annotated[str | None, QueryParameter(max_length=8)] = None,
    ) -> Response[OrganisationPage]:
        async def load() -> tuple[Any, Iterable[str]]:
            items, total = await services.organisations(db_session, kind, province, commune, paging)
            return _tagged(
                OrganisationPage(items=items, total=total, limit=paging.limit, offset=paging.offset)
            )

        return await answer_cache.serve(request, load)

    @get(
        "/{code:str}",
        summary="Get an organisation",
        **CACHED,
        responses=problems(404, 429),
        description="One organisation by its code (e.g. `82-BD-01`), with opening hours and, for a post "
        "office, the communes it serves. Public, no sign-in.",
    )
    async def get_organisation(
        self, request: AnyRequest, db_session: NamedDependency[AsyncSession], code: FromPath[str]
    ) -> Response[OrganisationPublic]:
        async def load() -> tuple[Any, Iterable[str]]:
            return _tagged(await services.organisation(db_session, code))

        return await answer_cache.serve(request, load)


class ProceduresController(Controller):
    path = "/procedures"
    tags = [REFERENCE]
    dependencies = paging_dep

    @get(
        "/",
        summary="List procedures",
        **CACHED,
        responses=problems(429),
        description="The administrative procedures (thủ tục hành chính) the service carries, by field "
        "(lĩnh vực) and code: legal processing time, fee (phí) and charge (lệ phí), whether the post may "
        "collect the dossier and return the result, and the documents of the dossier. `q` matches name or "
        "code, `field` one field, `postal` those the post may collect. Public, no sign-in. Paged "
        "(`limit`, `offset`).",
    )
    async def list_procedures(
        self,
        request: AnyRequest,
        db_session: NamedDependency[AsyncSession],
        paging: NamedDependency[Paging],
        q: Annotated[str | None, QueryParameter(max_length=100)] = None,
        field: Annotated[str | None, QueryParameter(max_length=120)] = None,
        postal: FromQuery[bool | None] = None,
    ) -> Response[ProcedurePage]:
        async def load() -> tuple[Any, Iterable[str]]:
            items, total = await services.procedures(db_session, q, field, postal, paging)
            return _tagged(ProcedurePage(items=items, total=total, limit=paging.limit, offset=paging.offset))

        return await answer_cache.serve(request, load)

    @get(
        "/{code:str}",
        summary="Get a procedure",
        **CACHED,
        responses=problems(404, 429),
        description="One procedure by its national code (e.g. `1.001193`, Đăng ký khai sinh) with the "
        "documents its dossier needs. Public, no sign-in.",
    )
    async def get_procedure(
        self, request: AnyRequest, db_session: NamedDependency[AsyncSession], code: FromPath[str]
    ) -> Response[ProcedurePublic]:
        async def load() -> tuple[Any, Iterable[str]]:
            return _tagged(services.procedure_public(await services.procedure_by_code(db_session, code)))

        return await answer_cache.serve(request, load)


class CalendarController(Controller):
    path = "/calendar"
    dependencies = {"principal": Provide(provide_principal)}

    @get(
        "/",
        exclude_from_auth=True,
        tags=[REFERENCE],
        summary="Get a year's working calendar",
        **CACHED,
        responses=problems(429),
        description="The working calendar of state agencies for one `year`: weekdays off (public holidays of "
        "the Labour Code 2019 art. 112, swapped days) and working weekends (make-up days), from the holidays "
        "plus the stored government decisions, and the number of working days. Legal deadlines count only "
        "working days. Public, no sign-in.",
    )
    async def get_calendar_year(
        self,
        request: AnyRequest,
        db_session: NamedDependency[AsyncSession],
        year: Annotated[int, QueryParameter(ge=1976, le=2199)],
    ) -> Response[CalendarYear]:
        async def load() -> tuple[Any, Iterable[str]]:
            return _tagged(
                CalendarYear.model_validate(await calendar_service.calendar_year(db_session, year))
            )

        return await answer_cache.serve(request, load)

    @put(
        "/overrides/{day:date}",
        guards=[requires(Role.admin)],
        tags=[CONSOLE],
        summary="Set a calendar override",
        description="Admin only. Enters a government decision for one day: `off` (an extra day off, a swapped "
        "day) or `working` (a make-up working day), citing its `source`. Replaces any decision already stored "
        "for that day (idempotent). Deadlines computed from now on count it and calendar listings show it at "
        "once; no notification is sent.",
        responses=problems(422),
    )
    async def set_calendar_override(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        day: FromPath[date],
        data: JSONBody[CalendarOverrideIn],
    ) -> CalendarOverridePublic:
        row = await calendar_service.set_override(db_session, principal, day, data)
        return CalendarOverridePublic.model_validate(row.model_dump())

    @delete(
        "/overrides/{day:date}",
        guards=[requires(Role.admin)],
        status_code=204,
        tags=[CONSOLE],
        summary="Remove a calendar override",
        description="Admin only. Removes the stored decision for one day: the day is again what the Labour "
        "Code's holidays make it. Deadlines computed from now on and calendar listings follow at once.",
        responses=problems(404),
    )
    async def delete_calendar_override(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        day: FromPath[date],
    ) -> None:
        await calendar_service.delete_override(db_session, principal, day)


ROUTES: list[Any] = [UnitsController, OrganisationsController, ProceduresController, CalendarController]
