"""Route plans' API answers (issue 19: the OpenAPI document names every field the apps read).

Times are aware datetimes, shown in Vietnam time with their offset (backend.lib.responses.LocalTimeResponse). The
tables and the request bodies are in ``schemas/planning.py``; this module imports them, never the reverse.
"""

import uuid
from datetime import date, datetime
from typing import Any

from sqlmodel import Field, SQLModel

from schemas.booking import AppointmentStatus
from schemas.planning import PlanStatus, StopKind, StopStatus


def _ex(*values: Any) -> Any:
    return {"examples": list(values)}


class PlanAccepted(SQLModel):
    """A plan was queued: poll ``GET /plans/{id}`` (also in ``Location``) until ``done`` or ``failed``."""

    id: uuid.UUID
    status: PlanStatus
    date: date


class PlanOptions(SQLModel):
    time_limit_s: float | None = Field(default=None, description="solver budget (seconds)")
    minimize_couriers: bool | None = None
    seed: int | None = None


class PlanFigures(SQLModel):
    stops_total: int
    stops_assigned: int
    stops_unassigned: int
    couriers_available: int
    couriers_used: int
    distance_km: float = Field(schema_extra=_ex(84.37))
    travel_min: float = Field(schema_extra=_ex(212.5))
    solver_status: str | None = Field(schema_extra=_ex("sisr"))
    solve_wall_s: float | None


class PlanSummary(SQLModel):
    """A plan as an office's list shows it: status, solve progress and figures."""

    id: uuid.UUID
    post_office: str | None = Field(description="post office code", schema_extra=_ex("82-BD-01"))
    post_office_id: uuid.UUID
    date: date  # the Vietnam day the routes are for
    status: PlanStatus
    progress: int = Field(ge=0, le=100, description="percent of the solve done")
    options: PlanOptions
    replan_of: uuid.UUID | None = Field(description="the plan this one re-plans from couriers' positions")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    published_at: datetime | None
    error: str | None = Field(description="why the solve failed")
    summary: PlanFigures
    map: str = Field(description="path of the plan's SVG map", schema_extra=_ex("/api/v1/plans/…/map.svg"))


class TimeWindow(SQLModel):
    start: datetime | None
    end: datetime | None


class Load(SQLModel):
    items: int
    weight_g: int


class Capacity(SQLModel):
    items: int | None
    weight_g: int | None


class RouteBreak(SQLModel):
    """A break: its length and the earliest and latest start (seconds from the day's local midnight); ``start``
    is when the solution takes it."""

    duration_s: int = Field(schema_extra=_ex(3600))
    earliest: int = Field(schema_extra=_ex(41400))
    latest: int = Field(schema_extra=_ex(45000))
    start: datetime | None = None


class RouteCourier(SQLModel):
    id: uuid.UUID
    username: str | None = Field(schema_extra=_ex("courier01"))
    name: str | None = Field(schema_extra=_ex("Trần Văn Bình"))


class PlannedStop(SQLModel):
    """A stop on a route as the dispatcher sees it: order, times, load and what it is for."""

    id: uuid.UUID
    seq: int = Field(description="1-based order on the route")
    key: str = Field(description="the routing stop id, stable across re-plans")
    kind: StopKind
    status: StopStatus
    appointment_id: uuid.UUID | None
    dossier: str | None = Field(description="the dossier's item id", schema_extra=_ex("HS123456785VN"))
    result_item: str | None = Field(description="the result's item id", schema_extra=_ex("KQ520931185VN"))
    handover_id: uuid.UUID | None
    place: str | None = Field(description="organisation code of a desk stop", schema_extra=_ex("82-TTPVHCC"))
    lat: float = Field(schema_extra=_ex(10.4602))
    lon: float = Field(schema_extra=_ex(105.6329))
    window: TimeWindow | None
    eta: datetime
    planned_eta: datetime
    service_start: datetime
    departure: datetime
    service_s: int
    distance_from_prev_m: float
    travel_from_prev_s: float
    load: Load = Field(description="on board after the stop")
    demand: Load
    skills: list[str]
    started_at: datetime | None
    finished_at: datetime | None
    outcome_code: str | None
    pinned: bool = Field(default=False, description="kept with its courier and in its order by a re-plan")
    visit: str | None = Field(
        default=None, description="the household visit this item is served at (its items share it)"
    )


