"""Checking routes fixed by hand (a dispatcher moved, reordered or pinned a stop; issue 20): each route's
earliest-start schedule with the same evaluation the solver's repair and ``can_insert`` use
(``routing.evaluate``), and every rule it breaks, not only the first.

Rules (``Violation.rule``): ``time_window`` (service starts after the window's end; ``amount`` seconds late),
``shift_end`` (back after the shift; seconds over), ``break`` (the break cannot start in its window),
``capacity_items`` / ``capacity_weight`` (load over capacity at a stop; ``amount`` over), ``skill`` (the
courier lacks a skill the stop needs), ``pair`` (a desk pickup and its delivery not on one route, pickup first).
Dataclasses in, result out; no web, no database.
"""

from dataclasses import dataclass, field

from routing.compile import Compiled, compile_problem
from routing.evaluate import RouteEval, Tokens, evaluate, place_breaks, start_loads
from routing.model import BreakTaken, Problem, Visit


@dataclass(frozen=True)
class Violation:
    vehicle_id: str
    rule: str
    stop_id: str | None = None
    amount: int = 0


@dataclass
class RouteCheck:
    vehicle_id: str
    visits: list[Visit]
    breaks: list[BreakTaken]
    start_time: int
    end_time: int
    travel_time: float  # seconds (unscaled matrix), per leg summed
    distance: float  # metres
    legs: list[tuple[float, float]] = field(default_factory=list)  # (seconds, metres) into each visit
    violations: list[Violation] = field(default_factory=list)

    @property
    def feasible(self) -> bool:
        return not self.violations


def check_routes(
    problem: Problem, routes: dict[str, list[str]], start_times: dict[str, int] | None = None
) -> dict[str, RouteCheck]:
    """Each route of ``routes`` (vehicle id -> stop ids in order) scheduled from its vehicle's shift start (or
    ``start_times[vehicle]``, e.g. now for a route under way), with the violations of each."""
    c = compile_problem(problem)
    out: dict[str, RouteCheck] = {}
    for vid, ids in routes.items():
        k = c.vehicle_index[vid]
        nodes = [c.stop_index[s] for s in ids]
        start = (start_times or {}).get(vid)
        tokens = place_breaks(c, k, nodes) if start is None else _breaks_from(c, k, nodes, start)
        if tokens is None:
            tokens = _least_bad(c, k, nodes, start)
        ev = evaluate(c, k, tokens, start)
        out[vid] = _route_check(c, k, vid, tokens, ev, start)
    _rule_skills_and_pairs(problem, routes, out)
    return out


def _breaks_from(c: Compiled, k: int, nodes: list[int], start: int) -> Tokens | None:
    """``place_breaks`` for a route starting at ``start``: the earliest feasible end over break positions."""
    tokens = list(nodes)
    for b in range(len(c.breaks[k])):
        best: tuple[int, Tokens] | None = None
        for pos in range(len(tokens) + 1):
            cand = [*tokens[:pos], -(b + 1), *tokens[pos:]]
            ev = evaluate(c, k, cand, start)
            if ev.feasible and (best is None or ev.end_time < best[0]):
                best = (ev.end_time, cand)
        if best is None:
            return None
        tokens = best[1]
    return tokens


def _least_bad(c: Compiled, k: int, nodes: list[int], start: int | None) -> Tokens:
    """No break position makes the route feasible: each break where the fewest rules are broken (to report
    what is wrong with the order itself rather than with a badly placed break)."""
    tokens = list(nodes)
    for b in range(len(c.breaks[k])):
        scored = []
        for pos in range(len(tokens) + 1):
            cand = [*tokens[:pos], -(b + 1), *tokens[pos:]]
            ev = evaluate(c, k, cand, start)
            scored.append((len(_violations(c, k, "", cand, ev, start)), ev.end_time, pos, cand))
        tokens = min(scored, key=lambda x: (x[0], x[1], x[2]))[3]
    return tokens


