"""``PreparedPlan.can_insert`` (the plan compiled once, a query fills the new stop's node) answers exactly what
``can_insert`` (the problem compiled with the new stop in it) answers, on random plans and places: vehicle,
position, added time and reason, to the bit. Any difference fails."""

import random
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing import (
    Break,
    Depot,
    Location,
    PickupDelivery,
    Problem,
    SolveOptions,
    Stop,
    TimeWindow,
    Vehicle,
    can_insert,
    province_day,
    sample_centroids,
    solve,
)
from routing.insertion import NewNode, position_fits
from routing.matrix import HaversineMatrix
from routing.model import StopKind, TravelMatrix
from routing.prepared import _candidates, _first_fit, prepare

CENTER = (10.30, 106.70)
H = 3600


def _place(rng: random.Random, spread: float = 0.03) -> Location:
    return Location(lat=CENTER[0] + rng.gauss(0, spread), lon=CENTER[1] + rng.gauss(0, spread))


def _window(rng: random.Random) -> TimeWindow | None:
    if rng.random() < 0.2:
        return None
    start = rng.choice([7, 8, 9, 10, 13, 14, 15]) * H + rng.choice([0, 900, 1800])
    return TimeWindow(start, start + rng.choice([1800, 2 * H, 4 * H, 8 * H]))


def _problem(rng: random.Random) -> Problem:
    """A random day: couriers with breaks, capacities, skills and profiles of their own; pickups, depot
    deliveries and desk-to-home pairs with windows (some without)."""
    depot = Depot("po", Location(lat=CENTER[0], lon=CENTER[1]), closes=rng.choice([24 * H, 17 * H]))
    vehicles = [
        Vehicle(
            id=f"v{k}",
            depot_id="po",
            start_location=_place(rng) if rng.random() < 0.3 else None,
            shift_start=rng.choice([7, 8]) * H,
            shift_end=rng.choice([12, 16, 17, 18]) * H,
            breaks=(Break(rng.choice([1800, 3600]), 11 * H, 13 * H),) if rng.random() < 0.6 else (),
            capacity_items=rng.choice([None, 3, 6, 20]),
            capacity_weight=rng.choice([None, 5000, 20000]),
            skills=frozenset(rng.sample(["cash", "id"], rng.randrange(3))),
            profile=rng.choice(["motorbike", "motorbike", "car"]),
        )
        for k in range(rng.randrange(1, 4))
    ]
    stops: list[Stop] = []
    pairs: list[PickupDelivery] = []
    kinds: tuple[StopKind, ...] = rng.choice([("pickup",), ("delivery",), ("pickup", "delivery")])
    for i in range(rng.randrange(0, 16)):
        stops.append(
            Stop(
                f"s{i}",
                _place(rng),
                _window(rng),
                service_time=rng.choice([0, 300, 600]),
                kind=rng.choice(kinds),
                items=rng.randrange(1, 3),
                weight=rng.choice([0, 500, 2000]),
                skills=frozenset(["cash"]) if rng.random() < 0.1 else frozenset(),
            )
        )
    if len(stops) >= 4 and rng.random() < 0.3:
        a, b = stops[0], stops[1]
        stops[0], stops[1] = replace(a, kind="pickup"), replace(b, kind="delivery")
        pairs.append(PickupDelivery(a.id, b.id))
    return Problem(
        depots=[depot], vehicles=vehicles, stops=stops, pairs=pairs, matrix_provider=HaversineMatrix()
    )


def _greedy_plan(problem: Problem, rng: random.Random) -> dict[str, list[str]]:
    """Routes built by inserting the stops one by one where ``can_insert`` puts them (feasible routes, as a
    solver's), plus now and then a stop forced onto a route at random (a dispatcher's hand: maybe infeasible)."""
    plan: dict[str, list[str]] = {v.id: [] for v in problem.vehicles}
    paired = {p.pickup for p in problem.pairs} | {p.delivery for p in problem.pairs}
    for s in problem.stops:
        if s.id in paired:
            continue
        sub = replace(problem, stops=[t for t in problem.stops if t.id in _ids(plan)], pairs=[])
        res = can_insert(plan, sub, s)
        if res.feasible and res.vehicle is not None and res.position is not None:
            plan[res.vehicle].insert(res.position, s.id)
        elif rng.random() < 0.2:
            route = plan[rng.choice(list(plan))]
            route.insert(rng.randrange(len(route) + 1), s.id)
    if problem.pairs and rng.random() < 0.5:
        route = plan[rng.choice(list(plan))]
        route.extend([problem.pairs[0].pickup, problem.pairs[0].delivery])
    return plan


def _ids(plan: dict[str, list[str]]) -> set[str]:
    return {s for ids in plan.values() for s in ids}


def _plan_problem(problem: Problem, plan: dict[str, list[str]]) -> Problem:
    """The plan's problem: its routed stops only (as ``backend.planning.capacity.plan_problem`` reads)."""
    kept = _ids(plan)
    pairs = [p for p in problem.pairs if p.pickup in kept and p.delivery in kept]
    return replace(problem, stops=[s for s in problem.stops if s.id in kept], pairs=pairs)


