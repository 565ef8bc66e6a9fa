"""Turn a `Problem` into flat integer arrays shared by the OR-Tools model, the evaluator and `can_insert`.

Node layout: stops first (node i = problems.stops[i]), then distinct vehicle start/end locations.
All times are scaled by `scale` and travel times rounded UP, so integer-feasible means feasible exactly.
"""

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from routing.matrix import HaversineMatrix
from routing.model import Depot, Location, Problem, Stop, TravelMatrix, Vehicle

IntArray = npt.NDArray[np.int64]

# Ceil with a tiny tolerance so that 5.0 stored as 5.000000000001 is not bumped to 6 at scale 1.
_CEIL_EPS = 1e-7


@dataclass
class Compiled:
    problem: Problem
    scale: int
    n_stops: int
    n_nodes: int
    stop_index: dict[str, int]
    vehicle_index: dict[str, int]
    starts: list[int]
    ends: list[int]
    profiles: list[str]
    vehicle_profile: list[int]
    travel: list[IntArray]  # per profile, scaled, rounded up
    cost: list[IntArray]  # per profile, objective arc cost
    durations: list[npt.NDArray[np.float64]]  # per profile, unscaled (reporting)
    distances: list[npt.NDArray[np.float64]]
    service: IntArray  # per node, scaled
    tw_start: IntArray
    tw_end: IntArray
    items: IntArray  # signed load change per node
    weight: IntArray
    shift_start: list[int]  # per vehicle, scaled
    shift_end: list[int]
    breaks: list[list[tuple[int, int, int]]]  # per vehicle: (earliest, latest, duration), scaled
    cap_items: list[int | None]
    cap_weight: list[int | None]
    allowed: list[list[int] | None]  # per stop: vehicles allowed (None = all)
    pickup_of: dict[int, int]  # delivery node -> pickup node
    delivery_of: dict[int, int]  # pickup node -> delivery node
    mixed_load: bool  # depot-deliveries and pickups share a vehicle: load starts at sum of deliveries
    horizon: int
    committed: list[list[int]] = field(default_factory=list)
    _lists: dict[int, list[list[int]]] = field(default_factory=dict)

    def travel_list(self, profile: int) -> list[list[int]]:
        """Python lists are far faster than numpy for scalar look-ups in the evaluator."""
        if profile not in self._lists:
            self._lists[profile] = self.travel[profile].tolist()
        return self._lists[profile]

    def to_units(self, scaled: int) -> int:
        return scaled if self.scale == 1 else math.ceil(scaled / self.scale)


def _depot_location(depots: dict[str, Depot], v: Vehicle, which: Location | None) -> Location:
    if which is not None:
        return which
    if v.depot_id is None:
        if len(depots) != 1:
            raise ValueError(f"vehicle {v.id}: no depot_id and no start/end location")
        return next(iter(depots.values())).location
    return depots[v.depot_id].location


def _scaled_ceil(a: npt.NDArray[np.float64], scale: int, cap: float) -> IntArray:
    x = np.where(np.isfinite(a), a, cap) * scale
    return np.ceil(x - _CEIL_EPS).astype(np.int64)


def compile_problem(problem: Problem, scale: int = 1, objective: str = "time") -> Compiled:
    depots = {d.id: d for d in problem.depots}
    stop_index, vehicle_index = _indexes(problem)
    locations, starts, ends = _locations(problem, depots)
    profiles = sorted({v.profile for v in problem.vehicles}) or ["motorbike"]
    horizon_units = max(
        [v.shift_end for v in problem.vehicles]
        + [d.closes for d in problem.depots]
        + [s.window.end for s in problem.stops if s.window]
        + [1]
    )
    arcs = _arcs(_matrices(problem, locations, profiles), scale, objective, cap=float(horizon_units) * 4 + 1)
    nodes = _node_arrays(problem, stop_index, len(locations), horizon_units * scale, scale)
    shift_start, shift_end, breaks = _shifts(problem, depots, scale)
    allowed, committed = _allowed(problem, stop_index, vehicle_index, nodes.delivery_of)
    return Compiled(
        problem=problem,
        scale=scale,
        n_stops=len(problem.stops),
        n_nodes=len(locations),
        stop_index=stop_index,
        vehicle_index=vehicle_index,
        starts=starts,
        ends=ends,
        profiles=profiles,
        vehicle_profile=[profiles.index(v.profile) for v in problem.vehicles],
        travel=arcs.travel,
        cost=arcs.cost,
        durations=arcs.durations,
        distances=arcs.distances,
        service=nodes.service,
        tw_start=nodes.tw_start,
        tw_end=nodes.tw_end,
        items=nodes.items,
        weight=nodes.weight,
        shift_start=shift_start,
        shift_end=shift_end,
        breaks=breaks,
        cap_items=[v.capacity_items for v in problem.vehicles],
        cap_weight=[v.capacity_weight for v in problem.vehicles],
        allowed=allowed,
        pickup_of=nodes.pickup_of,
        delivery_of=nodes.delivery_of,
        mixed_load=nodes.mixed_load,
        horizon=horizon_units * scale,
        committed=committed,
    )


