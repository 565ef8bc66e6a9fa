"""`solve(problem, options) -> Solution`: OR-Tools search strategy around the model of `ortools_model`."""

import time
from dataclasses import dataclass, field

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from routing.compile import Compiled, compile_problem
from routing.evaluate import Tokens, evaluate, place_breaks
from routing.model import (
    BreakTaken,
    Problem,
    Route,
    Solution,
    SolveOptions,
    Unassigned,
    Visit,
)
from routing.ortools_model import Built, build_model

FS = routing_enums_pb2.FirstSolutionStrategy
LSM = routing_enums_pb2.LocalSearchMetaheuristic

FIRST_STRATEGIES = (
    FS.PARALLEL_CHEAPEST_INSERTION,
    FS.LOCAL_CHEAPEST_INSERTION,
    FS.SAVINGS,
    FS.PATH_CHEAPEST_ARC,
)


@dataclass
class Plan:
    """Internal solution: per global vehicle, the global stop nodes in order (+ break starts if known)."""

    routes: list[list[int]]
    objective: int
    break_starts: list[list[int]] = field(default_factory=list)
    info: dict[str, float | int | str] = field(default_factory=dict)


def search_params(
    strategy: int,
    metaheuristic: int,
    time_limit_s: float,
    solution_limit: int | None = None,
    log: bool = False,
) -> pywrapcp.DefaultRoutingSearchParameters:
    p = pywrapcp.DefaultRoutingSearchParameters()
    p.first_solution_strategy = strategy
    p.local_search_metaheuristic = metaheuristic
    p.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    if solution_limit is not None:
        p.solution_limit = solution_limit
    p.log_search = log
    return p


def _exp(params: pywrapcp.DefaultRoutingSearchParameters) -> None:
    import json
    import os

    from google.protobuf import text_format

    raw = os.environ.get("ROUTING_EXP")
    if raw:
        text_format.Merge(raw, params)
    del json


def _routes_of(built: Built, assignment: pywrapcp.Assignment, n_vehicles: int) -> Plan:
    routing, manager = built.routing, built.manager
    routes: list[list[int]] = [[] for _ in range(n_vehicles)]
    breaks: list[list[int]] = [[] for _ in range(n_vehicles)]
    for lv, k in enumerate(built.vehicles):
        idx = assignment.Value(routing.NextVar(routing.Start(lv)))
        while not routing.IsEnd(idx):
            routes[k].append(built.local_nodes[manager.IndexToNode(idx)])
            idx = assignment.Value(routing.NextVar(idx))
        breaks[k] = [assignment.StartValue(iv) for iv in built.breaks[lv]]
    return Plan(routes, int(assignment.ObjectiveValue()), breaks)


def routes_to_assignment(built: Built, routes: list[list[int]]) -> pywrapcp.Assignment | None:
    local_pos = {n: i for i, n in enumerate(built.local_nodes)}
    idx_routes = []
    for k in built.vehicles:
        idx_routes.append([built.manager.NodeToIndex(local_pos[n]) for n in routes[k] if n in local_pos])
    return built.routing.ReadAssignmentFromRoutes(idx_routes, True)


def repair_routes(c: Compiled, routes: list[list[int]]) -> list[list[int]]:
    """Keep, in order, the warm-start stops that still fit (bookings or couriers may have changed)."""
    out: list[list[int]] = []
    used: set[int] = set()
    for k, nodes in enumerate(routes):
        kept: list[int] = list(c.committed[k])
        used.update(kept)
        for n in nodes:
            if n in used or (c.allowed[n] is not None and k not in (c.allowed[n] or [])):
                continue
            if n in c.pickup_of:
                continue  # added together with its pickup
            cand = [*kept, n]
            if n in c.delivery_of:
                d = c.delivery_of[n]
                if d not in nodes:
                    continue
                # Place the delivery where the warm start had it relative to other kept stops: at the end.
                cand = [*kept, n, d]
            if place_breaks(c, k, cand) is not None:
                kept = cand
                used.update(cand)
        # Restore the warm start's order for delivery nodes appended at the end above.
        order = {n: i for i, n in enumerate(nodes)}
        committed = c.committed[k]
        rest = [n for n in kept if n not in committed]
        reordered = list(committed) + sorted(rest, key=lambda n: order.get(n, len(order)))
        if reordered != kept and place_breaks(c, k, reordered) is not None:
            kept = reordered
        out.append(kept)
    return out


