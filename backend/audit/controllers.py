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
from backend.lib.paging import Paging, provide_paging
from schemas.audit import DataAccessSeenPage, PersonalDataAccessPage
from schemas.enums import Role

DEPS = {"principal": Provide(provide_principal), "paging": Provide(provide_paging, sync_to_thread=False)}


@get("/audit/personal-data", guards=[requires(Role.admin)], tags=["audit"], dependencies=DEPS)
async def personal_data_audit(
    db_session: NamedDependency[AsyncSession],
    paging: NamedDependency[Paging],
    citizen_id: Annotated[uuid.UUID | None, QueryParameter()] = None,
    staff_id: Annotated[uuid.UUID | None, QueryParameter()] = None,
    first: Annotated[date | None, QueryParameter(name="from")] = None,
    last: Annotated[date | None, QueryParameter(name="to")] = None,
) -> PersonalDataAccessPage:
    """Reads of citizens' personal data by staff (admin; Decree 13/2023/NĐ-CP): who, whose, which fields,
    when, why, from where; newest first. ``from``/``to`` are Vietnam days."""
    check_days(**{"from": first, "to": last})
    items, total = await services.list_accesses(
        db_session, paging, citizen_id=citizen_id, staff_id=staff_id, first=first, last=last
    )
    return PersonalDataAccessPage(items=items, total=total, limit=paging.limit, offset=paging.offset)


@get("/citizens/me/data-access", guards=[requires(Role.citizen)], tags=["audit"], dependencies=DEPS)
async def my_data_access(
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    paging: NamedDependency[Paging],
) -> DataAccessSeenPage:
    """Which organisations read my personal data, which fields, when and why (Decree 13/2023/NĐ-CP art. 9:
    the data subject's right to know); newest first."""
    items, total = await services.citizen_accesses(db_session, principal.id, paging)
    return DataAccessSeenPage(items=items, total=total, limit=paging.limit, offset=paging.offset)


ROUTES: list[Any] = [personal_data_audit, my_data_access]