def _violations(
    c: Compiled, k: int, vid: str, tokens: Tokens, ev: RouteEval, start: int | None
) -> list[Violation]:
    ids = {n: s for s, n in c.stop_index.items()}
    out: list[Violation] = []
    cap_i, cap_w = c.cap_items[k], c.cap_weight[k]
    li0, lw0 = start_loads(c, tokens)
    if cap_i is not None and li0 > cap_i:
        out.append(Violation(vid, "capacity_items", None, li0 - cap_i))
    if cap_w is not None and lw0 > cap_w:
        out.append(Violation(vid, "capacity_weight", None, lw0 - cap_w))
    committed = c.committed[k] if c.committed else []
    for pos, tok in enumerate(tokens):
        if tok < 0:
            _, latest, _ = c.breaks[k][-tok - 1]
            if ev.start[pos] > latest:
                out.append(Violation(vid, "break", None, c.to_units(ev.start[pos] - latest)))
            continue
        sid = ids[tok]
        if ev.start[pos] > c.tw_end[tok] and tok not in committed:
            out.append(Violation(vid, "time_window", sid, c.to_units(ev.start[pos] - int(c.tw_end[tok]))))
        if cap_i is not None and ev.load_items[pos] > cap_i:
            out.append(Violation(vid, "capacity_items", sid, ev.load_items[pos] - cap_i))
        if cap_w is not None and ev.load_weight[pos] > cap_w:
            out.append(Violation(vid, "capacity_weight", sid, ev.load_weight[pos] - cap_w))
    if ev.end_time > c.shift_end[k]:
        out.append(Violation(vid, "shift_end", None, c.to_units(ev.end_time - c.shift_end[k])))
    return out


def _route_check(
    c: Compiled, k: int, vid: str, tokens: Tokens, ev: RouteEval, start: int | None
) -> RouteCheck:
    ids = {n: s for s, n in c.stop_index.items()}
    dur, dist = c.durations[c.vehicle_profile[k]], c.distances[c.vehicle_profile[k]]
    visits: list[Visit] = []
    breaks: list[BreakTaken] = []
    legs: list[tuple[float, float]] = []
    prev = c.starts[k]
    for pos, tok in enumerate(tokens):
        if tok < 0:
            breaks.append(BreakTaken(c.to_units(ev.start[pos]), c.to_units(c.breaks[k][-tok - 1][2])))
            continue
        legs.append((float(dur[prev, tok]), float(dist[prev, tok])))
        prev = tok
        visits.append(
            Visit(
                stop_id=ids[tok],
                arrival=c.to_units(ev.arrival[pos]),
                start=c.to_units(ev.start[pos]),
                end=c.to_units(ev.start[pos] + int(c.service[tok])),
                load_items=ev.load_items[pos],
                load_weight=ev.load_weight[pos],
            )
        )
    last = (float(dur[prev, c.ends[k]]), float(dist[prev, c.ends[k]]))
    return RouteCheck(
        vehicle_id=vid,
        visits=visits,
        breaks=breaks,
        start_time=c.to_units(c.shift_start[k] if start is None else start),
        end_time=c.to_units(ev.end_time),
        travel_time=sum(t for t, _ in legs) + last[0],
        distance=sum(d for _, d in legs) + last[1],
        legs=legs,
        violations=_violations(c, k, vid, tokens, ev, start),
    )


def _rule_skills_and_pairs(
    problem: Problem, routes: dict[str, list[str]], out: dict[str, RouteCheck]
) -> None:
    stops = {s.id: s for s in problem.stops}
    vehicles = {v.id: v for v in problem.vehicles}
    where = {sid: (vid, i) for vid, ids in routes.items() for i, sid in enumerate(ids)}
    for vid, ids in routes.items():
        for sid in ids:
            if not stops[sid].skills <= vehicles[vid].skills:
                out[vid].violations.append(Violation(vid, "skill", sid))
    for pair in problem.pairs:
        p, d = where.get(pair.pickup), where.get(pair.delivery)
        if p is None and d is None:
            continue
        if p is None or d is None or p[0] != d[0] or p[1] > d[1]:
            at = d if d is not None else p
            assert at is not None
            out[at[0]].violations.append(Violation(at[0], "pair", pair.delivery if d else pair.pickup))
