"""HTTP for route plans (dispatchers) and routes (couriers). Thin: the work is in ``services``/``courier``."""

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.custody import codeguard
from backend.lib import private_reads
from backend.lib.auth import Principal, caller, provide_principal, requires
from backend.lib.etag import OPT
from backend.lib.openapi import CONSOLE, COURIER_APP, problems
from backend.lib.responses import LocalTimeResponse
from backend.planning import courier, route_answer, services
from backend.planning import queue as plan_queue
from schemas.enums import Role
from schemas.plan_answers import (
    CourierRoute,
    LocationAck,
    PlanAccepted,
    PlanDetail,
    PlanPublished,
    PlanSummary,
    StopActionResult,
)
from schemas.planning import LocationReport, PlanCreate, ReplanCreate, StopAction, StopFailure

PRINCIPAL = {"principal": Provide(provide_principal)}
PLANNERS = requires(Role.dispatcher, Role.admin)
LOCATION = [ResponseHeader(name="Location", description="the plan to poll", documentation_only=True)]
STOP_RULES = (
    "`at` (default now) needs a UTC offset and may be at most a day old and a few minutes ahead (422). Only the "
    "courier of a stop on a published plan may act on it (else 404), in order: a stop already done or failed "
    "is 409 `stop_state`. Answers the stop and the route's open stops with their new ETAs."
)


def _accepted(plan: Any) -> Response[PlanAccepted]:
    body = PlanAccepted(id=plan.id, status=plan.status, date=plan.service_date)
    return LocalTimeResponse(body, status_code=202, headers={"Location": f"/api/v1/plans/{plan.id}"})


class PostOfficePlansController(Controller):
    path = "/post-offices/{office:str}/plans"
    tags = [CONSOLE]
    guards = [PLANNERS]
    dependencies = PRINCIPAL

    @post(
        "/",
        status_code=202,
        response_headers=LOCATION,
        summary="Plan a day's routes for a post office",
        description=(
            "Dispatchers of the office, or an admin. Solves that day's visits (home pickups, deliveries, desk "
            "runs) over the office's couriers and shifts in a background worker: answers 202 at once with the "
            "plan to poll (`GET /plans/{id}`, also in `Location`). `office` is the post office's UUID or code. "
            "One solve at a time per office and day (409 `plan_in_progress` naming it), a few per office at "
            "once (429); the day must be from today up to 60 days ahead (422). Nothing changes for couriers "
            "or citizens until the plan is published. Not idempotent."
        ),
        responses=problems(404, 409, 422, 429),
    )
    async def create_plan(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        office: FromPath[str],
        data: JSONBody[PlanCreate],
    ) -> Response[PlanAccepted]:
        plan = await services.create_plan(db_session, principal, office, data)
        await plan_queue.submit(request.app, plan)
        return _accepted(plan)

    @get(
        "/",
        summary="List a post office's plans",
        description=(
            "Dispatchers of the office, or an admin: the office's plans, newest first (at most 100), of one "
            "day with `date`. Each with its status, solve progress and figures; no routes (see `GET "
            "/plans/{id}`)."
        ),
        responses=problems(404),
    )
    async def list_plans(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        office: FromPath[str],
        day: Annotated[date | None, QueryParameter(name="date")] = None,
    ) -> list[PlanSummary]:
        plans = await services.list_plans(db_session, principal, office, day)
        return [PlanSummary.model_validate(p) for p in plans]


class PlansController(Controller):
    path = "/plans"
    tags = [CONSOLE]
    guards = [PLANNERS]
    dependencies = PRINCIPAL

    @get(
        "/{plan_id:uuid}",
        summary="Get a plan with its routes",
        description=(
            "Dispatchers of the plan's office, or an admin (another office's plan is 404). Status and progress "
            "while it solves; when done, each courier's route with ordered stops, ETAs, distances and load, "
            "and the stops left unassigned with the reason. Poll it after `POST …/plans` until `done` or "
            "`failed`."
        ),
        responses=problems(404),
    )
    async def get_plan(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        plan_id: FromPath[UUID],
    ) -> PlanDetail:
        return PlanDetail.model_validate(await services.plan_detail(db_session, principal, plan_id))

    @get(
        "/{plan_id:uuid}/map.svg",
        media_type="image/svg+xml",
        summary="Draw a plan's routes as an SVG map",
        description=(
            "Dispatchers of the plan's office, or an admin: the routes in their colours over the stops, as an "
            "SVG image (`image/svg+xml`), with no map tiles or outside requests."
        ),
        responses=problems(404),
    )
    async def get_plan_map(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        plan_id: FromPath[UUID],
    ) -> Response[str]:
        svg = await services.plan_map(db_session, principal, plan_id)
        return Response(svg, media_type="image/svg+xml")

    @post(
        "/{plan_id:uuid}/publish",
        status_code=200,
        summary="Publish a plan to its couriers",
        description=(
            "Dispatchers of the plan's office, or an admin. The plan (status `done`) becomes the couriers' "
            "route for the day: each booked appointment on it is assigned to its courier (an `assigned` "
            "appointment event; one already with the same courier is left alone), appointments cancelled "
            "since the solve are skipped, an earlier published plan of the day is superseded, and every "
            "courier on it is notified (`courier.route_updated`). A plan not `done` is 409 "
            "`plan_not_publishable`; two publishes racing each other: one wins, the other gets 409."
        ),
        responses=problems(404, 409),
    )
    async def publish_plan(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        plan_id: FromPath[UUID],
    ) -> PlanPublished:
        return PlanPublished.model_validate(await services.publish(db_session, principal, plan_id))

    @post(
        "/{plan_id:uuid}/replan",
        status_code=202,
        response_headers=LOCATION,
        summary="Re-plan a day from where the couriers are",
        description=(
            "Dispatchers of the plan's office, or an admin, during the day: a new plan of the same day from the "
            "couriers' last positions, keeping started and finished stops with their couriers. Solved in the "
            "background like `POST …/plans` (202, poll `GET /plans/{id}`); publish it to use it. The plan must "
            "be solved (409 `plan_not_solved`) and its day not past (422)."
        ),
        responses=problems(404, 409, 422, 429),
    )
    async def replan(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        plan_id: FromPath[UUID],
        data: JSONBody[ReplanCreate | None] = None,
    ) -> Response[PlanAccepted]:
        plan = await services.replan(db_session, principal, plan_id, data or ReplanCreate())
        await plan_queue.submit(request.app, plan)
        return _accepted(plan)