def _indexes(problem: Problem) -> tuple[dict[str, int], dict[str, int]]:
    stop_index: dict[str, int] = {}
    for i, s in enumerate(problem.stops):
        if s.id in stop_index:
            raise ValueError(f"duplicate stop id {s.id}")
        stop_index[s.id] = i
    vehicle_index = {v.id: k for k, v in enumerate(problem.vehicles)}
    if len(vehicle_index) != len(problem.vehicles):
        raise ValueError("duplicate vehicle id")
    return stop_index, vehicle_index


def _locations(problem: Problem, depots: dict[str, Depot]) -> tuple[list[Location], list[int], list[int]]:
    """Every node's location (stops, then each distinct start/end place) and each vehicle's start and end
    node."""
    locations: list[Location] = [s.location for s in problem.stops]
    extra: dict[tuple[float | None, float | None, int | None], int] = {}
    starts: list[int] = []
    ends: list[int] = []
    for v in problem.vehicles:
        for which, out in ((v.start_location, starts), (v.end_location, ends)):
            loc = _depot_location(depots, v, which)
            key = loc.key()
            if key not in extra:
                extra[key] = len(locations)
                locations.append(loc)
            out.append(extra[key])
    return locations, starts, ends


def node_locations(problem: Problem) -> list[Location]:
    """Every node's location in ``compile_problem``'s layout (stops, then each distinct start/end place)."""
    return _locations(problem, {d.id: d for d in problem.depots})[0]


def _matrices(problem: Problem, locations: list[Location], profiles: list[str]) -> list[TravelMatrix]:
    """One travel matrix per vehicle profile: rows of the given matrix, else the provider's."""
    if problem.matrix is not None:
        idx = np.array([_node(loc) for loc in locations], dtype=np.int64)
        dur = np.asarray(problem.matrix.durations, dtype=np.float64)[np.ix_(idx, idx)]
        dist_src = problem.matrix.distances
        dist = np.asarray(dist_src, dtype=np.float64)[np.ix_(idx, idx)] if dist_src is not None else dur
        return [TravelMatrix(dur, dist) for _ in profiles]
    provider = problem.matrix_provider or HaversineMatrix()
    mats = []
    for p in profiles:
        m = provider.matrix(locations, p)
        mats.append(TravelMatrix(m.durations, m.distances if m.distances is not None else m.durations))
    return mats


@dataclass
class _Arcs:
    travel: list[IntArray] = field(default_factory=list)
    cost: list[IntArray] = field(default_factory=list)
    durations: list[npt.NDArray[np.float64]] = field(default_factory=list)
    distances: list[npt.NDArray[np.float64]] = field(default_factory=list)


def _arcs(mats: list[TravelMatrix], scale: int, objective: str, cap: float) -> _Arcs:
    """Scaled travel times (rounded up) and arc costs per profile; unreachable arcs cost ``cap``."""
    arcs = _Arcs()
    for m in mats:
        d = np.asarray(m.durations, dtype=np.float64)
        dist = np.asarray(m.distances, dtype=np.float64)
        np.fill_diagonal(d, 0.0)
        np.fill_diagonal(dist, 0.0)
        arcs.travel.append(_scaled_ceil(d, scale, cap))
        src = d if objective == "time" else dist
        arcs.cost.append(np.rint(np.where(np.isfinite(src), src, cap) * scale).astype(np.int64))
        arcs.durations.append(d)
        arcs.distances.append(dist)
    return arcs


@dataclass
class _Nodes:
    service: IntArray
    tw_start: IntArray
    tw_end: IntArray
    items: IntArray
    weight: IntArray
    pickup_of: dict[int, int]
    delivery_of: dict[int, int]
    mixed_load: bool


