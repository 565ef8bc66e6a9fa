"""`solve(problem, options) -> Solution`: OR-Tools search strategy around the model of `ortools_model`."""

import logging
import math
import os
import random
import time
from dataclasses import replace

import numpy as np
import numpy.typing as npt
from google.protobuf import text_format
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from routing import sisr
from routing.compile import Compiled, compile_problem
from routing.evaluate import place_breaks
from routing.extract import Plan, to_solution
from routing.model import (
    Problem,
    Solution,
    SolveOptions,
)
from routing.ortools_model import Built, build_model
from routing.ruin import Stall, arc_cost, ruin, ruin_strings

log = logging.getLogger(__name__)

FS = routing_enums_pb2.FirstSolutionStrategy
LSM = routing_enums_pb2.LocalSearchMetaheuristic

# ILS cooling (start, end), measured with the ruin sizes in routing/ruin.py: a 3x colder one was within noise.
ILS_TEMPERATURE = (0.003, 0.0001)

FIRST_STRATEGIES = (
    FS.PARALLEL_CHEAPEST_INSERTION,
    FS.LOCAL_CHEAPEST_INSERTION,
    FS.SAVINGS,
    FS.PATH_CHEAPEST_ARC,
)


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
    # Solomon 10 s runs: 0.2 did slightly better than the default 0.1 (within run-to-run noise).
    p.guided_local_search_lambda_coefficient = 0.2
    overrides = os.environ.get("ROUTING_SEARCH_OVERRIDES")
    if overrides:  # developer knob for benchmark experiments (protobuf text format)
        text_format.Merge(overrides, p)
    return p


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
    built: Built, c: Compiled, budget_s: float, warm: list[list[int]] | None
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


def _first_plan(
    c: Compiled,
    built: Built,
    options: SolveOptions,
    deadline: float,
    warm: list[list[int]] | None,
    strategies: bool,
) -> Plan | None:
    """The best of the first-solution strategies (and the warm start), or only the warm start."""
    if strategies:
        remaining = deadline - time.perf_counter()
        return _best_first_solution(built, c, max(0.05, remaining * options.first_solution_share), warm)
    if warm is None:
        return None
    a0 = routes_to_assignment(built, warm)
    if a0 is None:
        return None
    first = _routes_of(built, a0, len(c.starts))
    first.info["first_solution"] = "warm_start"
    return first


def _improve(
    c: Compiled,
    options: SolveOptions,
    deadline: float,
    warm: list[list[int]] | None = None,
    vehicles: list[int] | None = None,
    stops: list[int] | None = None,
    mandatory: bool = False,
    strategies: bool = True,
    ils: bool = True,
) -> Plan | None:
    """First solutions (+ warm start) then iterated local search (small travel-only models) or guided local
    search with ruin-and-restart until `deadline`, on the whole problem or on the sub-problem given by global
    `vehicles` / `stops` (`ils=False`: always GLS)."""
    built = build_model(c, options.minimize_vehicles, vehicles, stops, mandatory)
    restarts = options.solution_limit is None and options.stall_restart_s != 0 and not mandatory
    n_model = len(built.local_nodes)
    # Iterated local search won on 100-stop distance problems; the fleet-size objective (hierarchical Li & Lim)
    # and large models (1000-stop final phase, sectors) did better with GLS and ruin-and-restart.
    use_ils = ils and restarts and not options.minimize_vehicles and n_model <= options.ils_max_stops
    close = search_params(FS.PARALLEL_CHEAPEST_INSERTION, LSM.GUIDED_LOCAL_SEARCH, 1)
    if use_ils:
        # The local search operators are built when the model is closed: later parameters cannot drop them.
        _light(close)
    built.routing.CloseModelWithParameters(close)
    first = _first_plan(c, built, options, deadline, warm, strategies)
    if use_ils and first is not None:
        return _ils(c, built, options, deadline, first)
    stall = Stall(built) if restarts else None
    remaining = deadline - time.perf_counter()
    total_gls = remaining
    # Measured on Solomon at 30 s: restarting after 1.5 s without improvement beats 0.75 s and 3.6 s.
    n_model = len(built.local_nodes)
    auto_stall = max(1.0, min(0.05 * total_gls, 0.015 * n_model))
    stall_s = options.stall_restart_s if options.stall_restart_s > 0 else auto_stall
    best: Plan | None = None
    start = routes_to_assignment(built, first.routes) if first is not None else None
    rng = random.Random(options.seed)
    rounds = 0
    while True:
        remaining = deadline - time.perf_counter()
        params = search_params(
            FS.PARALLEL_CHEAPEST_INSERTION,
            LSM.GUIDED_LOCAL_SEARCH,
            max(0.05, remaining),
            options.solution_limit,
            options.log_search,
        )
        if stall is not None:
            stall.arm(stall_s)
        if start is not None:
            a = built.routing.SolveFromAssignmentWithParameters(start, params)
        elif best is None and first is None:
            a = built.routing.SolveWithParameters(params)
        else:
            a = None
        rounds += 1
        if a is not None:
            plan = _routes_of(built, a, len(c.starts))
            if best is None or plan.objective < best.objective:
                best = plan
        if stall is None or best is None or deadline - time.perf_counter() < max(1.0, stall_s):
            break
        # Stagnated: ruin a spatially close group of stops in the best plan and search again from there.
        start = routes_to_assignment(built, ruin(c, best.routes, rng, built))
    if best is None:
        return first
    best.info["gls_rounds"] = rounds
    if first is not None:
        best.info.update(first.info)
        best.info["first_objective"] = first.objective
    return best


