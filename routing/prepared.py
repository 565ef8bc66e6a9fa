"""``can_insert`` for many new stops against one plan: the plan compiled, its breaks placed and its routes
simulated once, then each new stop costs only its own travel row and the insertion scan.

``can_insert`` compiles the problem with the new stop in it (every pair's travel time), places every route's
breaks again and simulates every route: the same work for every place a citizen asks about (issue 24: a listing
for a new address checks each open window of a planned day). ``PreparedPlan`` does that work once with a
placeholder in the new stop's node (the last stop, as ``can_insert`` puts it), so the node layout, the load model
(a pickup in a plan of depot deliveries makes the load mixed) and every number about the plan's own stops are
those ``can_insert`` computes; a query then fills node ``x`` alone: travel to and from the new place (from the
matrix provider's ``between``, equal to the bit to the full matrix's row and column), window, service, load.
Answers are ``can_insert``'s, tested on random instances (tests/routing/test_prepared.py).

Falls back to ``can_insert`` whenever that equality cannot be kept: an explicit matrix (``Problem.matrix``), a
provider without ``between`` (OSRM), a window ending after the plan's horizon (it would move every open window's
end), a stop of another kind than prepared for, an id already in the plan or one of its pins.
"""

from dataclasses import dataclass, replace
from typing import Any

from routing.compile import Compiled, _scaled_ceil, compile_problem, node_locations
from routing.insertion import (
    InsertionResult,
    NewNode,
    Plan,
    RouteBase,
    _plan_tokens,
    best_insertion,
    can_insert,
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
    locations: list[Location]  # the plan's nodes but the new stop's, in node order
    horizon_units: int
    cap: float  # what an unreachable arc costs (as compile_problem sets it)

    def can_insert(self, new_stop: Stop) -> InsertionResult:
        """``routing.can_insert(plan, problem, new_stop, options)``."""
        return self.can_insert_all([new_stop])[0]

    def can_insert_all(self, new_stops: list[Stop]) -> list[InsertionResult]:
        """``can_insert`` of each stop (alone, not together), the travel rows of a place computed once for
        the stops at it (a listing asks one place for each window of a day)."""
        provider = self.problem.matrix_provider or HaversineMatrix()
        between = getattr(provider, "between", None)
        rows: dict[tuple[float | None, float | None, int | None], list[tuple[list[int], list[int]]]] = {}
        out = []
        for stop in new_stops:
            if between is None or not self._kept_equal(stop):
                out.append(can_insert(self.plan, self.problem, stop, self.options))
                continue
            key = stop.location.key()
            if key not in rows:
                rows[key] = [self._travel(between, stop.location, p) for p in self.compiled.profiles]
            out.append(self._check(stop, rows[key]))
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

    def _check(self, stop: Stop, travel: list[tuple[list[int], list[int]]]) -> InsertionResult:
        c = self.compiled
        window = stop.window
        tw_start, tw_end = (window.start * c.scale, window.end * c.scale) if window else (0, c.horizon)
        # compile_problem's signs: a pickup adds load; a delivery adds in the classic model, takes in the mixed
        sign = 1 if stop.kind == "pickup" or not c.mixed_load else -1
        service, items, weight = stop.service_time * c.scale, sign * stop.items, sign * stop.weight
        nodes = [NewNode(to, back, tw_start, tw_end, service, items, weight) for to, back in travel]
        return best_insertion(c, self.routes, _allowed(self.problem, stop), nodes)


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
    locations = node_locations(pb)
    del locations[c.n_stops - 1]
    horizon_units = c.horizon // c.scale
    return PreparedPlan(
        plan, problem, opts, kind, c, routes, locations, horizon_units, float(horizon_units) * 4 + 1
    )


def _allowed(problem: Problem, stop: Stop) -> list[int] | None:
    """``compile_problem``'s vehicles allowed for a stop outside any pair: skills, else its pin."""
    allowed = [k for k, v in enumerate(problem.vehicles) if stop.skills <= v.skills]
    if stop.pinned_vehicle is not None:
        k = next((k for k, v in enumerate(problem.vehicles) if v.id == stop.pinned_vehicle), None)
        allowed = [k] if k is not None else []
    return None if len(allowed) == len(problem.vehicles) else allowed
