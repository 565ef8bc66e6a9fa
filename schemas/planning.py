"""Courier route plans: one plan per solve of a post office's day, its routes and ordered stops, the stops left
unassigned (with the reason), and couriers' position reports.

A plan keeps everything the solver was given about each stop (window, service time, load, skills), so a
published plan can be re-checked ("can one more stop still fit?") and re-planned without the booking rows.
"""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from schemas.base import Instant, json_field, new_id, utc_field
from schemas.dossiers import RecipientCheck


class PlanStatus(StrEnum):
    queued = "queued"  # waiting for a worker
    running = "running"  # a worker process is solving
    done = "done"  # solved; the dispatcher may publish it
    failed = "failed"  # the solve failed or was interrupted; `error` says why
    published = "published"  # couriers ride this plan; its stops are assigned
    superseded = "superseded"  # was published, then a newer plan of the same day was published


class StopKind(StrEnum):
    pickup = "pickup"  # collect a dossier at a home (Circular 17/2017/TT-BTTTT art. 5)
    assisted = "assisted"  # help file at home, then collect
    delivery = "delivery"  # bring a result home (Decision 45/2016/QĐ-TTg)
    desk_pickup = "desk_pickup"  # collect a result at a one-stop desk for a same-day home delivery
    handover = "handover"  # carry a handover batch from the post office to a desk


class StopStatus(StrEnum):
    planned = "planned"
    started = "started"  # the courier is on the way / at the stop: kept on this courier when re-planning
    done = "done"
    failed = "failed"