# Dropped for the short descents of the ILS: the insertion LNS and shortest-path operators made each descent
# 2-3x slower (R101: 145 -> 50 ms) for no measured gain once the ruin step does the large moves.
LIGHT_OPERATORS = """local_search_operators {
  use_global_cheapest_insertion_path_lns: BOOL_FALSE
  use_local_cheapest_insertion_path_lns: BOOL_FALSE
  use_global_cheapest_insertion_visit_types_lns: BOOL_FALSE
  use_local_cheapest_insertion_visit_types_lns: BOOL_FALSE
  use_relocate_path_global_cheapest_insertion_insert_unperformed: BOOL_FALSE
  use_shortest_path_swap_active: BOOL_FALSE
  use_shortest_path_two_opt: BOOL_FALSE
  use_swap_active_chain: BOOL_FALSE
}"""


def _light(params: pywrapcp.DefaultRoutingSearchParameters) -> None:
    text_format.Merge(LIGHT_OPERATORS, params)
    # The developer knob still has the last word.
    overrides = os.environ.get("ROUTING_SEARCH_OVERRIDES")
    if overrides:
        text_format.Merge(overrides, params)


def _ils(c: Compiled, built: Built, options: SolveOptions, deadline: float, first: Plan) -> Plan:
    """Iterated local search: ruin the current plan (SISR strings), descend to a local optimum with OR-Tools'
    local search (greedy descent, ~50-130 ms on 100 stops), accept the result with a simulated-annealing rule.

    The temperature is a share of the best plan's arc cost (0.3 % cooling exponentially to 0.01 %), so a
    plan with one more unserved stop or vehicle (penalties above any arc cost) is never accepted."""
    rng = random.Random(options.seed)
    n_veh = len(c.starts)

    def descend(routes: list[list[int]]) -> Plan | None:
        start = routes_to_assignment(built, routes)
        if start is None:
            return None
        params = search_params(
            FS.PARALLEL_CHEAPEST_INSERTION,
            LSM.GREEDY_DESCENT,
            max(0.05, deadline - time.perf_counter()),
        )
        _light(params)
        a = built.routing.SolveFromAssignmentWithParameters(start, params)
        return _routes_of(built, a, n_veh) if a is not None else None

    current = descend(first.routes) or first
    best = current
    best_arc = arc_cost(c, best.routes)
    t0 = time.perf_counter()
    temp_start, temp_end = ILS_TEMPERATURE
    rounds = accepted = 0
    while deadline - time.perf_counter() > 0.02:
        plan = descend(ruin_strings(c, current.routes, rng, built))
        rounds += 1
        if plan is None:
            continue
        frac = min(1.0, (time.perf_counter() - t0) / max(1e-9, deadline - t0))
        temp = temp_start * (temp_end / temp_start) ** frac * best_arc
        delta = plan.objective - current.objective
        if delta <= 0 or (temp > 0 and rng.random() < math.exp(-delta / temp)):
            current = plan
            accepted += 1
        if plan.objective < best.objective:
            best = plan
            best_arc = arc_cost(c, best.routes)
    best.info.update(first.info)
    best.info.update(ils_rounds=rounds, ils_accepted=accepted, first_objective=first.objective)
    return best


