"""``can_insert`` for many new stops against one plan: the plan compiled, its breaks placed and its routes
simulated once, then each new stop costs only its own travel row and the insertion scan.

``can_insert`` compiles the problem with the new stop in it (every pair's travel time), places every route's
breaks again and simulates every route: the same work for every place a citizen asks about (issue 24: a listing
for a new address checks each open window of a planned day). ``PreparedPlan`` does that work once with a
placeholder in the new stop's node (the last stop, as ``can_insert`` puts it), so the node layout, the load model
(a pickup in a plan of depot deliveries makes the load mixed) and every number about the plan's own stops are
those ``can_insert`` computes; a query then fills node ``x`` alone: travel to and from the new place (from the
matrix provider's ``between``, equal to the bit to the full matrix's row and column), window, service, load.

The scan is cheaper too. Per visit of each route the plan also keeps the latest service start the rest of the
route allows (``_latest_starts``), so where ``can_insert`` pushes the schedule forward visit by visit, a position
here is one comparison; a place's positions are sorted by added travel once and each window takes the first
that fits. On the demo's published plan (21 stops, two couriers) a listing's four windows cost ~0.1 ms of CPU
instead of ~2.5 ms (``can_insert`` per window). Answers are ``can_insert``'s, tested on random instances and at
every limit's boundary (tests/routing/test_prepared.py).

Falls back to ``can_insert`` whenever that equality cannot be kept: an explicit matrix (``Problem.matrix``), a
provider without ``between`` (OSRM), a window ending after the plan's horizon (it would move the window end of
every node without one), a stop of another kind than prepared for, an id already in the plan or one of its pins.
"""

from dataclasses import dataclass, field, replace
from typing import Any

from routing.compile import Compiled, _scaled_ceil, compile_problem, node_locations
from routing.insertion import (
    InsertionResult,
    NewNode,
    Plan,
    RouteBase,
    _plan_tokens,
    _through_breaks,
    best_insertion,
    can_insert,
    position_fits,
    route_base,
)
from routing.matrix import HaversineMatrix
from routing.model import Location, Problem, SolveOptions, Stop, StopKind

PLACEHOLDER = "\x00new"  # the id of the placeholder stop (no real stop id starts with a NUL)


@dataclass(frozen=True)
class PreparedPlan:
    """One plan ready for many ``can_insert`` questions (read-only once made: threads may share it)."""

    plan: Plan
    problem: Problem
    options: SolveOptions
    kind: StopKind
    compiled: Compiled
    routes: list[RouteBase | None]
    latest: list[list[int] | None]  # per vehicle, ``_latest_starts`` (None: the push of can_insert is used)
    locations: list[Location]  # the plan's nodes but the new stop's, in node order
    horizon_units: int
    cap: float  # what an unreachable arc costs (as compile_problem sets it)

    @property
    def local(self) -> bool:
        """Whether a new place is answered from this process's arithmetic alone (no matrix service asked):
        then a check takes tenths of a millisecond and needs no thread to keep an event loop free."""
        provider = self.problem.matrix_provider or HaversineMatrix()
        return self.problem.matrix is None and hasattr(provider, "between")

    def can_insert(self, new_stop: Stop) -> InsertionResult:
        """``routing.can_insert(plan, problem, new_stop, options)``."""
        return self.can_insert_all([new_stop])[0]

    def can_insert_all(self, new_stops: list[Stop]) -> list[InsertionResult]:
        """``can_insert`` of each stop (alone, not together), the travel rows of a place computed once for
        the stops at it (a listing asks one place for each window of a day)."""
        provider = self.problem.matrix_provider or HaversineMatrix()
        between = getattr(provider, "between", None)
        places: dict[tuple[float | None, float | None, int | None], _Place] = {}
        out = []
        for stop in new_stops:
            if between is None or not self._kept_equal(stop):
                out.append(can_insert(self.plan, self.problem, stop, self.options))
                continue
            key = stop.location.key()
            if key not in places:
                places[key] = _Place(
                    [self._travel(between, stop.location, p) for p in self.compiled.profiles]
                )
            out.append(self._check(stop, places[key]))
        return out

    def _kept_equal(self, stop: Stop) -> bool:
        """Whether the fast check of ``stop`` is ``can_insert``'s (the module's docstring: when it is not)."""
        return (
            self.problem.matrix is None
            and stop.kind == self.kind
            and stop.location.lat is not None
            and stop.location.lon is not None
            and (stop.window is None or stop.window.end <= self.horizon_units)
            and stop.id not in self.compiled.stop_index
            and not any(stop.id in v.committed for v in self.problem.vehicles)
        )

    def _travel(self, between: Any, place: Location, profile: str) -> tuple[list[int], list[int]]:
        """Scaled travel times to the new node from every node and from it to every node (0 to itself), as
        ``compile_problem`` rounds them."""
        x, scale = self.compiled.n_stops - 1, self.compiled.scale
        to_x, from_x = between(place, self.locations, profile)
        to_row: list[int] = _scaled_ceil(to_x, scale, self.cap).tolist()
        from_row: list[int] = _scaled_ceil(from_x, scale, self.cap).tolist()
        to_row.insert(x, 0)
        from_row.insert(x, 0)
        return to_row, from_row

    def _check(self, stop: Stop, place: "_Place") -> InsertionResult:
        c = self.compiled
        window = stop.window
        tw_start, tw_end = (window.start * c.scale, window.end * c.scale) if window else (0, c.horizon)
        # compile_problem's signs: a pickup adds load; a delivery adds in the classic model, takes in the mixed
        sign = 1 if stop.kind == "pickup" or not c.mixed_load else -1
        service, items, weight = stop.service_time * c.scale, sign * stop.items, sign * stop.weight
        nodes = [NewNode(to, back, tw_start, tw_end, service, items, weight) for to, back in place.travel]

        def cheapest_first(c: Compiled, k: int, rb: RouteBase, new: NewNode) -> tuple[int, int] | None:
            # The positions by added travel, then position (the order _insert_route's answer is the least
            # of), made once per place and route: the first that fits is the answer.
            latest = self.latest[k]
            if latest is None:
                order = place.orders.get(k)
                if order is None:
                    order = place.orders[k] = _by_cost(rb, new)
                return next(((pos, added) for added, pos in order if position_fits(c, k, rb, new, pos)), None)
            key = (k, new.items, new.weight)
            cands = place.candidates.get(key)
            if cands is None:
                cands = place.candidates[key] = _candidates(c, k, rb, new, latest)
            return _first_fit(cands, new, c.breaks[k], c.shift_end[k])

        return best_insertion(c, self.routes, _allowed(self.problem, stop), nodes, cheapest_first)