def _best_first_solution(
    built: Built, c: Compiled, options: SolveOptions, budget_s: float, warm: list[list[int]] | None
) -> Plan | None:
    best: Plan | None = None
    strategies = list(FIRST_STRATEGIES)
    if c.pickup_of:
        strategies.remove(FS.SAVINGS)  # savings ignores pickup-delivery structure and is slow on it
    n_vehicles = len(c.starts)
    if warm is not None:
        a = routes_to_assignment(built, warm)
        if a is not None:
            best = _routes_of(built, a, n_vehicles)
            best.info["first_solution"] = "warm_start"
    per = budget_s / len(strategies)
    for strategy in strategies:
        params = search_params(strategy, LSM.GREEDY_DESCENT, per, solution_limit=1)
        a = built.routing.SolveWithParameters(params)
        if a is None:
            continue
        plan = _routes_of(built, a, n_vehicles)
        if best is None or plan.objective < best.objective:
            best = plan
            best.info["first_solution"] = FS.Value.Name(strategy) if hasattr(FS, "Value") else str(strategy)
    return best


def solve_compiled(c: Compiled, options: SolveOptions, deadline: float) -> Plan | None:
    built = build_model(c, options.minimize_vehicles)
    built.routing.CloseModelWithParameters(
        search_params(FS.PARALLEL_CHEAPEST_INSERTION, LSM.GUIDED_LOCAL_SEARCH, 1)
    )
    warm: list[list[int]] | None = None
    if c.problem.initial_routes or any(c.committed):
        raw: list[list[int]] = [[] for _ in c.starts]
        for vid, ids in c.problem.initial_routes.items():
            k = c.vehicle_index.get(vid)
            if k is not None:
                raw[k] = [c.stop_index[s] for s in ids if s in c.stop_index]
        warm = repair_routes(c, raw)
    remaining = deadline - time.perf_counter()
    first = _best_first_solution(built, c, options, max(0.05, remaining * options.first_solution_share), warm)
    remaining = deadline - time.perf_counter()
    params = search_params(
        FS.PARALLEL_CHEAPEST_INSERTION,
        LSM.GUIDED_LOCAL_SEARCH,
        max(0.05, remaining),
        options.solution_limit,
        options.log_search,
    )
    _exp(params)
    if first is not None:
        start = routes_to_assignment(built, first.routes)
        a = built.routing.SolveFromAssignmentWithParameters(start, params) if start is not None else None
    else:
        a = built.routing.SolveWithParameters(params)
    if a is None:
        return first
    plan = _routes_of(built, a, len(c.starts))
    if first is not None:
        plan.info.update(first.info)
        plan.info["first_objective"] = first.objective
    return plan


def _tokens_with_breaks(c: Compiled, k: int, nodes: list[int], break_starts: list[int]) -> Tokens:
    if not c.breaks[k]:
        return list(nodes)
    if break_starts and len(break_starts) == len(c.breaks[k]):
        # Put each break before the first visit that starts after the break ends (OR-Tools placement).
        ev = evaluate(c, k, nodes)
        tokens: Tokens = []
        order = sorted(range(len(break_starts)), key=lambda b: break_starts[b])
        bi = 0
        for pos, n in enumerate(nodes):
            while bi < len(order) and break_starts[order[bi]] + c.breaks[k][order[bi]][2] <= ev.start[pos]:
                tokens.append(-(order[bi] + 1))
                bi += 1
            tokens.append(n)
        tokens.extend(-(b + 1) for b in order[bi:])
        if evaluate(c, k, tokens).feasible:
            return tokens
    placed = place_breaks(c, k, nodes)
    return placed if placed is not None else list(nodes)


