"""can_insert agrees with brute force (every vehicle, every position, full route re-evaluation)."""

import random
from dataclasses import replace

import pytest

from routing import (
    Location,
    SolveOptions,
    Stop,
    TimeWindow,
    can_insert,
    province_day,
    sample_centroids,
    solve,
)
from routing.compile import compile_problem
from routing.evaluate import evaluate, place_breaks
from routing.insertion import _plan_tokens

CENTER = (21.186, 106.076)


def brute_force(c, plan, x: int) -> tuple[bool, float]:  # type: ignore[no-untyped-def]
    routes = _plan_tokens(c, plan)
    best = None
    allowed = c.allowed[x]
    for k, tokens in enumerate(routes):
        if tokens is None or (allowed is not None and k not in allowed):
            continue
        base = evaluate(c, k, tokens).travel
        for pos in range(len(tokens) + 1):
            cand = [*tokens[:pos], x, *tokens[pos:]]
            ev = evaluate(c, k, cand)
            if ev.feasible:
                added = ev.travel - base
                if best is None or added < best:
                    best = added
    return best is not None, (best or 0) / c.scale


@pytest.mark.parametrize("seed,cap", [(21, None), (22, 12)])
def test_can_insert_matches_brute_force(seed: int, cap: int | None) -> None:
    problem = province_day(sample_centroids(25, seed=seed), CENTER, n_stops=90, n_couriers=6, seed=seed)
    if cap is not None:
        problem = replace(problem, vehicles=[replace(v, capacity_items=cap) for v in problem.vehicles])
    # solution_limit makes the plan reproducible (a time limit would depend on the machine load)
    sol = solve(problem, SolveOptions(time_limit_s=60, solution_limit=400))
    rng = random.Random(seed)
    outcomes = set()
    for j in range(40):
        base = problem.stops[rng.randrange(len(problem.stops))].location
        assert base.lat is not None and base.lon is not None
        start = rng.choice([8, 9, 10, 11, 13, 14, 15, 16]) * 3600
        width = rng.choice([1800, 3600, 7200])
        stop = Stop(
            f"N{j}",
            Location(lat=base.lat + rng.gauss(0, 0.02), lon=base.lon + rng.gauss(0, 0.02)),
            TimeWindow(start, min(start + width, 17 * 3600)),
            rng.choice([300, 900]),
            kind=rng.choice(["pickup", "delivery"]),
            items=rng.choice([1, 3, 6]),
            skills=frozenset({"assisted"}) if j % 7 == 0 else frozenset(),
        )
        res = can_insert(sol, problem, stop)
        c = compile_problem(replace(problem, stops=[*problem.stops, stop]))
        feasible, added = brute_force(c, sol, c.stop_index[stop.id])
        assert res.feasible == feasible, (j, res)
        if feasible:
            assert res.added_time == pytest.approx(added)
            assert res.vehicle is not None and res.position is not None
            # the reported position really works
            k = c.vehicle_index[res.vehicle]
            route = sol.route_of(res.vehicle)
            nodes = [c.stop_index[v.stop_id] for v in route.visits] if route is not None else []
            nodes.insert(res.position, c.stop_index[stop.id])
            assert place_breaks(c, k, nodes) is not None
        outcomes.add(feasible)
    assert outcomes == {True, False}, "test stops should include both insertable and impossible ones"


def test_can_insert_with_route_dict_plan() -> None:
    problem = province_day(sample_centroids(25, seed=4), CENTER, n_stops=40, n_couriers=4, seed=4)
    sol = solve(problem, SolveOptions(time_limit_s=1))
    plan = {r.vehicle_id: r.stop_ids for r in sol.routes}
    stop = Stop("X", problem.stops[0].location, TimeWindow(14 * 3600, 16 * 3600), 300)
    a = can_insert(sol, problem, stop)
    b = can_insert(plan, problem, stop)
    assert a.feasible and b.feasible
    impossible = Stop("Y", problem.stops[0].location, TimeWindow(3 * 3600, 4 * 3600), 300)
    assert not can_insert(plan, problem, impossible).feasible