class Plan(SQLModel, table=True):
    __tablename__ = "plan"
    __table_args__ = (
        Index("ix_plan_po_date", "post_office_id", "service_date"),
        # One plan the couriers ride per post office and day, and one solve at a time of a day: two
        # publishes (or two plan requests) racing each other cannot both commit (issue 17; migration 0009).
        Index(
            "uq_plan_published_day",
            "post_office_id",
            "service_date",
            unique=True,
            postgresql_where=text("status = 'published'"),
            sqlite_where=text("status = 'published'"),
        ),
        Index(
            "uq_plan_in_progress_day",
            "post_office_id",
            "service_date",
            unique=True,
            postgresql_where=text("status IN ('queued', 'running')"),
            sqlite_where=text("status IN ('queued', 'running')"),
        ),
    )
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    post_office_id: uuid.UUID = Field(foreign_key="organisation.id")
    service_date: date
    status: PlanStatus = Field(default=PlanStatus.queued, sa_type=String(20), index=True)
    progress: int = Field(default=0, ge=0, le=100)
    options: dict[str, Any] = json_field()
    replan_of: uuid.UUID | None = Field(default=None, foreign_key="plan.id")
    created_by: uuid.UUID | None = None
    created_at: datetime = utc_field(default_now=True)
    started_at: datetime | None = utc_field(nullable=True)
    heartbeat_at: datetime | None = utc_field(nullable=True)  # a running worker touches it; stale = dead
    finished_at: datetime | None = utc_field(nullable=True)
    published_at: datetime | None = utc_field(nullable=True)
    published_by: uuid.UUID | None = None
    # Figures of the solution (travel in seconds, distance in metres).
    stops_total: int = 0
    stops_assigned: int = 0
    stops_unassigned: int = 0
    couriers_available: int = 0
    couriers_used: int = 0
    total_distance_m: float = 0.0
    total_travel_s: float = 0.0
    objective: int | None = None
    solver_status: str | None = Field(default=None, max_length=40)
    solve_wall_s: float | None = None
    error: str | None = Field(default=None, max_length=500)
    # Issue 24: the solve attempt that holds the plan (worker id and a token per attempt; only it may write
    # progress or the solution), and how many attempts were made (a worker killed mid-solve: the job is retried).
    worker_id: str | None = Field(default=None, max_length=80)
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class PlanRoute(SQLModel, table=True):
    """One courier's route in a plan, with what the solver knew about the courier."""

    __tablename__ = "plan_route"
    __table_args__ = (UniqueConstraint("plan_id", "courier_id", name="uq_plan_route_courier"),)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    plan_id: uuid.UUID = Field(foreign_key="plan.id", index=True)
    courier_id: uuid.UUID = Field(foreign_key="staff_user.id", index=True)
    seq: int = 0  # display order (and colour) within the plan
    profile: str = Field(default="motorbike", max_length=20)
    shift_start: datetime = utc_field()
    shift_end: datetime = utc_field()
    start_lat: float
    start_lon: float
    end_lat: float
    end_lon: float
    capacity_items: int | None = None
    capacity_weight_g: int | None = None
    skills: list[str] = json_field(default_factory=list)
    breaks: list[dict[str, Any]] = json_field(
        default_factory=list
    )  # [{duration_s, earliest, latest, start?}]
    start_at: datetime | None = utc_field(nullable=True)  # leaves the start
    end_at: datetime | None = utc_field(nullable=True)  # back at the end
    distance_m: float = 0.0
    travel_s: float = 0.0
    stops_count: int = 0
    # Moves with every change of the route's stops a dispatcher makes (issue 20): the courier's app compares it.
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class PlanStop(SQLModel, table=True):
    """A stop on a courier's route, in order; ``eta`` moves as the courier reports progress."""

    __tablename__ = "plan_stop"
    __table_args__ = (Index("ix_plan_stop_route_seq", "route_id", "seq"),)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    plan_id: uuid.UUID = Field(foreign_key="plan.id", index=True)
    route_id: uuid.UUID = Field(foreign_key="plan_route.id", index=True)
    seq: int  # 1-based order on the route
    key: str = Field(max_length=80, description="the routing stop id (stable across re-plans)")
    kind: StopKind = Field(sa_type=String(20))
    status: StopStatus = Field(default=StopStatus.planned, sa_type=String(20))
    appointment_id: uuid.UUID | None = Field(default=None, foreign_key="appointment.id", index=True)
    dossier_id: uuid.UUID | None = Field(default=None, foreign_key="dossier.id")
    result_item_id: uuid.UUID | None = Field(default=None, foreign_key="result_item.id")
    handover_id: uuid.UUID | None = Field(default=None, foreign_key="handover.id")
    org_id: uuid.UUID | None = Field(default=None, foreign_key="organisation.id")  # desk of a desk stop
    pair_key: str | None = Field(default=None, max_length=80)  # the other half of a pickup-delivery pair
    lat: float
    lon: float
    window_start: datetime | None = utc_field(nullable=True)
    window_end: datetime | None = utc_field(nullable=True)
    service_s: int = 0
    items: int = 1
    weight_g: int = 0
    skills: list[str] = json_field(default_factory=list)
    planned_eta: datetime = utc_field()  # arrival in the solved plan
    eta: datetime = utc_field()  # current expected arrival (updated as the courier moves)
    service_start: datetime = utc_field()  # arrival or window start, whichever is later
    departure: datetime = utc_field()
    distance_from_prev_m: float = 0.0
    travel_from_prev_s: float = 0.0
    load_items: int = 0  # on board after the stop
    load_weight_g: int = 0
    started_at: datetime | None = utc_field(nullable=True)
    finished_at: datetime | None = utc_field(nullable=True)
    outcome_code: str | None = Field(default=None, max_length=40)
    note: str | None = Field(default=None, max_length=300)
    # A dispatcher pinned the stop: a re-plan keeps it with its courier and in its order (issue 20).
    pinned: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})
    # One visit per household (issue 20): the items served at one stop share the routing node's key; their rows
    # follow each other on the route. None: a stop of one item.
    visit_key: str | None = Field(default=None, max_length=80)


class PlanUnassigned(SQLModel, table=True):
    __tablename__ = "plan_unassigned"
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    plan_id: uuid.UUID = Field(foreign_key="plan.id", index=True)
    key: str = Field(max_length=80)
    kind: StopKind = Field(sa_type=String(20))
    appointment_id: uuid.UUID | None = Field(default=None, foreign_key="appointment.id", index=True)
    dossier_id: uuid.UUID | None = Field(default=None, foreign_key="dossier.id")
    result_item_id: uuid.UUID | None = Field(default=None, foreign_key="result_item.id")
    handover_id: uuid.UUID | None = Field(default=None, foreign_key="handover.id")
    org_id: uuid.UUID | None = Field(default=None, foreign_key="organisation.id")
    lat: float
    lon: float
    window_start: datetime | None = utc_field(nullable=True)
    window_end: datetime | None = utc_field(nullable=True)
    reason: str = Field(max_length=60, description="machine code: capacity, time_window, skill, ...")
    detail: str = Field(max_length=300, description="Vietnamese / English explanation")


