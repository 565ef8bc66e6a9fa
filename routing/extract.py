"""A search's internal plan turned into the public ``Solution``: break placement, schedules, loads, travel,
and why each unserved stop could not be served."""

from dataclasses import dataclass, field

from routing.compile import Compiled
from routing.evaluate import Tokens, evaluate, place_breaks
from routing.model import BreakTaken, Route, Solution, Unassigned, Visit


@dataclass
class Plan:
    """Internal solution: per global vehicle, the global stop nodes in order (+ break starts if known)."""

    routes: list[list[int]]
    objective: int
    break_starts: list[list[int]] = field(default_factory=list)
    info: dict[str, float | int | str] = field(default_factory=dict)


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