def _node_arrays(
    problem: Problem, stop_index: dict[str, int], n_nodes: int, horizon: int, scale: int
) -> _Nodes:
    """Service times, windows and signed load changes per node, and the desk-to-home pairs."""
    stops = problem.stops
    nodes = _Nodes(
        service=np.zeros(n_nodes, dtype=np.int64),
        tw_start=np.zeros(n_nodes, dtype=np.int64),
        tw_end=np.full(n_nodes, horizon, dtype=np.int64),
        items=np.zeros(n_nodes, dtype=np.int64),
        weight=np.zeros(n_nodes, dtype=np.int64),
        pickup_of={},
        delivery_of={},
        mixed_load=False,
    )
    items, weight, pickup_of, delivery_of = nodes.items, nodes.weight, nodes.pickup_of, nodes.delivery_of
    for pd in problem.pairs:
        pn, dn = stop_index[pd.pickup], stop_index[pd.delivery]
        delivery_of[pn] = dn
        pickup_of[dn] = pn
    has_depot_delivery = False
    has_pickup = bool(problem.pairs)
    for i, s in enumerate(stops):
        nodes.service[i] = s.service_time * scale
        if s.window is not None:
            nodes.tw_start[i] = s.window.start * scale
            nodes.tw_end[i] = s.window.end * scale
        if i in delivery_of:
            items[i], weight[i] = s.items, s.weight
        elif i in pickup_of:
            ps = stops[pickup_of[i]]
            items[i], weight[i] = -ps.items, -ps.weight
        elif s.kind == "pickup":
            items[i], weight[i] = s.items, s.weight
            has_pickup = True
        else:
            # Depot delivery: loaded at the start. Sign is fixed in the model builder (see mixed_load).
            items[i], weight[i] = -s.items, -s.weight
            has_depot_delivery = True
    nodes.mixed_load = has_depot_delivery and has_pickup
    if has_depot_delivery and not nodes.mixed_load:
        # Only depot deliveries: the classic CVRP form (load accumulates, start at 0) is equivalent.
        for i, s in enumerate(stops):
            if s.kind != "pickup" and i not in delivery_of and i not in pickup_of:
                items[i], weight[i] = s.items, s.weight
    return nodes


def _shifts(
    problem: Problem, depots: dict[str, Depot], scale: int
) -> tuple[list[int], list[int], list[list[tuple[int, int, int]]]]:
    """Each vehicle's working span (within its depot's hours when it starts or ends there) and breaks."""
    shift_start: list[int] = []
    shift_end: list[int] = []
    breaks: list[list[tuple[int, int, int]]] = []
    for v in problem.vehicles:
        lo, hi = v.shift_start, v.shift_end
        if v.depot_id is not None and v.depot_id in depots:
            home = depots[v.depot_id]
            if v.start_location is None:
                lo = max(lo, home.opens)
            if v.end_location is None:
                hi = min(hi, home.closes)
        shift_start.append(lo * scale)
        shift_end.append(hi * scale)
        breaks.append(
            [(b.earliest_start * scale, b.latest_start * scale, b.duration * scale) for b in v.breaks]
        )
    return shift_start, shift_end, breaks


def _allowed(
    problem: Problem, stop_index: dict[str, int], vehicle_index: dict[str, int], delivery_of: dict[int, int]
) -> tuple[list[list[int] | None], list[list[int]]]:
    """Per stop, the vehicles that may serve it (None = all): skills, pins, a pair's shared vehicle and
    stops already committed to a vehicle; and each vehicle's committed stops."""
    skilled: list[list[int] | None] = []
    for s in problem.stops:
        allowed = [k for k, v in enumerate(problem.vehicles) if s.skills <= v.skills]
        if s.pinned_vehicle is not None:
            k = vehicle_index.get(s.pinned_vehicle)
            allowed = [k] if k is not None else []
        skilled.append(None if len(allowed) == len(problem.vehicles) else allowed)
    # A pair must share a vehicle: intersect the allowed sets of both ends.
    for pn, dn in delivery_of.items():
        a, b = skilled[pn], skilled[dn]
        if a is None and b is None:
            continue
        both = sorted(
            set(a if a is not None else range(len(problem.vehicles)))
            & set(b if b is not None else range(len(problem.vehicles)))
        )
        skilled[pn] = both
        skilled[dn] = both
    committed = [[stop_index[sid] for sid in v.committed] for v in problem.vehicles]
    for k, seq in enumerate(committed):
        for i in seq:
            skilled[i] = [k]
    return skilled, committed


def _node(loc: Location) -> int:
    if loc.node is None:
        raise ValueError("Problem.matrix is set, so every location needs a node index")
    return loc.node


def stop_for(c: Compiled, node: int) -> Stop:
    return c.problem.stops[node]