class PlannedRoute(SQLModel):
    id: uuid.UUID
    courier: RouteCourier
    colour: str = Field(schema_extra=_ex("#e6194b"))
    profile: str = Field(schema_extra=_ex("motorbike"))
    shift: TimeWindow
    start_at: datetime | None
    end_at: datetime | None
    distance_m: float
    travel_s: float
    capacity: Capacity
    skills: list[str]
    breaks: list[RouteBreak]
    stops: list[PlannedStop]
    version: int = Field(default=1, description="moves with every change a dispatcher makes to the route")


class UnassignedStop(SQLModel):
    key: str
    kind: StopKind
    appointment_id: uuid.UUID | None
    dossier: str | None
    result_item: str | None
    handover_id: uuid.UUID | None
    place: str | None
    lat: float
    lon: float
    window: TimeWindow | None
    reason: str = Field(
        description="machine code: capacity, time_window, skill, …", schema_extra=_ex("capacity")
    )
    detail: str = Field(schema_extra=_ex("Vượt quá sức chở / Over capacity"))


class PlanDetail(PlanSummary):
    routes: list[PlannedRoute]
    unassigned: list[UnassignedStop]


class PlanPublished(SQLModel):
    id: uuid.UUID
    status: PlanStatus
    assigned: int = Field(description="appointments newly assigned to a courier")
    skipped: int = Field(description="stops dropped because their appointment ended after the solve")
    superseded: list[uuid.UUID] = Field(description="the plans of the day this one replaces")


class OfficeSpot(SQLModel):
    code: str = Field(schema_extra=_ex("82-BD-01"))
    name: str = Field(schema_extra=_ex("Bưu cục Cao Lãnh"))
    lat: float
    lon: float


class CourierShift(SQLModel):
    id: uuid.UUID
    shift: TimeWindow
    start_at: datetime | None
    end_at: datetime | None
    distance_m: float
    breaks: list[RouteBreak]
    version: int = Field(default=1, description="moves with every change a dispatcher makes to the route")


class VisitAppointment(SQLModel):
    id: uuid.UUID
    status: AppointmentStatus
    note: str | None = Field(schema_extra=_ex("Gọi trước 15 phút"))


class VisitPerson(SQLModel):
    """Only what the visit needs (Decree 13/2023/NĐ-CP): a name hint, the masked phone, and a ``tel:`` link
    only while the stop is open on its day."""

    name: str | None = Field(schema_extra=_ex("Nguyễn V. A."))
    phone_masked: str | None = Field(schema_extra=_ex("090•••••01"))
    call: str | None = Field(default=None, schema_extra=_ex("tel:+84900000001"))


class FeesToCollect(SQLModel):
    total_vnd: int = Field(schema_extra=_ex(35000))
    postal_vnd: int | None
    fee_vnd: int | None
    charge_vnd: int | None


class VisitProcedure(SQLModel):
    code: str = Field(schema_extra=_ex("1.001193"))
    name: str = Field(schema_extra=_ex("Đăng ký khai sinh"))
    documents_count: int


class DeskPlace(SQLModel):
    code: str = Field(schema_extra=_ex("82-TTPVHCC"))
    name: str
    address: str | None
    phone: str | None


class VisitItem(SQLModel):
    """One item of a household visit; the courier starts, completes or fails it by ``stop_id``. The citizen
    shows one handover code for the whole visit (the citizen's code of the day)."""

    stop_id: uuid.UUID
    kind: StopKind
    status: StopStatus
    task: str
    appointment: VisitAppointment | None = None
    procedure: VisitProcedure | None = None
    dossier: str | None = None
    result_item: str | None = None
    collect_fees: FeesToCollect | None = None
    outcome_code: str | None = None
    missing_documents: list[str] | None = Field(
        default=None, description="a supplement pickup: the documents to collect for its dossier (issue 20)"
    )