# A position of a route the new stop may take, whatever its window: (added travel, token position, arrival
# at the new stop, breaks on the arc to the next visit, travel to it, its window's start, the latest start
# the rest of the route allows there; None: the next is the route's end).
Candidate = tuple[int, int, int, list[int], int, int, int | None]


def _by_cost(rb: RouteBase, new: NewNode) -> list[tuple[int, int]]:
    to_x, from_x = new.to_x, new.from_x
    return sorted((to_x[a] + from_x[b] - ab, pos) for pos, (a, b, ab, _, _) in enumerate(rb.arcs))


def _candidates(c: Compiled, k: int, rb: RouteBase, new: NewNode, latest: list[int]) -> list[Candidate]:
    """``position_fits``'s checks that do not depend on the new stop's window (load, the breaks on the arc to
    the new stop) done once for a place, its positions cheapest first; ``_first_fit`` does the rest per
    window."""
    tokens, n = rb.tokens, len(rb.tokens)
    brk, tws = c.breaks[k], c.tw_start
    cap_i, cap_w = c.cap_items[k], c.cap_weight[k]
    pre_max_i, pre_max_w, suf_max_i, suf_max_w = rb.bounds
    dx_i, dx_w = new.items, new.weight
    depot_delivery = c.mixed_load and dx_i < 0
    to_x, from_x, dep = new.to_x, new.from_x, rb.dep
    out: list[Candidate] = []
    for pos, (a, b, ab, q, pend) in enumerate(rb.arcs):
        # The load, as position_fits checks it
        if depot_delivery:
            if cap_i is not None and pre_max_i[pos] - dx_i > cap_i:
                continue
            if cap_w is not None and pre_max_w[pos] - dx_w > cap_w:
                continue
        else:
            if cap_i is not None and suf_max_i[pos] + dx_i > cap_i:
                continue
            if cap_w is not None and suf_max_w[pos] + dx_w > cap_w:
                continue
        arr = _through_breaks(brk, pend, dep[q], to_x[a]) if pend else dep[q] + to_x[a]
        if arr is None:
            continue
        nb = pos
        while nb < n and tokens[nb] < 0:
            nb += 1
        after = [-tok - 1 for tok in tokens[pos:nb]]
        limit = latest[nb] if nb < n else None
        out.append((to_x[a] + from_x[b] - ab, pos, arr, after, from_x[b], int(tws[b]), limit))
    out.sort(key=_cost_then_position)
    return out


def _cost_then_position(cand: Candidate) -> tuple[int, int]:
    return cand[0], cand[1]