def diagnose(c: Compiled, i: int) -> str:
    """Why stop node i is unserved: the first of skill, capacity, window reasons that explains it."""
    s = c.problem.stops[i]
    allowed = c.allowed[i]
    cands = list(range(len(c.starts))) if allowed is None else allowed
    if not cands:
        if s.pinned_vehicle is not None and s.pinned_vehicle not in c.vehicle_index:
            return "pinned vehicle unavailable"
        return "no vehicle with skill"
    seq = [i]
    if i in c.delivery_of:
        seq = [i, c.delivery_of[i]]
    elif i in c.pickup_of:
        seq = [c.pickup_of[i], i]
    fits_capacity = False
    for k in cands:
        ev = evaluate(c, k, seq)
        if not ev.reason.startswith("capacity"):
            fits_capacity = True
        if place_breaks(c, k, seq) is not None:
            return "not enough vehicles/time"
    if not fits_capacity:
        return "capacity"
    return "time window unreachable"


def to_solution(c: Compiled, plan: Plan | None, wall: float, status: str) -> Solution:
    problem = c.problem
    routes: list[Route] = []
    served: set[int] = set()
    total_t = 0.0
    total_d = 0.0
    sc = c.scale
    if plan is not None:
        for k, nodes in enumerate(plan.routes):
            if not nodes:
                continue
            served.update(nodes)
            bs = plan.break_starts[k] if plan.break_starts else []
            tokens = _tokens_with_breaks(c, k, nodes, bs)
            ev = evaluate(c, k, tokens)
            p = c.vehicle_profile[k]
            dur, dist = c.durations[p], c.distances[p]
            path = [c.starts[k], *nodes, c.ends[k]]
            tt = float(sum(dur[a, b] for a, b in zip(path, path[1:], strict=False)))
            dd = float(sum(dist[a, b] for a, b in zip(path, path[1:], strict=False)))
            visits = []
            taken = []
            for pos, tok in enumerate(tokens):
                if tok < 0:
                    taken.append(BreakTaken(c.to_units(ev.start[pos]), c.breaks[k][-tok - 1][2] // sc))
                    continue
                visits.append(
                    Visit(
                        stop_id=problem.stops[tok].id,
                        arrival=c.to_units(ev.arrival[pos]),
                        start=c.to_units(ev.start[pos]),
                        end=c.to_units(ev.start[pos] + int(c.service[tok])),
                        load_items=ev.load_items[pos],
                        load_weight=ev.load_weight[pos],
                    )
                )
            routes.append(
                Route(
                    vehicle_id=problem.vehicles[k].id,
                    visits=visits,
                    start_time=c.to_units(c.shift_start[k]),
                    end_time=c.to_units(ev.end_time),
                    travel_time=tt,
                    distance=dd,
                    breaks=taken,
                )
            )
            total_t += tt
            total_d += dd
    unassigned = [
        Unassigned(problem.stops[i].id, diagnose(c, i)) for i in range(c.n_stops) if i not in served
    ]
    return Solution(
        routes=routes,
        unassigned=unassigned,
        total_travel_time=total_t,
        total_distance=total_d,
        vehicles_used=len(routes),
        objective=plan.objective if plan is not None else -1,
        status=status,
        wall_time_s=wall,
        stats=dict(plan.info) if plan is not None else {},
    )


def solve(problem: Problem, options: SolveOptions | None = None) -> Solution:
    options = options or SolveOptions()
    t0 = time.perf_counter()
    deadline = t0 + options.time_limit_s
    c = compile_problem(problem, options.time_scale, options.objective)
    plan = solve_compiled(c, options, deadline)
    status = "no_solution" if plan is None else "feasible"
    return to_solution(c, plan, time.perf_counter() - t0, status)