class CourierController(Controller):
    path = "/couriers/me"
    tags = [COURIER_APP]
    guards = [requires(Role.courier)]
    dependencies = PRINCIPAL

    @get(
        "/route",
        summary="Get my route of the day",
        description=(
            "The signed-in courier's stops on the published plan of the day (`date`, default today in Vietnam "
            "time), in order, with windows, ETAs, a navigation link and what each stop needs. Of the citizen, "
            "only what the visit needs: a name hint, the masked phone, the address of the visit, and a `tel:` "
            "link only while the stop is open on its day. `published: false` with no stops when there is no "
            "published plan. The items of one household visit are one stop listing them (`visit_items`). The "
            "route's `version` moves with every change a dispatcher makes; the answer carries an `ETag` (send "
            "it back in `If-None-Match`: 304 while nothing changed) and `courier.route_updated` is pushed on a "
            "change. Personal-data audit (Decree 13/2023/NĐ-CP, art. 3 and 27): a 200 writes one row per "
            "citizen shown (who, whose data, which fields, when, why, from which address), committed before "
            "the route is sent: if it cannot be written the route is not sent (503). The same answer (same "
            "`ETag`) sent again to the same account from the same address for the same purpose, within the "
            "minute the server keeps it and while the route is unchanged, discloses nothing new and is "
            "recorded once; a changed route, another address or purpose, or a later minute is recorded again. "
            "A 304 shows nothing and is not recorded."
        ),
        opt={OPT: route_answer.POLICY, private_reads.OPT: route_answer.stored},
        responses=problems(503),
    )
    async def get_courier_route(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        day: Annotated[date | None, QueryParameter(name="date")] = None,
    ) -> Response[CourierRoute]:
        # One dependency, not two: Litestar resolves independent dependencies in an anyio task group per
        # request, which measured half the CPU of this polled read (bench.reads_app).
        return await route_answer.answer(request, db_session, caller(request), day)

    @post(
        "/location",
        status_code=201,
        summary="Report my position",
        description=(
            "The couriers' app reports the device's position while on duty; it moves ETAs and feeds re-plans. "
            "Location is personal data (Decree 13/2023/NĐ-CP): only the courier's office's dispatchers use it. "
            "`at` (the device's time, default now) needs a UTC offset and may be at most a day old (422)."
        ),
        responses=problems(422),
    )
    async def report_location(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[LocationReport],
    ) -> LocationAck:
        return LocationAck.model_validate(await courier.report_location(db_session, principal, data))

    @post(
        "/stops/{stop_id:uuid}/start",
        status_code=200,
        summary="Set off to a stop",
        description=(
            "The courier sets off to a planned stop: for a booked visit the appointment becomes `en_route` and "
            f"the citizen is notified (`courier.on_the_way`) with the ETA. {STOP_RULES}"
        ),
        responses=problems(404, 409, 422),
    )
    async def start_stop(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        stop_id: FromPath[UUID],
        data: JSONBody[StopAction | None] = None,
    ) -> StopActionResult:
        result = await courier.stop_action(db_session, principal, stop_id, "start", data or StopAction())
        return StopActionResult.model_validate(result)

    @post(
        "/stops/{stop_id:uuid}/complete",
        status_code=200,
        summary="Complete a stop",
        description=(
            "The visit is done: a pickup records the dossier's custody, a result delivery needs the recipient "
            "check (`recipient`: the citizen's handover code, their national id card's number, or a registered "
            "authorisation and its person's card number: `GET /dossiers/{item_id}/recipients`) and records the "
            "delivery; wrong checks count towards the daily lock (429). The "
            "appointment is completed and the citizen notified as for the custody event. "
            f"{STOP_RULES}"
        ),
        responses=problems(404, 409, 422, 429),
    )
    async def complete_stop(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        stop_id: FromPath[UUID],
        data: JSONBody[StopAction | None] = None,
    ) -> StopActionResult:
        # A wrong recipient check of a result delivery counts though the completion is refused (issue 17).
        async with codeguard.guarded(db_session):
            result = await courier.stop_action(
                db_session, principal, stop_id, "complete", data or StopAction()
            )
        return StopActionResult.model_validate(result)

    @post(
        "/stops/{stop_id:uuid}/fail",
        status_code=200,
        summary="Record a failed visit",
        description=(
            "The visit could not be made, with a `reason_code` from the fixed list (422 "
            "`unknown_reason_code` lists them). A failed delivery records an unsuccessful attempt on the "
            "result (the citizen is notified and offered a new visit); a failed pickup marks the appointment. "
            f"{STOP_RULES}"
        ),
        responses=problems(404, 409, 422),
    )
    async def fail_stop(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        stop_id: FromPath[UUID],
        data: JSONBody[StopFailure],
    ) -> StopActionResult:
        result = await courier.stop_action(db_session, principal, stop_id, "fail", data)
        return StopActionResult.model_validate(result)


ROUTES: list[Any] = [PostOfficePlansController, PlansController, CourierController]