def _first_fit(
    cands: list[Candidate], new: NewNode, brk: list[tuple[int, int, int]], shift_end: int
) -> tuple[int, int] | None:
    """The first candidate where the new stop's window is met and the rest of the route still fits
    (``_rest_still_fits``'s first arc, then the latest start the rest allows): (position, added)."""
    tw_start, tw_end, service = new.tw_start, new.tw_end, new.service
    for added, pos, arr, after, travel, next_start, limit in cands:
        st = arr if arr > tw_start else tw_start
        if st > tw_end:
            continue
        t = st + service
        reach = _through_breaks(brk, after, t, travel) if after else t + travel
        if reach is None:
            continue
        if reach <= shift_end if limit is None else max(reach, next_start) <= limit:
            return pos, added
    return None


@dataclass
class _Place:
    """A new stop's place: its travel rows (per profile) and, per vehicle, its insertion positions by cost."""

    travel: list[tuple[list[int], list[int]]]
    orders: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    candidates: dict[tuple[int, int, int], list[Candidate]] = field(default_factory=dict)


def prepare(
    plan: Plan, problem: Problem, kind: StopKind = "pickup", options: SolveOptions | None = None
) -> PreparedPlan:
    """``plan`` (a Solution or {vehicle_id: [stop ids]}) of ``problem`` ready for new stops of ``kind``."""
    opts = options or SolveOptions()
    # Where the placeholder stands changes nothing a query reads (its travel row is the query's).
    placeholder = Stop(PLACEHOLDER, Location(lat=0.0, lon=0.0, node=0), kind=kind)
    pb = replace(problem, stops=[*problem.stops, placeholder], pairs=list(problem.pairs), initial_routes={})
    c = compile_problem(pb, opts.time_scale, opts.objective)
    for p in range(len(c.profiles)):
        c.travel_list(p)  # made now, not lazily by concurrent readers
    routes = [None if t is None else route_base(c, k, t) for k, t in enumerate(_plan_tokens(c, plan))]
    latest = [None if rb is None else _latest_starts(c, k, rb) for k, rb in enumerate(routes)]
    locations = node_locations(pb)
    del locations[c.n_stops - 1]
    horizon_units = c.horizon // c.scale
    return PreparedPlan(
        plan, problem, opts, kind, c, routes, latest, locations, horizon_units, float(horizon_units) * 4 + 1
    )


def _latest_starts(c: Compiled, k: int, rb: RouteBase) -> list[int] | None:
    """Per visit of the route (token position), the latest time its service may start with every later visit,
    break and the shift's end still kept: ``_rest_still_fits`` answers True from there exactly when the pushed
    start is at most this. Exact because the push is monotone (a later start never makes anything earlier)
    and the route as planned keeps every rule the push checks, so stopping at an unchanged start changes no
    answer; a route where the plan itself starts a visit after its window (a committed stop, served late
    by design) keeps the push: None."""
    tokens, ev, n = rb.tokens, rb.ev, len(rb.tokens)
    tt = c.travel_list(c.vehicle_profile[k])
    brk, shift_end = c.breaks[k], c.shift_end[k]
    tws, twe, svc = c.tw_start, c.tw_end, c.service
    if any(tok >= 0 and ev.start[p] > twe[tok] for p, tok in enumerate(tokens)):
        return None
    latest = [0] * n
    after = n  # the next visit's token position (n: the route's end)
    for p in range(n - 1, -1, -1):
        tok = tokens[p]
        if tok < 0:
            continue
        nxt = tokens[after] if after < n else c.ends[k]
        pend = [-t - 1 for t in tokens[p + 1 : after]]
        limit = latest[after] if after < n else None

        def fits(
            s: int, tok: int = tok, nxt: int = nxt, pend: list[int] = pend, limit: int | None = limit
        ) -> bool:
            if s > twe[tok]:
                return False
            t = s + int(svc[tok])
            arr = _through_breaks(brk, pend, t, tt[tok][nxt]) if pend else t + tt[tok][nxt]
            if arr is None:
                return False
            return arr <= shift_end if limit is None else max(arr, int(tws[nxt])) <= limit

        lo, hi = ev.start[p], int(twe[tok])
        if not fits(lo):
            return None  # cannot happen for a feasible plan; keep the push rather than guess
        while lo < hi:  # the largest start that fits, in [start as planned, window's end]
            mid = (lo + hi + 1) // 2
            if fits(mid):
                lo = mid
            else:
                hi = mid - 1
        latest[p] = lo
        after = p
    return latest


def _allowed(problem: Problem, stop: Stop) -> list[int] | None:
    """``compile_problem``'s vehicles allowed for a stop outside any pair: skills, else its pin."""
    allowed = [k for k, v in enumerate(problem.vehicles) if stop.skills <= v.skills]
    if stop.pinned_vehicle is not None:
        k = next((k for k, v in enumerate(problem.vehicles) if v.id == stop.pinned_vehicle), None)
        allowed = [k] if k is not None else []
    return None if len(allowed) == len(problem.vehicles) else allowed
