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
    stops = problem.stops
    stop_index: dict[str, int] = {}
    for i, s in enumerate(stops):
        if s.id in stop_index:
            raise ValueError(f"duplicate stop id {s.id}")
        stop_index[s.id] = i
    vehicle_index = {v.id: k for k, v in enumerate(problem.vehicles)}
    if len(vehicle_index) != len(problem.vehicles):
        raise ValueError("duplicate vehicle id")

    locations: list[Location] = [s.location for s in stops]
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
    n_nodes = len(locations)

    profiles = sorted({v.profile for v in problem.vehicles}) or ["motorbike"]
    vehicle_profile = [profiles.index(v.profile) for v in problem.vehicles]
    mats: list[TravelMatrix] = []
    if problem.matrix is not None:
        idx = np.array([_node(loc) for loc in locations], dtype=np.int64)
        dur = np.asarray(problem.matrix.durations, dtype=np.float64)[np.ix_(idx, idx)]
        dist_src = problem.matrix.distances
        dist = np.asarray(dist_src, dtype=np.float64)[np.ix_(idx, idx)] if dist_src is not None else dur
        mats = [TravelMatrix(dur, dist) for _ in profiles]
    else:
        provider = problem.matrix_provider or HaversineMatrix()
        for p in profiles:
            m = provider.matrix(locations, p)
            mats.append(TravelMatrix(m.durations, m.distances if m.distances is not None else m.durations))

    horizon_units = max(
        [v.shift_end for v in problem.vehicles]
        + [d.closes for d in problem.depots]
        + [s.window.end for s in stops if s.window]
        + [1]
    )
    cap = float(horizon_units) * 4 + 1
    travel = []
    cost = []
    durations = []
    distances = []
    for m in mats:
        d = np.asarray(m.durations, dtype=np.float64)
        dist = np.asarray(m.distances, dtype=np.float64)
        np.fill_diagonal(d, 0.0)
        np.fill_diagonal(dist, 0.0)
        travel.append(_scaled_ceil(d, scale, cap))
        src = d if objective == "time" else dist
        c = np.rint(np.where(np.isfinite(src), src, cap) * scale).astype(np.int64)
        cost.append(c)
        durations.append(d)
        distances.append(dist)

    service = np.zeros(n_nodes, dtype=np.int64)
    horizon = horizon_units * scale
    tw_start = np.zeros(n_nodes, dtype=np.int64)
    tw_end = np.full(n_nodes, horizon, dtype=np.int64)
    items = np.zeros(n_nodes, dtype=np.int64)
    weight = np.zeros(n_nodes, dtype=np.int64)
    pickup_of: dict[int, int] = {}
    delivery_of: dict[int, int] = {}
    for pd in problem.pairs:
        pn, dn = stop_index[pd.pickup], stop_index[pd.delivery]
        delivery_of[pn] = dn
        pickup_of[dn] = pn
    has_depot_delivery = False
    has_pickup = bool(problem.pairs)
    for i, s in enumerate(stops):
        service[i] = s.service_time * scale
        if s.window is not None:
            tw_start[i] = s.window.start * scale
            tw_end[i] = s.window.end * scale
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
    mixed_load = has_depot_delivery and has_pickup
    if has_depot_delivery and not mixed_load:
        # Only depot deliveries: the classic CVRP form (load accumulates, start at 0) is equivalent.
        for i, s in enumerate(stops):
            if s.kind != "pickup" and i not in delivery_of and i not in pickup_of:
                items[i], weight[i] = s.items, s.weight

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

    skilled: list[list[int] | None] = []
    for s in stops:
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

    return Compiled(
        problem=problem,
        scale=scale,
        n_stops=len(stops),
        n_nodes=n_nodes,
        stop_index=stop_index,
        vehicle_index=vehicle_index,
        starts=starts,
        ends=ends,
        profiles=profiles,
        vehicle_profile=vehicle_profile,
        travel=travel,
        cost=cost,
        durations=durations,
        distances=distances,
        service=service,
        tw_start=tw_start,
        tw_end=tw_end,
        items=items,
        weight=weight,
        shift_start=shift_start,
        shift_end=shift_end,
        breaks=breaks,
        cap_items=[v.capacity_items for v in problem.vehicles],
        cap_weight=[v.capacity_weight for v in problem.vehicles],
        allowed=skilled,
        pickup_of=pickup_of,
        delivery_of=delivery_of,
        mixed_load=mixed_load,
        horizon=horizon,
        committed=committed,
    )


def _node(loc: Location) -> int:
    if loc.node is None:
        raise ValueError("Problem.matrix is set, so every location needs a node index")
    return loc.node


def stop_for(c: Compiled, node: int) -> Stop:
    return c.problem.stops[node]
