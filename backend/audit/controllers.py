"""HTTP for the personal-data access audit: the admin's listing and the citizen's own view."""

import uuid
from datetime import date
from typing import Annotated, Any

from litestar import get
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit import services
from backend.lib.auth import Principal, provide_principal, requires
from backend.lib.dates import check_days
from backend.lib.openapi import CITIZEN_APP, CONSOLE, problems
from backend.lib.paging import Paging, provide_paging
from schemas.audit import DataAccessSeenPage, PersonalDataAccessPage
from schemas.enums import Role

DEPS = {"principal": Provide(provide_principal), "paging": Provide(provide_paging, sync_to_thread=False)}


@get(
    "/audit/personal-data",
    guards=[requires(Role.admin)],
    tags=[CONSOLE],
    dependencies=DEPS,
    summary="List staff reads of citizens' personal data",
    description="Admin only. Every time a staff account was shown a citizen's name, phone, address or "
    "location (Decree 13/2023/NĐ-CP art. 27, the record of processing): who read it (account, role, "
    "organisation), whose data, which fields, when, why (`X-Purpose` or `?purpose=`), through which operation "
    "and from which client IP. Filter by `citizen_id`, `staff_id` and Vietnam days `from`/`to`; newest first. "
    "Read-only. Paged (`limit`, `offset`).",
    responses=problems(422),
)
async def list_personal_data_accesses(
    db_session: NamedDependency[AsyncSession],
    paging: NamedDependency[Paging],
    citizen_id: Annotated[uuid.UUID | None, QueryParameter()] = None,
    staff_id: Annotated[uuid.UUID | None, QueryParameter()] = None,
    first: Annotated[date | None, QueryParameter(name="from")] = None,
    last: Annotated[date | None, QueryParameter(name="to")] = None,
) -> PersonalDataAccessPage:
    check_days(**{"from": first, "to": last})
    items, total = await services.list_accesses(
        db_session, paging, citizen_id=citizen_id, staff_id=staff_id, first=first, last=last
    )
    return PersonalDataAccessPage(items=items, total=total, limit=paging.limit, offset=paging.offset)


@get(
    "/citizens/me/data-access",
    guards=[requires(Role.citizen)],
    tags=[CITIZEN_APP],
    dependencies=DEPS,
    summary="List who read my personal data",
    description="Citizens only, their own data (Decree 13/2023/NĐ-CP art. 9: the data subject's right to "
    "know): which organisation and role read which of their data, when and why. Not the staff member's "
    "account or network address, which are that person's own data. Read-only; newest first. Paged (`limit`, "
    "`offset`).",
)
async def list_my_data_accesses(
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    paging: NamedDependency[Paging],
) -> DataAccessSeenPage:
    items, total = await services.citizen_accesses(db_session, principal.id, paging)
    return DataAccessSeenPage(items=items, total=total, limit=paging.limit, offset=paging.offset)


ROUTES: list[Any] = [list_personal_data_accesses, list_my_data_accesses]
