"""Build the OR-Tools RoutingModel for a compiled problem.

Objective (hierarchical through magnitudes): unserved-stop penalties >> fixed vehicle costs (when minimising
vehicles) >> arc costs (travel time or distance).
"""

from dataclasses import dataclass

import numpy as np
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
    solver = routing.solver()
    ix = np.array(local_nodes, dtype=np.int64)
    sub = np.ix_(ix, ix)

    arc_bound, vehicle_cost, unserved = penalty_scale(c, minimize_vehicles)

    cost_cb: dict[int, int] = {}
    time_cb: dict[int, int] = {}
    service = c.service[ix]
    for p in sorted({c.vehicle_profile[k] for k in veh}):
        cost_cb[p] = routing.RegisterTransitMatrix(c.cost[p][sub].tolist())
        tmat = c.travel[p][sub] + service[:, None]
        time_cb[p] = routing.RegisterTransitMatrix(tmat.tolist())
    for lv, k in enumerate(veh):
        routing.SetArcCostEvaluatorOfVehicle(cost_cb[c.vehicle_profile[k]], lv)
        fixed = vehicle_fixed_cost(c, k, vehicle_cost)
        if fixed:
            routing.SetFixedCostOfVehicle(fixed, lv)

    horizon = int(c.horizon)
    routing.AddDimensionWithVehicleTransits(
        [time_cb[c.vehicle_profile[k]] for k in veh], horizon, horizon, False, "time"
    )
    time = routing.GetDimensionOrDie("time")
    for lv, k in enumerate(veh):
        time.CumulVar(routing.Start(lv)).SetRange(c.shift_start[k], c.shift_end[k])
        time.CumulVar(routing.End(lv)).SetRange(c.shift_start[k], c.shift_end[k])

    committed = {i for k in veh for i in c.committed[k]}
    for i in nodes_stops:
        idx = manager.NodeToIndex(pos[i])
        if i in committed:
            time.CumulVar(idx).SetMin(int(c.tw_start[i]))
            time.SetCumulVarSoftUpperBound(idx, int(c.tw_end[i]), LATE_COMMITTED_COEF)
        else:
            time.CumulVar(idx).SetRange(int(c.tw_start[i]), int(c.tw_end[i]))

    # Capacity dimensions (items, weight); see compile.py for the sign convention of `mixed_load`.
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
                solver.Add(dim.CumulVar(routing.Start(lv)) == out.CumulVar(routing.End(lv)))

    local_of = {k: lv for lv, k in enumerate(veh)}
    for i in nodes_stops:
        if i in committed or i in c.pickup_of:
            continue
        pen = unserved_penalty(c, i, unserved)
        idx = manager.NodeToIndex(pos[i])
        if i in c.delivery_of:
            didx = manager.NodeToIndex(pos[c.delivery_of[i]])
            if not mandatory:
                routing.AddDisjunction([idx], pen)
                routing.AddDisjunction([didx], pen)
            routing.AddPickupAndDelivery(idx, didx)
            solver.Add(routing.VehicleVar(idx) == routing.VehicleVar(didx))
            solver.Add(time.CumulVar(idx) <= time.CumulVar(didx))
        elif not mandatory:
            routing.AddDisjunction([idx], pen)
    for i in nodes_stops:
        allowed = c.allowed[i]
        if allowed is None:
            continue
        local = [local_of[k] for k in allowed if k in local_of]
        # SetAllowedVehiclesForIndex is broken in OR-Tools 9.15; restrict the vehicle variable instead.
        routing.VehicleVar(manager.NodeToIndex(pos[i])).SetValues([-1, *local])

    for lv, k in enumerate(veh):
        seq = c.committed[k]
        prev = routing.Start(lv)
        for i in seq:
            idx = manager.NodeToIndex(pos[i])
            routing.NextVar(prev).SetValues([idx])
            prev = idx

    breaks: list[list[pywrapcp.IntervalVar]] = []
    visit = [0] * routing.Size()
    for index in range(routing.Size()):
        node = manager.IndexToNode(index)
        visit[index] = int(service[node])
    for lv, k in enumerate(veh):
        ivs = [
            solver.FixedDurationIntervalVar(e, lat, dur, False, f"break_{k}_{b}")
            for b, (e, lat, dur) in enumerate(c.breaks[k])
        ]
        if ivs:
            time.SetBreakIntervalsOfVehicle(ivs, lv, visit)
        breaks.append(ivs)
    return Built(manager, routing, time, breaks, arc_bound, vehicle_cost, unserved, local_nodes, veh)
