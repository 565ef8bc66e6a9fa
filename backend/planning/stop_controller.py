"""HTTP for a dispatcher's hand on a plan's stops (issue 20): move, reorder, pin, unpin. Thin: the work is in
``services.stop_moves``."""

from typing import Any
from uuid import UUID

from litestar import Controller, Request, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal, provide_principal, requires
from backend.lib.clientip import caller_ip
from backend.lib.openapi import CONSOLE, problems
from backend.planning.services import stop_moves
from schemas.enums import Role
from schemas.plan_answers import StopControlResult
from schemas.planning import StopMove

WHO = (
    "Dispatchers of the plan's post office, or an admin (another office's stop is 404). The plan must be solved "
    "(`done`) or published and of today or later (409 `plan_not_editable`). The items of one household visit "
    "change together. Recorded as a plan event (who, when, from where, before and after); the answer lists each "
    "changed route's open stops in order with their ETAs and the route's new `version`."
)


class PlanStopsController(Controller):
    path = "/plan-stops"
    tags = [CONSOLE]
    guards = [requires(Role.dispatcher, Role.admin)]
    dependencies = {"principal": Provide(provide_principal)}

    @post(
        "/{stop_id:uuid}/move",
        status_code=200,
        summary="Move a stop to another courier or place in the order",
        description=(
            "Moves a planned stop to `courier_id` (default its own courier: a reorder) at `position` (1-based "
            "among that route's open stops, after the ones under way; default last; else 422 `bad_position`), "
            "optionally pinning or unpinning it (`pin`). Checked at once against the time windows, the "
            "courier's shift, load and capacity, the break, skills and desk-pickup pairs, from where the routes "
            "stand now: a change that breaks a rule is 409 `stop_move_infeasible` with `violations` and changes "
            "nothing. A courier of another office or without a shift that day is 422 `courier_not_available`; "
            "`route_version` older than the stop's route is 409 `route_changed`; a stop under way or finished is "
            f"409 `stop_state`. On a published plan the couriers whose routes changed are notified "
            f"(`courier.route_updated`) and a visit that changed courier gets an `assigned` appointment event. {WHO}"
        ),
        responses=problems(404, 409, 422),
    )
    async def move_stop(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        stop_id: FromPath[UUID],
        data: JSONBody[StopMove],
    ) -> StopControlResult:
        result = await stop_moves.move_stop(
            db_session, principal, stop_id, data, client_ip=caller_ip(request)
        )
        return StopControlResult.model_validate(result)

    @post(
        "/{stop_id:uuid}/pin",
        status_code=200,
        summary="Pin a stop to its courier and place",
        description=(
            "A later re-plan keeps the pinned stop with its courier and in its order among the pinned and "
            f"started stops (served before the stops the solver places). Nothing moves now. {WHO}"
        ),
        responses=problems(404, 409),
    )
    async def pin_stop(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        stop_id: FromPath[UUID],
    ) -> StopControlResult:
        result = await stop_moves.set_pin(db_session, principal, stop_id, True, client_ip=caller_ip(request))
        return StopControlResult.model_validate(result)

    @post(
        "/{stop_id:uuid}/unpin",
        status_code=200,
        summary="Unpin a stop",
        description=f"A later re-plan may give the stop to any courier and place again. {WHO}",
        responses=problems(404, 409),
    )
    async def unpin_stop(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        stop_id: FromPath[UUID],
    ) -> StopControlResult:
        result = await stop_moves.set_pin(db_session, principal, stop_id, False, client_ip=caller_ip(request))
        return StopControlResult.model_validate(result)


ROUTES: list[Any] = [PlanStopsController]
