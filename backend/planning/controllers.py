"""HTTP for route plans (dispatchers) and routes (couriers). Thin: the work is in ``services``/``courier``."""

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit.services import access_of
from backend.custody import codeguard
from backend.lib.auth import Principal, provide_principal, requires
from backend.planning import courier, services, worker
from schemas.enums import Role
from schemas.planning import LocationReport, PlanCreate, ReplanCreate, StopAction, StopFailure

PRINCIPAL = {"principal": Provide(provide_principal)}
PLANNERS = requires(Role.dispatcher, Role.admin)


def _accepted(plan: Any) -> Response[dict[str, Any]]:
    body = {"id": str(plan.id), "status": plan.status, "date": plan.service_date.isoformat()}
    return Response(body, status_code=202, headers={"Location": f"/api/v1/plans/{plan.id}"})


class PostOfficePlansController(Controller):
    path = "/post-offices/{office:str}/plans"
    tags = ["routes"]
    guards = [PLANNERS]
    dependencies = PRINCIPAL

    @post("/", status_code=202)
    async def create(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        office: FromPath[str],
        data: JSONBody[PlanCreate],
    ) -> Response[dict[str, Any]]:
        """Plan that day's routes in the background; poll ``GET /plans/{id}``. ``office`` is a UUID or a code."""
        plan = await services.create_plan(db_session, principal, office, data)
        worker.runner_of(request.app).launch(plan.id)
        return _accepted(plan)

    @get("/")
    async def list_plans(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        office: FromPath[str],
        day: Annotated[date | None, QueryParameter(name="date")] = None,
    ) -> list[dict[str, Any]]:
        return await services.list_plans(db_session, principal, office, day)


class PlansController(Controller):
    path = "/plans"
    tags = ["routes"]
    guards = [PLANNERS]
    dependencies = PRINCIPAL

    @get("/{plan_id:uuid}")
    async def detail(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        plan_id: FromPath[UUID],
    ) -> dict[str, Any]:
        """Status, progress, routes (ordered stops, ETAs, distances, load), unassigned stops with reasons."""
        return await services.plan_detail(db_session, principal, plan_id)

    @get("/{plan_id:uuid}/map.svg", media_type="image/svg+xml")
    async def map_svg(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        plan_id: FromPath[UUID],
    ) -> Response[str]:
        svg = await services.plan_map(db_session, principal, plan_id)
        return Response(svg, media_type="image/svg+xml")

    @post("/{plan_id:uuid}/publish", status_code=200)
    async def publish(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        plan_id: FromPath[UUID],
    ) -> dict[str, Any]:
        """Assign the plan's appointments to their couriers; supersedes an earlier published plan of the day."""
        return await services.publish(db_session, principal, plan_id)

    @post("/{plan_id:uuid}/replan", status_code=202)
    async def replan(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        plan_id: FromPath[UUID],
        data: JSONBody[ReplanCreate | None] = None,
    ) -> Response[dict[str, Any]]:
        """A new plan of the day from couriers' positions, keeping started stops; publish it to use it."""
        plan = await services.replan(db_session, principal, plan_id, data or ReplanCreate())
        worker.runner_of(request.app).launch(plan.id)
        return _accepted(plan)


class CourierController(Controller):
    path = "/couriers/me"
    tags = ["routes"]
    guards = [requires(Role.courier)]
    dependencies = PRINCIPAL

    @get("/route")
    async def route(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        day: Annotated[date | None, QueryParameter(name="date")] = None,
    ) -> dict[str, Any]:
        """My ordered stops of the day (default today) with windows, ETAs and what each stop needs; what it
        shows of citizens is audited (Decree 13/2023/NĐ-CP)."""
        return await courier.my_route(db_session, principal, day, access=access_of(request))

    @post("/location", status_code=201)
    async def location(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[LocationReport],
    ) -> dict[str, Any]:
        return await courier.report_location(db_session, principal, data)

    @post("/stops/{stop_id:uuid}/start", status_code=200)
    async def start(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        stop_id: FromPath[UUID],
        data: JSONBody[StopAction | None] = None,
    ) -> dict[str, Any]:
        return await courier.stop_action(db_session, principal, stop_id, "start", data or StopAction())

    @post("/stops/{stop_id:uuid}/complete", status_code=200)
    async def complete(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        stop_id: FromPath[UUID],
        data: JSONBody[StopAction | None] = None,
    ) -> dict[str, Any]:
        # A wrong recipient check of a result delivery counts though the completion is refused (issue 17).
        async with codeguard.guarded(db_session):
            return await courier.stop_action(db_session, principal, stop_id, "complete", data or StopAction())

    @post("/stops/{stop_id:uuid}/fail", status_code=200)
    async def fail(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        stop_id: FromPath[UUID],
        data: JSONBody[StopFailure],
    ) -> dict[str, Any]:
        return await courier.stop_action(db_session, principal, stop_id, "fail", data)


ROUTES: list[Any] = [PostOfficePlansController, PlansController, CourierController]