def _warm_routes(c: Compiled) -> list[list[int]] | None:
    if not (c.problem.initial_routes or any(c.committed)):
        return None
    raw: list[list[int]] = [[] for _ in c.starts]
    for vid, ids in c.problem.initial_routes.items():
        k = c.vehicle_index.get(vid)
        if k is not None:
            raw[k] = [c.stop_index[s] for s in ids if s in c.stop_index]
    return repair_routes(c, raw)


def solve_compiled(c: Compiled, options: SolveOptions, deadline: float) -> Plan | None:
    warm = _warm_routes(c)
    if sisr.eligible(c.problem, options):
        return _ruin_recreate(c, options, deadline, warm)
    if warm is None and decomposable(c, options):
        return solve_decomposed(c, options, deadline)
    mandatory = not options.allow_unserved
    if options.fleet_phase_share > 0 and not options.minimize_vehicles:
        # Phase 1 packs routes (fewest vehicles), phase 2 minimises travel from there and may reopen routes.
        t_split = time.perf_counter() + (deadline - time.perf_counter()) * options.fleet_phase_share
        packed = _improve(c, replace(options, minimize_vehicles=True), t_split, warm, mandatory=mandatory)
        if packed is not None:
            warm = packed.routes
            plan = _improve(c, options, deadline, warm, mandatory=mandatory, strategies=False)
            if plan is not None:
                plan.info["fleet_phase_vehicles"] = sum(1 for r in packed.routes if r)
                return plan
    plan = _improve(c, options, deadline, warm, mandatory=mandatory)
    if plan is None and mandatory:
        # Serving everything is impossible (or too hard to find): fall back to penalised disjunctions.
        plan = _improve(c, options, max(deadline, time.perf_counter() + 1.0), warm)
    return plan


# Share of the budget (at least POLISH_MIN_S) left for an OR-Tools descent from the ruin-and-recreate plan
# on models of at most `ils_max_stops` nodes: its 2-opt/exchange/cross moves find what insertion alone
# misses on long routes (Solomon R210 at 10 s: 0.13 % shorter in 0.07 s).
POLISH_SHARE = 0.02
POLISH_MIN_S = 0.2


def _ruin_recreate(
    c: Compiled, options: SolveOptions, deadline: float, warm: list[list[int]] | None
) -> Plan | None:
    polish = c.n_stops <= options.ils_max_stops
    budget = deadline - time.perf_counter()
    reserve = max(POLISH_MIN_S, POLISH_SHARE * budget) if polish and budget > 4 * POLISH_MIN_S else 0.0
    r = sisr.run(c, options, deadline - reserve, warm)
    # The kernel checks every move; the pure-Python evaluator has the last word all the same.
    broken = [k for k, nodes in enumerate(r.routes) if nodes and place_breaks(c, k, nodes) is None]
    if broken:
        log.error("ruin-and-recreate returned infeasible routes %s; solving with OR-Tools instead", broken)
        plain = replace(options, ruin_recreate=False)
        return solve_compiled(c, plain, max(deadline, time.perf_counter() + 1.0))
    plan = Plan(r.routes, r.objective)
    if reserve > 0:
        plan = _descend(c, options, deadline, plan)
    first = "warm_start" if warm is not None and any(warm) else "greedy_insertion"
    plan.info.update(
        search="sisr", first_solution=first, sisr_iterations=r.iterations, sisr_accepted=r.accepted
    )
    return plan


def _descend(c: Compiled, options: SolveOptions, deadline: float, plan: Plan) -> Plan:
    """OR-Tools greedy descent from `plan` until `deadline`; `plan` itself if OR-Tools cannot read it (e.g.
    breaks it cannot place without search) or finds nothing better."""
    built = build_model(c, options.minimize_vehicles)
    built.routing.CloseModelWithParameters(
        search_params(FS.PARALLEL_CHEAPEST_INSERTION, LSM.GREEDY_DESCENT, 1)
    )
    start = routes_to_assignment(built, plan.routes)
    if start is None:
        return plan
    params = search_params(FS.PARALLEL_CHEAPEST_INSERTION, LSM.GREEDY_DESCENT, deadline - time.perf_counter())
    a = built.routing.SolveFromAssignmentWithParameters(start, params)
    if a is None:
        return plan
    better = _routes_of(built, a, len(c.starts))
    if better.objective >= plan.objective:
        return plan
    better.info["polished_from"] = plan.objective
    return better