class CourierStop(SQLModel):
    """A stop as its courier sees it. Visit fields (``appointment``, ``address``, ``person``, ``collect_fees``)
    are null for stops with no appointment; ``place`` is the desk of a desk stop."""

    id: uuid.UUID
    seq: int
    kind: StopKind
    status: StopStatus
    task: str = Field(
        schema_extra=_ex("Nhận hồ sơ tại nhà, kiểm tra giấy tờ / Collect the dossier, check the documents")
    )
    window: TimeWindow | None
    eta: datetime
    planned_eta: datetime
    lat: float
    lon: float
    navigation: str = Field(description="a maps link to the stop")
    items: int
    started_at: datetime | None
    finished_at: datetime | None
    outcome_code: str | None
    appointment: VisitAppointment | None = None
    address: str | None = Field(default=None, schema_extra=_ex("Số 12 đường Lê Lợi, phường Cao Lãnh"))
    person: VisitPerson | None = None
    collect_fees: FeesToCollect | None = None
    procedure: VisitProcedure | None = None
    dossier: str | None = None
    result_item: str | None = None
    place: DeskPlace | None = None
    missing_documents: list[str] | None = Field(
        default=None, description="a supplement pickup: the documents to collect for its dossier (issue 20)"
    )
    pinned: bool = False
    visit_items: list[VisitItem] | None = Field(
        default=None,
        description=(
            "one visit per household: the items served at this stop (pickups, supplements, deliveries of one "
            "citizen at one address), each acted on by its own `stop_id`; null for a stop of one item"
        ),
    )


class CourierRoute(SQLModel):
    """The courier's published route of a day; ``published: false`` with no stops when there is none."""

    date: date
    published: bool
    plan_id: uuid.UUID | None
    post_office: OfficeSpot | None = None
    route: CourierShift | None = None
    stops: list[CourierStop]


class LocationAck(SQLModel):
    id: uuid.UUID
    at: datetime = Field(description="when the device measured it")
    received_at: datetime


class StopState(SQLModel):
    id: uuid.UUID
    status: StopStatus
    outcome_code: str | None = Field(schema_extra=_ex("absent"))
    started_at: datetime | None
    finished_at: datetime | None


class RemainingStop(SQLModel):
    id: uuid.UUID
    seq: int
    eta: datetime


class StopActionResult(SQLModel):
    """The stop after the action, the route's open stops with their new ETAs, and the dossier's custody status
    when the action recorded a custody event (pickup, delivery)."""

    stop: StopState
    remaining: list[RemainingStop]
    custody_status: str | None = Field(schema_extra=_ex("collected"))


class StopViolation(SQLModel):
    """A rule a changed route would break: ``time_window`` (``amount`` seconds late), ``shift_end`` (seconds
    over), ``break`` (seconds late), ``capacity_items`` / ``capacity_weight`` (over by), ``skill``, ``pair`` (a
    desk pickup and its delivery apart), ``held_by_courier`` (the result is in another courier's bag)."""

    courier_id: uuid.UUID
    rule: str = Field(schema_extra=_ex("time_window"))
    stop_id: uuid.UUID | None = None
    amount: int = 0


class ChangedStop(SQLModel):
    id: uuid.UUID
    seq: int
    eta: datetime
    pinned: bool
    visit: str | None = None


class ChangedRoute(SQLModel):
    id: uuid.UUID
    courier_id: uuid.UUID
    version: int
    start_at: datetime | None
    end_at: datetime | None
    distance_m: float
    stops: list[ChangedStop] = Field(description="the route's open stops in their new order, with new ETAs")


class StopControlResult(SQLModel):
    """What a dispatcher's change did: the plan event recorded, the stop's courier and pin, and every route it
    changed with the new order, ETAs and version (couriers of a published plan are notified)."""

    event_id: uuid.UUID
    plan_id: uuid.UUID
    stop_id: uuid.UUID
    courier_id: uuid.UUID
    pinned: bool
    routes: list[ChangedRoute]
