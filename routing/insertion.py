"""Fast "can this new stop still be served by the plan?" check: cheapest feasible insertion, no OR-Tools.

Each route is simulated once (earliest-start schedule); an insertion is then checked by pushing the schedule
forward from the insertion point and stopping as soon as a visit's start is unchanged (everything after it is
then unchanged too: the schedule is monotone in departure times). Breaks keep their place between visits.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace

from routing.compile import Compiled, compile_problem
from routing.evaluate import RouteEval, Tokens, evaluate, place_breaks
from routing.model import Problem, Solution, SolveOptions, Stop


@dataclass(frozen=True)
class InsertionResult:
    feasible: bool
    vehicle: str | None = None
    position: int | None = None  # index among the route's stops where the new stop goes
    added_time: float = 0.0  # extra travel time (model units, usually seconds)
    reason: str = ""


Plan = Solution | dict[str, list[str]]


def _plan_tokens(c: Compiled, plan: Plan) -> list[Tokens | None]:
    """Per vehicle, tokens of the plan (None if the plan's route is itself infeasible)."""
    out: list[Tokens | None] = [[] for _ in c.starts]
    if isinstance(plan, Solution):
        for r in plan.routes:
            k = c.vehicle_index[r.vehicle_id]
            nodes = [c.stop_index[v.stop_id] for v in r.visits]
            tokens: Tokens = []
            order = sorted(range(len(r.breaks)), key=lambda b: r.breaks[b].start)
            bi = 0
            for v, n in zip(r.visits, nodes, strict=True):
                while bi < len(order) and r.breaks[order[bi]].start < v.start:
                    tokens.append(-(order[bi] + 1))
                    bi += 1
                tokens.append(n)
            tokens.extend(-(b + 1) for b in order[bi:])
            if len(r.breaks) != len(c.breaks[k]) or not evaluate(c, k, tokens).feasible:
                out[k] = place_breaks(c, k, nodes)
            else:
                out[k] = tokens
    else:
        for vid, ids in plan.items():
            k = c.vehicle_index[vid]
            out[k] = place_breaks(c, k, [c.stop_index[s] for s in ids])
    for k, t in enumerate(out):
        if t == [] and c.breaks[k]:
            out[k] = place_breaks(c, k, [])
    return out


def _load_bounds(c: Compiled, k: int, tokens: Tokens, ev: RouteEval) -> tuple[list[int], ...]:
    """Highest load (items, weight) up to and from each token position: what the new stop's load change would
    push over capacity."""
    n = len(tokens)
    start_i = (
        ev.load_items[0] - int(c.items[tokens[0]]) if n and tokens[0] >= 0 else (ev.load_items[0] if n else 0)
    )
    start_w = (
        ev.load_weight[0] - int(c.weight[tokens[0]])
        if n and tokens[0] >= 0
        else (ev.load_weight[0] if n else 0)
    )
    loads_i = [start_i, *ev.load_items]  # load before token p is loads_i[p]
    loads_w = [start_w, *ev.load_weight]
    pre_max_i = list(loads_i)
    pre_max_w = list(loads_w)
    for p in range(1, n + 1):
        pre_max_i[p] = max(pre_max_i[p - 1], loads_i[p])
        pre_max_w[p] = max(pre_max_w[p - 1], loads_w[p])
    suf_max_i = list(loads_i)
    suf_max_w = list(loads_w)
    for p in range(n - 1, -1, -1):
        suf_max_i[p] = max(suf_max_i[p + 1], loads_i[p])
        suf_max_w[p] = max(suf_max_w[p + 1], loads_w[p])
    return pre_max_i, pre_max_w, suf_max_i, suf_max_w


def _departures(c: Compiled, k: int, tokens: Tokens, ev: RouteEval) -> tuple[list[int], list[int]]:
    """Node and departure time after each token (break tokens are transparent: the previous stop's)."""
    n = len(tokens)
    prev_node = [0] * (n + 1)
    dep = [0] * (n + 1)
    prev_node[0] = c.starts[k]
    dep[0] = c.shift_start[k]
    for p, tok in enumerate(tokens):
        if tok >= 0:
            prev_node[p + 1] = tok
            dep[p + 1] = ev.start[p] + int(c.service[tok])
        else:
            prev_node[p + 1] = prev_node[p]
            dep[p + 1] = dep[p]
    return prev_node, dep


def _through_breaks(brk: list[tuple[int, int, int]], pend: list[int], t: int, travel: int) -> int | None:
    """Arrival after travelling ``travel`` from ``t`` with the breaks ``pend`` taken on the way (they may
    interrupt travel); None if one of them would start after its latest start."""
    rem = travel
    for bidx in pend:
        e, lat, dur = brk[bidx]
        bs = max(t, e)
        if bs > lat:
            return None
        rem = max(0, rem - (bs - t))
        t = bs + dur
    return t + rem


@dataclass(frozen=True)
class RouteBase:
    """What every insertion check into one route reuses, whatever the new stop: the route's tokens, its
    schedule, the load bounds around each position and the node and time the courier leaves each position."""

    tokens: Tokens
    ev: RouteEval
    bounds: tuple[list[int], ...]  # pre_max_i, pre_max_w, suf_max_i, suf_max_w (``_load_bounds``)
    prev_node: list[int]
    dep: list[int]
    # Per insertion position: the arc a -> b the new stop splits, its travel, and the breaks ``pend`` (taken
    # before travelling to the new stop) with the departure time ``dep[q]`` before them.
    arcs: list[tuple[int, int, int, int, list[int]]]


@dataclass(frozen=True)
class NewNode:
    """The new stop as node ``x`` of route checks: travel to it from every node and from it to every node
    (scaled, of the vehicle's profile), its window, service and signed load change."""

    to_x: list[int]
    from_x: list[int]
    tw_start: int
    tw_end: int
    service: int
    items: int
    weight: int


def route_base(c: Compiled, k: int, tokens: Tokens) -> RouteBase | None:
    """The reusable part of ``tokens`` on vehicle ``k``; None if the route is itself infeasible."""
    ev = evaluate(c, k, tokens)
    if not ev.feasible:
        return None
    prev_node, dep = _departures(c, k, tokens, ev)
    return RouteBase(
        tokens, ev, _load_bounds(c, k, tokens, ev), prev_node, dep, _arcs(c, k, tokens, prev_node)
    )


def _arcs(
    c: Compiled, k: int, tokens: Tokens, prev_node: list[int]
) -> list[tuple[int, int, int, int, list[int]]]:
    """``RouteBase.arcs``: inserting before ``tokens[pos]`` splits prev_node[pos] -> the next stop (or the
    end); the breaks right before pos are then taken on the arc to the new stop."""
    tt = c.travel_list(c.vehicle_profile[k])
    n = len(tokens)
    out = []
    for pos in range(n + 1):
        a = prev_node[pos]
        nb = pos
        while nb < n and tokens[nb] < 0:
            nb += 1
        b = tokens[nb] if nb < n else c.ends[k]
        q = pos
        pend: list[int] = []
        while q > 0 and tokens[q - 1] < 0:
            pend.append(-tokens[q - 1] - 1)
            q -= 1
        pend.reverse()
        out.append((a, b, tt[a][b], q, pend))
    return out


def new_node(c: Compiled, x: int, profile: int) -> NewNode:
    """Node ``x`` of ``c`` as ``NewNode`` for vehicles of ``profile``."""
    tt = c.travel_list(profile)
    return NewNode(
        [row[x] for row in tt],
        tt[x],
        int(c.tw_start[x]),
        int(c.tw_end[x]),
        int(c.service[x]),
        int(c.items[x]),
        int(c.weight[x]),
    )


def _rest_still_fits(c: Compiled, k: int, rb: RouteBase, pos: int, new: NewNode, t: int) -> bool:
    """Push the schedule forward from the new stop (left at ``t``) through the rest of the route until a visit
    starts when it did before (everything after it is then unchanged)."""
    tt = c.travel_list(c.vehicle_profile[k])
    svc, tws, twe, brk, shift_end = c.service, c.tw_start, c.tw_end, c.breaks[k], c.shift_end[k]
    tokens, ev_start = rb.tokens, rb.ev.start
    n = len(tokens)
    end_node = c.ends[k]
    row = new.from_x  # travel from the current node: the new stop's first
    p = pos
    while p < n:
        tok = tokens[p]
        if tok < 0:
            # break on the arc cur -> next stop: collect consecutive breaks
            pend2 = []
            while p < n and tokens[p] < 0:
                pend2.append(-tokens[p] - 1)
                p += 1
            nxt = tokens[p] if p < n else end_node
            arr = _through_breaks(brk, pend2, t, row[nxt])
            if arr is None:
                return False
            if p == n:
                return arr <= shift_end
        else:
            nxt = tok
            arr = t + row[nxt]
        st = max(arr, int(tws[nxt]))
        if st > twe[nxt]:
            return False
        if st == ev_start[p]:
            return True  # unchanged from here on
        t = st + int(svc[nxt])
        row = tt[nxt]
        p += 1
    return t + row[end_node] <= shift_end


def _insert_route(c: Compiled, k: int, rb: RouteBase, new: NewNode) -> tuple[int, int] | None:
    """Cheapest feasible position of the new stop in route k: (token position, added scaled travel)."""
    to_x, from_x = new.to_x, new.from_x
    best: tuple[int, int] | None = None
    for pos, (a, b, ab, _, _) in enumerate(rb.arcs):
        added = to_x[a] + from_x[b] - ab
        if best is not None and added >= best[1]:
            continue
        if position_fits(c, k, rb, new, pos):
            best = (pos, added)
    return best


def position_fits(c: Compiled, k: int, rb: RouteBase, new: NewNode, pos: int) -> bool:
    """Whether the new stop fits before ``rb.tokens[pos]``: load, its own window, the rest of the route."""
    # Capacity: the new stop's load change raises the load after it (pickup / accumulating delivery) or, in
    # the mixed model, before it (depot delivery).
    dx_i, dx_w = new.items, new.weight
    cap_i, cap_w = c.cap_items[k], c.cap_weight[k]
    pre_max_i, pre_max_w, suf_max_i, suf_max_w = rb.bounds
    if c.mixed_load and dx_i < 0:
        if cap_i is not None and pre_max_i[pos] - dx_i > cap_i:
            return False
        if cap_w is not None and pre_max_w[pos] - dx_w > cap_w:
            return False
    else:
        if cap_i is not None and suf_max_i[pos] + dx_i > cap_i:
            return False
        if cap_w is not None and suf_max_w[pos] + dx_w > cap_w:
            return False
    a, _, _, q, pend = rb.arcs[pos]
    travel = new.to_x[a]
    arr = _through_breaks(c.breaks[k], pend, rb.dep[q], travel) if pend else rb.dep[q] + travel
    if arr is None:
        return False
    st = max(arr, new.tw_start)
    if st > new.tw_end:
        return False
    return _rest_still_fits(c, k, rb, pos, new, st + new.service)


RouteScan = Callable[[Compiled, int, RouteBase, NewNode], tuple[int, int] | None]


def best_insertion(
    c: Compiled,
    routes: list[RouteBase | None],
    allowed: list[int] | None,
    new: list[NewNode],
    scan: RouteScan | None = None,
) -> InsertionResult:
    """The cheapest feasible (vehicle, position) over ``routes`` (per vehicle, None: not usable) for the new
    stop (``new``: per profile), ties to the first vehicle and position. ``scan`` finds a route's cheapest
    position (``_insert_route`` unless given)."""
    scan = scan or _insert_route
    best: tuple[int, int, int] | None = None  # (added, vehicle, token pos)
    for k, rb in enumerate(routes):
        if rb is None or (allowed is not None and k not in allowed):
            continue
        r = scan(c, k, rb, new[c.vehicle_profile[k]])
        if r is not None and (best is None or r[1] < best[0]):
            best = (r[1], k, r[0])
    if best is None:
        reason = "no vehicle with skill" if allowed == [] else "no feasible position"
        return InsertionResult(False, reason=reason)
    added, k, pos = best
    tokens = routes[k].tokens if routes[k] is not None else []  # type: ignore[union-attr]
    stop_pos = sum(1 for t in tokens[:pos] if t >= 0)
    return InsertionResult(True, c.problem.vehicles[k].id, stop_pos, added / c.scale)


def can_insert(
    plan: Plan,
    problem: Problem,
    new_stop: Stop,
    options: SolveOptions | None = None,
    compiled: Compiled | None = None,
) -> InsertionResult:
    """Can `new_stop` be added to `plan` (a Solution or {vehicle_id: [stop ids]}) without moving other stops
    between couriers? Returns the cheapest feasible (vehicle, position) by added travel time.

    `compiled` may be passed to reuse a compiled problem that already contains `new_stop` as its last stop.
    """
    opts = options or SolveOptions()
    c = compiled
    if c is None:
        pb = replace(problem, stops=[*problem.stops, new_stop], pairs=list(problem.pairs), initial_routes={})
        c = compile_problem(pb, opts.time_scale, opts.objective)
    x = c.stop_index[new_stop.id]
    routes = [None if t is None else route_base(c, k, t) for k, t in enumerate(_plan_tokens(c, plan))]
    return best_insertion(c, routes, c.allowed[x], [new_node(c, x, p) for p in range(len(c.profiles))])