def _committed(problem: Problem, plan: dict[str, list[str]], rng: random.Random) -> Problem:
    """Now and then a courier's first visit committed (started: the plan keeps it first) with a window it
    already missed: the plan serves it late by design, a route the latest-start shortcut must leave alone."""
    first = {vid: ids[0] for vid, ids in plan.items() if ids}
    if not first or rng.random() < 0.6:
        return problem
    vid = rng.choice(sorted(first))
    sid = first[vid]
    vehicles = [replace(v, committed=(sid,)) if v.id == vid else v for v in problem.vehicles]
    stops = [replace(s, window=TimeWindow(0, 6 * H)) if s.id == sid else s for s in problem.stops]
    return replace(problem, vehicles=vehicles, stops=stops)


def _new_stop(rng: random.Random, j: int, kind: str) -> Stop:
    return Stop(
        f"new{j}",
        _place(rng, 0.05),
        _window(rng) if rng.random() < 0.9 else TimeWindow(20 * H, 22 * H),  # past the horizon: fallback
        service_time=rng.choice([300, 900, 1800]),
        kind=kind,  # type: ignore[arg-type]
        items=rng.randrange(1, 4),
        weight=rng.choice([0, 1000, 8000]),
        skills=frozenset(["id"]) if rng.random() < 0.15 else frozenset(),
        pinned_vehicle=rng.choice([None, None, None, "v0", "v9"]),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    scale=st.sampled_from([1, 1, 10]),
    kind=st.sampled_from(["pickup", "delivery"]),
)
def test_prepared_answers_what_can_insert_answers(seed: int, scale: int, kind: str) -> None:
    rng = random.Random(seed)
    full = _problem(rng)
    plan = _greedy_plan(full, rng)
    problem = _committed(_plan_problem(full, plan), plan, rng)
    options = SolveOptions(time_scale=scale)
    prepared = prepare(plan, problem, kind, options)  # type: ignore[arg-type]
    stops = [_new_stop(rng, j, kind) for j in range(12)]
    # The same place asked for several windows (a listing's day) shares its travel rows: still each its own.
    stops += [replace(stops[0], id=f"again{j}", window=_window(rng)) for j in range(3)]
    fast = prepared.can_insert_all(stops)
    for stop, got in zip(stops, fast, strict=True):
        assert got == can_insert(plan, problem, stop, options), stop
        assert prepared.can_insert(stop) == got


def test_prepared_matches_on_a_solved_plan() -> None:
    """A solver's ``Solution`` as the plan (breaks where the solver took them), many places and windows."""
    problem = province_day(sample_centroids(12, seed=5), CENTER, n_stops=35, n_couriers=3, seed=5)
    sol = solve(problem, SolveOptions(time_limit_s=30, solution_limit=60))
    prepared = prepare(sol, problem)
    rng = random.Random(5)
    feasible = 0
    for j in range(150):
        stop = replace(_new_stop(rng, j, "pickup"), skills=frozenset(), pinned_vehicle=None)
        expected = can_insert(sol, problem, stop)
        assert prepared.can_insert(stop) == expected, stop
        feasible += expected.feasible
    assert 0 < feasible < 150  # both answers were exercised


def test_other_matrices_fall_back_to_can_insert() -> None:
    """An explicit matrix, or a provider without ``between`` (OSRM), is asked through ``can_insert``."""

    class Rows:
        def matrix(self, locations: list[Location], profile: str) -> TravelMatrix:
            return HaversineMatrix(circuity=2.0).matrix(locations, profile)

    rng = random.Random(3)
    full = _problem(rng)
    plan = _greedy_plan(full, rng)
    problem = replace(_plan_problem(full, plan), matrix_provider=Rows())
    prepared = prepare(plan, problem)
    for j in range(20):
        stop = _new_stop(rng, j, "pickup")
        assert prepared.can_insert(stop) == can_insert(plan, problem, stop)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([1, 10]))
def test_latest_start_is_the_push_at_its_boundary(seed: int, scale: int) -> None:
    """The latest-start shortcut (``_first_fit``) against the push of ``can_insert`` (``position_fits``) for
    one position at a time, at departures right around the limit (one unit either side) and elsewhere: the
    random places of the test above rarely land on a boundary, where an off-by-one would hide."""
    rng = random.Random(seed)
    full = _problem(rng)
    plan = _greedy_plan(full, rng)
    problem = _committed(_plan_problem(full, plan), plan, rng)
    prepared = prepare(plan, problem, "pickup", SolveOptions(time_scale=scale))
    c = prepared.compiled
    between = HaversineMatrix().between
    stop = _new_stop(rng, 0, "pickup")
    travel = prepared._travel(between, stop.location, c.profiles[0])
    for k, (rb, latest) in enumerate(zip(prepared.routes, prepared.latest, strict=True)):
        if rb is None or latest is None or c.vehicle_profile[k] != 0:
            continue
        new = NewNode(*travel, 0, 0, 0, 1, 0)
        for cand in _candidates(c, k, rb, new, latest):
            _, pos, arr, _, out, _, limit = cand
            edge = (c.shift_end[k] if limit is None else limit) - out
            for t in {edge - 1, edge, edge + 1, arr, arr + rng.randrange(0, 4 * H * scale)}:
                at_t = replace(new, tw_start=t, tw_end=t)
                fast = _first_fit([cand], at_t, c.breaks[k], c.shift_end[k]) is not None
                assert fast == position_fits(c, k, rb, at_t, pos), (k, pos, t)