class PlanEvent(SQLModel, table=True):
    """A dispatcher's change to a plan's stops (moved to another courier, reordered, pinned, unpinned): who
    (actor id and role), when (UTC), from where (client address), and the stop's place before and after."""

    __tablename__ = "plan_event"
    __table_args__ = (Index("ix_plan_event_plan_at", "plan_id", "at"),)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    plan_id: uuid.UUID = Field(foreign_key="plan.id")
    stop_id: uuid.UUID = Field(foreign_key="plan_stop.id")
    kind: str = Field(max_length=20, description="stop_moved, stop_pinned, stop_unpinned")
    at: datetime = utc_field(default_now=True)
    actor_id: uuid.UUID
    actor_role: str = Field(max_length=20)
    client_ip: str | None = Field(default=None, max_length=45)
    before: dict[str, Any] = json_field()
    after: dict[str, Any] = json_field()


class CourierPosition(SQLModel, table=True):
    """A courier's position report (Decree 13/2023/NĐ-CP: location is personal data; it is collected only
    while on duty for routing and ETAs, and only the courier's own organisation's dispatchers may read it)."""

    __tablename__ = "courier_position"
    __table_args__ = (Index("ix_courier_position_courier_at", "courier_id", "at"),)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    courier_id: uuid.UUID = Field(foreign_key="staff_user.id")
    lat: float
    lon: float
    accuracy_m: float | None = None
    speed_ms: float | None = None
    heading: float | None = None
    at: datetime = utc_field()  # when the device measured it
    received_at: datetime = utc_field(default_now=True)


def _ex(*values: Any) -> Any:
    return {"examples": list(values)}


# API shapes -----------------------------------------------------------------------------------------------


class PlanCreate(SQLModel):
    date: date
    time_limit_s: float | None = Field(
        default=None, gt=0, le=300, description="solver budget (seconds)", schema_extra=_ex(30)
    )
    minimize_couriers: bool = False
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


class ReplanCreate(SQLModel):
    time_limit_s: float | None = Field(default=None, gt=0, le=300)


class LocationReport(SQLModel):
    lat: float = Field(ge=-90, le=90, schema_extra=_ex(10.4602))
    lon: float = Field(ge=-180, le=180, schema_extra=_ex(105.6329))
    accuracy: float | None = Field(
        default=None, ge=0, le=100_000, description="metres", schema_extra=_ex(12.0)
    )
    speed: float | None = Field(default=None, ge=0, le=100, description="m/s")
    heading: float | None = Field(default=None, ge=0, le=360)
    at: Instant | None = Field(default=None, description="device time; default: when received")


class StopAction(SQLModel):
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    at: Instant | None = None
    note: str | None = Field(default=None, max_length=300, schema_extra=_ex("Đã gọi trước, công dân có nhà"))
    # Completing a result delivery: who received it (custody's recipient check) and the proof photo/signature.
    recipient: RecipientCheck | None = None
    proof_id: uuid.UUID | None = None


class StopMove(SQLModel):
    """Move a stop (with the other items of its visit) to a courier of the plan and/or to a place in that
    courier's order. ``position`` is 1-based among the route's open stops (planned or started); default: last."""

    courier_id: uuid.UUID | None = Field(default=None, description="default: the stop's courier")
    position: int | None = Field(default=None, ge=1, le=1000, schema_extra=_ex(2))
    pin: bool | None = Field(default=None, description="also pin (true) or unpin (false) the stop")
    route_version: int | None = Field(
        default=None,
        ge=1,
        description="the version of the stop's route the dispatcher saw (409 `route_changed` if it moved since)",
    )


class StopFailure(StopAction):
    reason_code: str = Field(min_length=1, max_length=40, schema_extra=_ex("citizen_absent"))
