"""Problem and solution dataclasses of the routing library.

Times are integer seconds since midnight of the plan day (local time); the caller converts from/to aware
datetimes. Distances are metres. Benchmarks use the same model with an explicit matrix in their own units.
"""

from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

DAY = 24 * 3600


@dataclass(frozen=True)
class Location:
    """A point: geographic (lat/lon, WGS84 degrees) or a node index into `Problem.matrix`."""

    lat: float | None = None
    lon: float | None = None
    node: int | None = None

    def key(self) -> tuple[float | None, float | None, int | None]:
        return (self.lat, self.lon, self.node)


@dataclass(frozen=True)
class TimeWindow:
    """Service must START within [start, end] (waiting before `start` is allowed)."""

    start: int
    end: int


@dataclass(frozen=True)
class Break:
    """A break of `duration` seconds starting within [earliest_start, latest_start] (e.g. lunch)."""

    duration: int
    earliest_start: int
    latest_start: int


@dataclass(frozen=True)
class Depot:
    id: str
    location: Location
    opens: int = 0
    closes: int = DAY


@dataclass(frozen=True)
class Vehicle:
    """A courier with a vehicle. Start/end default to the depot's location.

    `committed` lists stops the courier has started or promised: they are served first, in that order, by this
    vehicle (re-optimisation keeps them).
    """

    id: str
    depot_id: str | None = None
    start_location: Location | None = None
    end_location: Location | None = None
    shift_start: int = 0
    shift_end: int = DAY
    breaks: tuple[Break, ...] = ()
    capacity_items: int | None = None
    capacity_weight: int | None = None
    skills: frozenset[str] = frozenset()
    profile: str = "motorbike"
    fixed_cost: int = 0
    committed: tuple[str, ...] = ()


StopKind = Literal["delivery", "pickup"]


@dataclass(frozen=True)
class Stop:
    """A visit. Outside a pickup-delivery pair, kind "delivery" means the load leaves the depot with the
    courier and is dropped here; "pickup" means it is collected here and carried back to the depot.

    `penalty` is the cost (in objective units, i.e. scaled seconds) of leaving the stop unserved; None means
    "serve whenever possible" (a penalty larger than any travel or vehicle cost), scaled by `priority`.
    """

    id: str
    location: Location
    window: TimeWindow | None = None
    service_time: int = 0
    kind: StopKind = "delivery"
    items: int = 1
    weight: int = 0
    skills: frozenset[str] = frozenset()
    priority: int = 1
    penalty: int | None = None
    pinned_vehicle: str | None = None


@dataclass(frozen=True)
class PickupDelivery:
    """Pickup stop then delivery stop, same vehicle; the pickup's items/weight travel between them."""

    pickup: str
    delivery: str


@dataclass
class TravelMatrix:
    """Explicit matrices indexed by `Location.node`: durations (seconds or model units) and distances."""

    durations: FloatArray
    distances: FloatArray | None = None


class MatrixProvider(Protocol):
    """Computes travel matrices for a list of geographic locations and a vehicle profile."""

    def matrix(self, locations: list[Location], profile: str) -> TravelMatrix: ...


@dataclass
class Problem:
    depots: list[Depot]
    vehicles: list[Vehicle]
    stops: list[Stop]
    pairs: list[PickupDelivery] = field(default_factory=list)
    initial_routes: dict[str, list[str]] = field(default_factory=dict)
    matrix: TravelMatrix | None = None
    matrix_provider: MatrixProvider | None = None


Objective = Literal["time", "distance"]


@dataclass(frozen=True)
class SolveOptions:
    """Solver knobs.

    time_limit_s: wall-clock budget of the whole solve. minimize_vehicles: fewest vehicles before travel.
    objective: minimise travel time or distance (after unserved penalties and vehicles).
    time_scale: internal integer resolution (units per model time unit); travel times are rounded UP so an
    integer-feasible plan is feasible in exact arithmetic.
    solution_limit: stop after that many improving solutions (makes runs reproducible regardless of CPU speed).
    allow_unserved: False = every stop must be served (no disjunctions: a faster search); if no such plan is
    found, the solver falls back to penalised disjunctions and reports unassigned stops.
    decompose_above: more stops than this (without pairs/committed stops, single depot) are solved by angular
    sectors of ~decompose_size stops using decompose_share of the time, then improved as a whole.
    stall_restart_s: when guided local search has not improved for that long, ruin a spatially close group of
    stops of the best plan and search again (-1 = automatic: 0.015 s per stop, at most 5 % of the budget, at least 1 s; 0 = off).
    Restarts are off when solution_limit is set. The ruin choice is drawn from `seed`.
    ils_max_stops: models up to that many nodes that minimise travel only (not minimize_vehicles, restarts on)
    use iterated local search instead: SISR string ruin + greedy descent + simulated-annealing acceptance
    (0 = always guided local search).
    seed: seeds the ruin-and-restart choices; the OR-Tools search itself is deterministic, so runs with the same
    `solution_limit` (and a time limit that is not hit) return identical plans. The ruin-and-recreate search
    is seeded too, but its chunks follow the clock, so its runs differ with the machine's speed.
    ruin_recreate: models with at most one break per vehicle and one travel profile (restarts on, i.e. no
    `solution_limit`) are solved by the compiled SISR ruin-and-recreate search of
    `routing.sisr` instead of OR-Tools (False: always OR-Tools).
    """

    time_limit_s: float = 10.0
    minimize_vehicles: bool = False
    objective: Objective = "time"
    seed: int = 0
    time_scale: int = 1
    solution_limit: int | None = None
    first_solution_share: float = 0.1
    allow_unserved: bool = True
    decompose_above: int = 400
    decompose_size: int = 150
    decompose_share: float = 0.65
    fleet_phase_share: float = 0.0
    stall_restart_s: float = -1.0
    ils_max_stops: int = 300
    ruin_recreate: bool = True
    log_search: bool = False


@dataclass(frozen=True)
class Visit:
    stop_id: str
    arrival: int
    start: int
    end: int
    load_items: int
    load_weight: int


@dataclass(frozen=True)
class BreakTaken:
    start: int
    duration: int


@dataclass
class Route:
    vehicle_id: str
    visits: list[Visit]
    start_time: int
    end_time: int
    travel_time: float
    distance: float
    breaks: list[BreakTaken] = field(default_factory=list)

    @property
    def stop_ids(self) -> list[str]:
        return [v.stop_id for v in self.visits]


@dataclass(frozen=True)
class Unassigned:
    stop_id: str
    reason: str


@dataclass
class Solution:
    routes: list[Route]
    unassigned: list[Unassigned]
    total_travel_time: float
    total_distance: float
    vehicles_used: int
    objective: int
    status: str  # "all_served", "partial" (see `unassigned`) or "no_solution"
    wall_time_s: float
    stats: dict[str, float | int | str] = field(default_factory=dict)

    def route_of(self, vehicle_id: str) -> Route | None:
        return next((r for r in self.routes if r.vehicle_id == vehicle_id), None)
