"""Build the OR-Tools RoutingModel for a compiled problem.

Objective (hierarchical through magnitudes): unserved-stop penalties >> fixed vehicle costs (when minimising
vehicles) >> arc costs (travel time or distance).
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from ortools.constraint_solver import pywrapcp

from routing.compile import Compiled

# Per-second penalty for serving a committed stop after its window (it must be served anyway).
LATE_COMMITTED_COEF = 1000


@dataclass
class Built:
    manager: pywrapcp.RoutingIndexManager
    routing: pywrapcp.RoutingModel
    time: pywrapcp.RoutingDimension
    breaks: list[list[pywrapcp.IntervalVar]]
    arc_bound: int  # upper bound of any route set's arc cost
    vehicle_cost: int
    unserved_penalty: int
    local_nodes: list[int]  # local node -> global node
    vehicles: list[int]  # local vehicle -> global vehicle


def penalty_scale(c: Compiled, minimize_vehicles: bool) -> tuple[int, int, int]:
    """(arc_bound, vehicle_cost, base unserved penalty) so that each level dominates the next."""
    max_arc = max(int(m.max()) for m in c.cost) if c.cost else 1
    arc_bound = max(1, max_arc) * (c.n_nodes + len(c.starts) + 1)
    vehicles = len(c.starts)
    vehicle_cost = arc_bound + 1 if minimize_vehicles else 0
    extra_fixed = sum(v.fixed_cost for v in c.problem.vehicles) * c.scale
    unserved = (vehicles + 1) * vehicle_cost + arc_bound + extra_fixed + 1
    return arc_bound, vehicle_cost, unserved


def vehicle_fixed_cost(c: Compiled, k: int, vehicle_cost: int) -> int:
    """What using vehicle k costs in the objective: the fleet-size cost (when minimising vehicles) plus its own."""
    return vehicle_cost + c.problem.vehicles[k].fixed_cost * c.scale


def unserved_penalty(c: Compiled, i: int, unserved: int) -> int:
    """What leaving stop i out costs: its own penalty, else `unserved` (from `penalty_scale`) times its
    priority; ten times more for a stop pinned to a courier."""
    s = c.problem.stops[i]
    pen = s.penalty * c.scale if s.penalty is not None else unserved * max(1, s.priority)
    return pen * 10 if s.pinned_vehicle is not None else pen


@dataclass
class _Sub:
    """The (sub-)problem being modelled: global vehicle and stop indices and their local numbering."""

    c: Compiled
    manager: pywrapcp.RoutingIndexManager
    routing: pywrapcp.RoutingModel
    veh: list[int]
    stops: list[int]
    pos: dict[int, int]  # global node -> local node
    ix: npt.NDArray[np.int64]  # local node -> global node
    service: npt.NDArray[np.int64]  # per local node

    def index(self, node: int) -> int:
        return int(self.manager.NodeToIndex(self.pos[node]))


def build_model(
    c: Compiled,
    minimize_vehicles: bool = False,
    vehicles: list[int] | None = None,
    stops: list[int] | None = None,
    mandatory: bool = False,
) -> Built:
    """`vehicles`/`stops` restrict the model to a sub-problem (used by decomposition); indices are global."""
    veh = list(range(len(c.starts))) if vehicles is None else vehicles
    nodes_stops = list(range(c.n_stops)) if stops is None else stops
    # Local node numbering: sub-problem stops first, then the start/end nodes used by its vehicles.
    extra = sorted({c.starts[k] for k in veh} | {c.ends[k] for k in veh})
    local_nodes = nodes_stops + extra
    pos = {n: i for i, n in enumerate(local_nodes)}
    manager = pywrapcp.RoutingIndexManager(
        len(local_nodes), len(veh), [pos[c.starts[k]] for k in veh], [pos[c.ends[k]] for k in veh]
    )
    routing = pywrapcp.RoutingModel(manager)
    ix = np.array(local_nodes, dtype=np.int64)
    sub = _Sub(c, manager, routing, veh, nodes_stops, pos, ix, c.service[ix])
    arc_bound, vehicle_cost, unserved = penalty_scale(c, minimize_vehicles)
    time_cb = _arc_costs(sub, vehicle_cost)
    committed = {i for k in veh for i in c.committed[k]}
    time = _time_dimension(sub, time_cb, committed)
    _capacities(sub)
    _optional_stops_and_pairs(sub, time, committed, unserved, mandatory)
    _allowed_vehicles(sub)
    _committed_sequences(sub)
    breaks = _breaks(sub, time)
    return Built(manager, routing, time, breaks, arc_bound, vehicle_cost, unserved, local_nodes, veh)


def _arc_costs(sub: _Sub, vehicle_cost: int) -> dict[int, int]:
    """Arc costs and fixed costs per vehicle; returns the time transit callback of each profile (travel plus
    the service at the arc's tail)."""
    c, routing = sub.c, sub.routing
    local = np.ix_(sub.ix, sub.ix)
    cost_cb: dict[int, int] = {}
    time_cb: dict[int, int] = {}
    for p in sorted({c.vehicle_profile[k] for k in sub.veh}):
        cost_cb[p] = routing.RegisterTransitMatrix(c.cost[p][local].tolist())
        tmat = c.travel[p][local] + sub.service[:, None]
        time_cb[p] = routing.RegisterTransitMatrix(tmat.tolist())
    for lv, k in enumerate(sub.veh):
        routing.SetArcCostEvaluatorOfVehicle(cost_cb[c.vehicle_profile[k]], lv)
        fixed = vehicle_fixed_cost(c, k, vehicle_cost)
        if fixed:
            routing.SetFixedCostOfVehicle(fixed, lv)
    return time_cb


def _time_dimension(sub: _Sub, time_cb: dict[int, int], committed: set[int]) -> pywrapcp.RoutingDimension:
    """Shifts and time windows; a committed stop's window end is soft (served late at a cost)."""
    c, routing = sub.c, sub.routing
    horizon = int(c.horizon)
    routing.AddDimensionWithVehicleTransits(
        [time_cb[c.vehicle_profile[k]] for k in sub.veh], horizon, horizon, False, "time"
    )
    time = routing.GetDimensionOrDie("time")
    for lv, k in enumerate(sub.veh):
        time.CumulVar(routing.Start(lv)).SetRange(c.shift_start[k], c.shift_end[k])
        time.CumulVar(routing.End(lv)).SetRange(c.shift_start[k], c.shift_end[k])
    for i in sub.stops:
        idx = sub.index(i)
        if i in committed:
            time.CumulVar(idx).SetMin(int(c.tw_start[i]))
            time.SetCumulVarSoftUpperBound(idx, int(c.tw_end[i]), LATE_COMMITTED_COEF)
        else:
            time.CumulVar(idx).SetRange(int(c.tw_start[i]), int(c.tw_end[i]))
    return time


def _capacities(sub: _Sub) -> None:
    """Capacity dimensions (items, weight); see compile.py for the sign convention of `mixed_load`."""
    c, routing, veh, ix = sub.c, sub.routing, sub.veh, sub.ix
    for name, delta, caps in (("items", c.items, c.cap_items), ("weight", c.weight, c.cap_weight)):
        if all(caps[k] is None for k in veh):
            continue
        big = int(np.abs(delta).sum()) + 1
        cb = routing.RegisterUnaryTransitVector(delta[ix].tolist())
        vcaps = [caps[k] if caps[k] is not None else big for k in veh]
        routing.AddDimensionWithVehicleCapacity(cb, 0, vcaps, not c.mixed_load, name)
        if c.mixed_load:
            dim = routing.GetDimensionOrDie(name)
            outbound = np.where(
                (delta < 0) & np.array([n not in c.pickup_of for n in range(c.n_nodes)]), -delta, 0
            )
            cb2 = routing.RegisterUnaryTransitVector(outbound[ix].tolist())
            routing.AddDimensionWithVehicleCapacity(cb2, 0, [big] * len(veh), True, name + "_out")
            out = routing.GetDimensionOrDie(name + "_out")
            for lv in range(len(veh)):
                # Leave the depot carrying exactly this route's depot deliveries.
                routing.solver().Add(dim.CumulVar(routing.Start(lv)) == out.CumulVar(routing.End(lv)))


def _optional_stops_and_pairs(
    sub: _Sub, time: pywrapcp.RoutingDimension, committed: set[int], unserved: int, mandatory: bool
) -> None:
    """Each stop may be left out at its penalty (unless ``mandatory``); a pair's two ends go together, on
    one vehicle, pickup first."""
    c, routing = sub.c, sub.routing
    solver = routing.solver()
    for i in sub.stops:
        if i in committed or i in c.pickup_of:
            continue
        pen = unserved_penalty(c, i, unserved)
        idx = sub.index(i)
        if i in c.delivery_of:
            didx = sub.index(c.delivery_of[i])
            if not mandatory:
                routing.AddDisjunction([idx], pen)
                routing.AddDisjunction([didx], pen)
            routing.AddPickupAndDelivery(idx, didx)
            solver.Add(routing.VehicleVar(idx) == routing.VehicleVar(didx))
            solver.Add(time.CumulVar(idx) <= time.CumulVar(didx))
        elif not mandatory:
            routing.AddDisjunction([idx], pen)


def _allowed_vehicles(sub: _Sub) -> None:
    local_of = {k: lv for lv, k in enumerate(sub.veh)}
    for i in sub.stops:
        allowed = sub.c.allowed[i]
        if allowed is None:
            continue
        local = [local_of[k] for k in allowed if k in local_of]
        # SetAllowedVehiclesForIndex is broken in OR-Tools 9.15; restrict the vehicle variable instead.
        sub.routing.VehicleVar(sub.index(i)).SetValues([-1, *local])


def _committed_sequences(sub: _Sub) -> None:
    """Stops already under way keep their order at the head of their vehicle's route."""
    for lv, k in enumerate(sub.veh):
        prev = sub.routing.Start(lv)
        for i in sub.c.committed[k]:
            idx = sub.index(i)
            sub.routing.NextVar(prev).SetValues([idx])
            prev = idx


def _breaks(sub: _Sub, time: pywrapcp.RoutingDimension) -> list[list[pywrapcp.IntervalVar]]:
    routing, manager = sub.routing, sub.manager
    solver = routing.solver()
    breaks: list[list[pywrapcp.IntervalVar]] = []
    visit = [0] * routing.Size()
    for index in range(routing.Size()):
        node = manager.IndexToNode(index)
        visit[index] = int(sub.service[node])
    for lv, k in enumerate(sub.veh):
        ivs = [
            solver.FixedDurationIntervalVar(e, lat, dur, False, f"break_{k}_{b}")
            for b, (e, lat, dur) in enumerate(sub.c.breaks[k])
        ]
        if ivs:
            time.SetBreakIntervalsOfVehicle(ivs, lv, visit)
        breaks.append(ivs)
    return breaks