def decomposable(c: Compiled, options: SolveOptions) -> bool:
    return (
        c.n_stops > options.decompose_above
        and not c.pickup_of
        and not any(c.committed)
        and len(set(c.starts)) == 1
        and len(set(c.ends)) == 1
        and len(c.profiles) == 1
    )


def _plane_coords(c: Compiled) -> npt.NDArray[np.float64]:
    """2-D positions of all nodes: lat/lon when known, else classical MDS of the (symmetrised) matrix."""
    locs = [s.location for s in c.problem.stops]
    if all(loc.lat is not None and loc.lon is not None for loc in locs):
        depot = c.problem.depots[0].location if c.problem.depots else locs[0]
        pts = [(loc.lat, loc.lon) for loc in locs]
        xy = np.array(pts + [(depot.lat, depot.lon)] * (c.n_nodes - c.n_stops), dtype=np.float64)
        xy[:, 1] *= np.cos(np.radians(float(np.mean(xy[:, 0]))))
        return xy
    d = c.distances[0]
    d = (d + d.T) / 2
    n = d.shape[0]
    j = np.eye(n) - np.ones((n, n)) / n
    b = -0.5 * j @ (d**2) @ j
    vals, vecs = np.linalg.eigh(b)
    top = np.argsort(vals)[::-1][:2]
    return vecs[:, top] * np.sqrt(np.maximum(vals[top], 0.0))


def solve_decomposed(c: Compiled, options: SolveOptions, deadline: float) -> Plan | None:
    """Large instances: split the customers into angular sectors around the depot, solve each sector with its
    share of the fleet and time, merge, then improve the whole plan with the remaining time."""
    t0 = time.perf_counter()
    total = deadline - t0
    xy = _plane_coords(c)
    depot = xy[c.starts[0]]
    ang = np.arctan2(xy[: c.n_stops, 1] - depot[1], xy[: c.n_stops, 0] - depot[0])
    order = [int(i) for i in np.argsort(ang)]
    # Rotate so the largest angular gap falls between sectors rather than inside one.
    gaps = np.diff(np.concatenate([ang[order], [ang[order[0]] + 2 * np.pi]]))
    cut = int(np.argmax(gaps)) + 1
    order = order[cut:] + order[:cut]
    n_sec = max(2, int(np.ceil(c.n_stops / options.decompose_size)))
    sectors = [order[k * len(order) // n_sec : (k + 1) * len(order) // n_sec] for k in range(n_sec)]
    n_veh = len(c.starts)
    routes: list[list[int]] = [[] for _ in range(n_veh)]
    next_vehicle = 0
    sub_budget = total * options.decompose_share / n_sec
    info: dict[str, float | int | str] = {"decomposed_sectors": n_sec}
    for k, sec in enumerate(sectors):
        share = max(1, int(np.ceil(n_veh * len(sec) / c.n_stops * 1.3)))
        veh = list(range(next_vehicle, min(n_veh, next_vehicle + share)))
        if not veh:
            break
        sub_deadline = min(deadline, time.perf_counter() + sub_budget)
        plan = _improve(c, options, sub_deadline, vehicles=veh, stops=sec, ils=False)
        used = [v for v in veh if plan is not None and plan.routes[v]]
        if plan is not None:
            for v in veh:
                routes[v] = plan.routes[v]
        # Unused vehicles of this sector go to the next one.
        next_vehicle = (max(used) + 1) if used else next_vehicle
        info[f"sector_{k}_stops"] = len(sec)
    final = _improve(c, options, deadline, warm=routes, strategies=False)
    if final is None:
        return None
    final.info.update(info)
    return final


def solve(problem: Problem, options: SolveOptions | None = None) -> Solution:
    options = options or SolveOptions()
    t0 = time.perf_counter()
    deadline = t0 + options.time_limit_s
    c = compile_problem(problem, options.time_scale, options.objective)
    plan = solve_compiled(c, options, deadline)
    served = sum(len(r) for r in plan.routes) if plan is not None else 0
    status = "no_solution" if plan is None else ("all_served" if served == c.n_stops else "partial")
    return to_solution(c, plan, time.perf_counter() - t0, status)
