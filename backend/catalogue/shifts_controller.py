"""HTTP for couriers' shifts with effective dates (issue 23): schedule a weekly pattern from a Vietnam day, list
a courier's versions, cancel a scheduled one (``backend/catalogue/courier_shifts.py``)."""

from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue import courier_shifts
from backend.lib.auth import Principal, provide_principal, requires
from backend.lib.clientip import caller_ip
from backend.lib.openapi import CONSOLE, problems
from schemas.courier_shifts import (
    CourierShiftCancel,
    CourierShiftVersionIn,
    CourierShiftVersionPage,
    CourierShiftVersionPublic,
)
from schemas.enums import Role

WHO = "Admins (a provincial admin within its province) and the dispatchers of the courier's post office."


class CourierShiftsController(Controller):
    path = "/couriers/{user_id:uuid}/shift-versions"
    tags = [CONSOLE]
    dependencies = {"principal": Provide(provide_principal)}
    guards = [requires(Role.admin, Role.dispatcher, Role.courier)]

    @post(
        "/",
        guards=[requires(Role.admin, Role.dispatcher)],
        summary="Schedule a courier's shifts from a day",
        description=WHO + " The courier's whole weekly pattern (ISO weekday -> [start, end] spans, Vietnam "
        "time) from `effective_from` (a Vietnam day, today or later, else 422 `catalogue_version_in_past`; "
        "one scheduled change a day, else 409 `catalogue_version_overlap`). From today: the profile's shifts "
        "at once; from a later day: scheduled, and the bookable windows and route plans of the days it covers "
        "follow it at once in every process while earlier days keep the shifts in force. Malformed shifts "
        "are 422 `invalid_shifts`. Recorded as a catalogue event (who, when, from where).",
        responses=problems(404, 409, 422),
    )
    async def schedule_courier_shifts(
        self,
        request: Request,  # type: ignore[type-arg]
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        user_id: FromPath[UUID],
        data: JSONBody[CourierShiftVersionIn],
    ) -> CourierShiftVersionPublic:
        return await courier_shifts.schedule(db_session, principal, caller_ip(request), user_id, data)

    @get(
        "/",
        summary="List a courier's shift versions",
        description=WHO + " Also the courier. Every version, oldest first: scheduled (waiting for its day), "
        "applied (became the profile's shifts on its day) and cancelled.",
        responses=problems(404),
    )
    async def list_courier_shift_versions(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        user_id: FromPath[UUID],
    ) -> CourierShiftVersionPage:
        items = await courier_shifts.list_versions(db_session, principal, user_id)
        return CourierShiftVersionPage(items=items, total=len(items))

    @post(
        "/cancel",
        guards=[requires(Role.admin, Role.dispatcher)],
        status_code=200,
        summary="Cancel a courier's scheduled shifts",
        description=WHO + " Cancels the change scheduled from `effective_from`: the days it covered go back "
        "to the shifts in force before it, at once in every process. Idempotent: nothing scheduled that day "
        "changes nothing. One that has started is history (422 `catalogue_version_in_past`): schedule new "
        "shifts instead. Recorded as a catalogue event. Answers the courier's versions after it.",
        responses=problems(404, 422),
    )
    async def cancel_courier_shifts(
        self,
        request: Request,  # type: ignore[type-arg]
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        user_id: FromPath[UUID],
        data: JSONBody[CourierShiftCancel],
    ) -> CourierShiftVersionPage:
        await courier_shifts.cancel(db_session, principal, caller_ip(request), user_id, data.effective_from)
        items = await courier_shifts.list_versions(db_session, principal, user_id)
        return CourierShiftVersionPage(items=items, total=len(items))


ROUTES = [CourierShiftsController]
