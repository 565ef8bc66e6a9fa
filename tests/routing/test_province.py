"""Province-day scenarios: breaks, skills, pinned/committed stops, capacity, unassigned reasons, warm start."""

import math
from dataclasses import replace

import pytest

from routing import (
    HaversineMatrix,
    Location,
    Problem,
    Solution,
    SolveOptions,
    Stop,
    TimeWindow,
    Vehicle,
    province_day,
    sample_centroids,
    solve,
)

CENTER = (21.186, 106.076)


def small_day(seed: int = 3, stops: int = 60, couriers: int = 6) -> Problem:
    return province_day(
        sample_centroids(20, seed=seed), CENTER, n_stops=stops, n_couriers=couriers, seed=seed
    )


def verify(problem: Problem, sol: Solution) -> None:
    """Independent re-check of a Solution against the Problem (travel from the same haversine model)."""
    stops = {s.id: s for s in problem.stops}
    vehicles = {v.id: v for v in problem.vehicles}
    depot = problem.depots[0].location
    locs = [depot, *[s.location for s in problem.stops]]
    m = HaversineMatrix().matrix(locs, "motorbike").durations
    pos = {s.id: i + 1 for i, s in enumerate(problem.stops)}
    served = [v.stop_id for r in sol.routes for v in r.visits]
    assert len(served) == len(set(served)), "a stop is served twice"
    assert set(served) | {u.stop_id for u in sol.unassigned} == set(stops)
    assert not set(served) & {u.stop_id for u in sol.unassigned}
    pair_of = {p.pickup: p.delivery for p in problem.pairs}
    for r in sol.routes:
        veh = vehicles[r.vehicle_id]
        prev, t_free = 0, veh.shift_start
        order = {v.stop_id: k for k, v in enumerate(r.visits)}
        for v in r.visits:
            s = stops[v.stop_id]
            assert s.skills <= veh.skills, f"{s.id} needs {s.skills}"
            if s.pinned_vehicle is not None:
                assert s.pinned_vehicle == veh.id
            travel = math.ceil(m[prev, pos[s.id]] - 1e-7)
            brk = sum(b.duration for b in r.breaks if t_free <= b.start < v.start)
            assert v.arrival >= t_free + travel - 1
            assert v.start >= t_free + travel + brk - 1
            assert s.window is not None and s.window.start <= v.start <= s.window.end
            assert v.end == v.start + s.service_time
            if veh.capacity_items is not None:
                assert 0 <= v.load_items <= veh.capacity_items
            if veh.capacity_weight is not None:
                assert 0 <= v.load_weight <= veh.capacity_weight
            if s.id in pair_of:
                assert pair_of[s.id] in order and order[pair_of[s.id]] > order[s.id]
            prev, t_free = pos[s.id], v.end
        assert r.end_time >= t_free + math.ceil(m[prev, 0] - 1e-7) - 1
        assert r.end_time <= veh.shift_end
        assert len(r.breaks) == len(veh.breaks)
        for b, spec in zip(r.breaks, veh.breaks, strict=True):
            assert spec.earliest_start <= b.start <= spec.latest_start
            for v in r.visits:  # no service during the break
                assert v.end <= b.start or v.start >= b.start + b.duration


def test_province_day_is_deterministic_and_realistic() -> None:
    a = province_day(sample_centroids(seed=1), CENTER, seed=1)
    b = province_day(sample_centroids(seed=1), CENTER, seed=1)
    assert a == b
    assert len(a.stops) == 300 and len(a.vehicles) == 20
    assert province_day(sample_centroids(seed=1), CENTER, seed=2).stops != a.stops
    kinds = {s.kind for s in a.stops}
    assert kinds == {"pickup", "delivery"} and a.pairs
    assert any("assisted" in s.skills for s in a.stops)
    assert all(s.window and 8 * 3600 <= s.window.start < s.window.end <= 17 * 3600 for s in a.stops)
    assert all(v.breaks for v in a.vehicles)


def test_province_solution_respects_breaks_skills_capacity() -> None:
    problem = small_day()
    sol = solve(problem, SolveOptions(time_limit_s=3))
    assert sol.routes
    verify(problem, sol)
    assert len(sol.unassigned) <= 2


def test_tight_capacity_is_respected() -> None:
    problem = small_day(seed=5)
    tight = [replace(v, capacity_items=6) for v in problem.vehicles]
    problem = replace(problem, vehicles=tight)
    sol = solve(problem, SolveOptions(time_limit_s=3))
    verify(problem, sol)
    assert max(v.load_items for r in sol.routes for v in r.visits) <= 6


def test_unassigned_reasons() -> None:
    problem = small_day(seed=7, stops=30, couriers=3)
    far = Stop("FAR", Location(lat=16.0, lon=108.2), TimeWindow(8 * 3600, 9 * 3600), 300)  # Đà Nẵng
    skill = Stop(
        "SKILL", problem.stops[0].location, TimeWindow(8 * 3600, 17 * 3600), 300, skills=frozenset({"notary"})
    )
    heavy = Stop("HEAVY", problem.stops[1].location, TimeWindow(8 * 3600, 17 * 3600), 300, items=500)
    ghost = Stop(
        "GHOST", problem.stops[2].location, TimeWindow(8 * 3600, 17 * 3600), 300, pinned_vehicle="nobody"
    )
    problem = replace(problem, stops=[*problem.stops, far, skill, heavy, ghost])
    sol = solve(problem, SolveOptions(time_limit_s=2))
    verify(problem, sol)
    reasons = {u.stop_id: u.reason for u in sol.unassigned}
    assert sol.status == "partial"
    assert reasons["FAR"] == "time window unreachable"
    assert reasons["SKILL"] == "no vehicle with skill"
    assert reasons["HEAVY"] == "capacity"
    assert reasons["GHOST"] == "pinned vehicle unavailable"


def test_pinned_stops_stay_on_their_courier() -> None:
    problem = small_day(seed=11)
    pins = {
        problem.stops[i].id: problem.vehicles[i % 3].id
        for i in range(0, 30, 3)
        if not problem.stops[i].skills
        and problem.stops[i].id not in {p.pickup for p in problem.pairs}
        and problem.stops[i].id not in {p.delivery for p in problem.pairs}
    }
    stops = [replace(s, pinned_vehicle=pins.get(s.id)) for s in problem.stops]
    problem = replace(problem, stops=stops)
    sol = solve(problem, SolveOptions(time_limit_s=3))
    verify(problem, sol)
    where = {v.stop_id: r.vehicle_id for r in sol.routes for v in r.visits}
    for sid, vid in pins.items():
        assert where.get(sid) == vid


def test_reoptimise_from_current_positions_keeps_committed_stops() -> None:
    problem = small_day(seed=13, stops=50, couriers=5)
    first = solve(problem, SolveOptions(time_limit_s=2))
    verify(problem, first)
    # 10:30: courier 0 is at its 2nd stop, late by 20 minutes; its next stop is committed.
    r0 = first.routes[0]
    now = 10 * 3600 + 30 * 60
    done = {v.stop_id for r in first.routes for v in r.visits if v.end <= now}
    stops = {s.id: s for s in problem.stops}
    here = stops[r0.visits[1].stop_id].location
    nxt = next(v.stop_id for v in r0.visits if v.stop_id not in done)
    pair_ids = {p.pickup for p in problem.pairs} | {p.delivery for p in problem.pairs}
    vehicles = []
    for v in problem.vehicles:
        if v.id == r0.vehicle_id:
            v = replace(
                v,
                start_location=here,
                shift_start=now + 20 * 60,
                committed=(nxt,) if nxt not in pair_ids else (),
            )
        else:
            v = replace(v, shift_start=max(v.shift_start, now))
        vehicles.append(v)
    remaining = [s for s in problem.stops if s.id not in done]
    new_booking = Stop("LATE-BOOKING", here, TimeWindow(15 * 3600, 17 * 3600), 300)
    kept_pairs = [p for p in problem.pairs if p.pickup not in done and p.delivery not in done]
    orphan = {p.delivery for p in problem.pairs if p.pickup in done}
    re = replace(
        problem,
        vehicles=vehicles,
        stops=[*[s for s in remaining if s.id not in orphan], new_booking],
        pairs=kept_pairs,
        initial_routes={
            r.vehicle_id: [v.stop_id for v in r.visits if v.stop_id not in done] for r in first.routes
        },
    )
    sol = solve(re, SolveOptions(time_limit_s=2))
    route = sol.route_of(r0.vehicle_id)
    assert route is not None
    if nxt not in pair_ids:
        assert route.visits[0].stop_id == nxt
        assert route.visits[0].arrival >= now + 20 * 60
    served = {v.stop_id for r in sol.routes for v in r.visits}
    assert "LATE-BOOKING" in served or any(u.stop_id == "LATE-BOOKING" for u in sol.unassigned)
    assert sol.stats.get("first_solution") in {
        "warm_start",
        "PARALLEL_CHEAPEST_INSERTION",
        "LOCAL_CHEAPEST_INSERTION",
        "SAVINGS",
        "PATH_CHEAPEST_ARC",
    }
    assert len(sol.unassigned) <= len(first.unassigned) + 1


def test_minimize_vehicles_uses_no_more_couriers() -> None:
    problem = small_day(seed=17, stops=40, couriers=8)
    # solution_limit: reproducible runs, independent of machine load
    plain = solve(problem, SolveOptions(time_limit_s=30, solution_limit=500))
    fewest = solve(problem, SolveOptions(time_limit_s=30, solution_limit=500, minimize_vehicles=True))
    assert fewest.vehicles_used <= plain.vehicles_used
    assert len(fewest.unassigned) <= len(plain.unassigned)


@pytest.mark.parametrize("profile", ["motorbike", "car"])
def test_vehicle_profiles(profile: str) -> None:
    problem = small_day(seed=19, stops=20, couriers=2)
    problem = replace(problem, vehicles=[replace(v, profile=profile) for v in problem.vehicles])
    sol = solve(problem, SolveOptions(time_limit_s=1))
    assert sol.routes
    assert isinstance(problem.vehicles[0], Vehicle)


def test_decomposed_province_day_is_valid() -> None:
    problem = province_day(
        sample_centroids(20, seed=23), CENTER, n_stops=60, n_couriers=6, seed=23, pair_share=0
    )
    opts = SolveOptions(time_limit_s=3, decompose_above=30, decompose_size=20, ruin_recreate=False)
    sol = solve(problem, opts)
    assert sol.stats.get("decomposed_sectors") == 3
    verify(problem, sol)
    assert len(sol.unassigned) <= 2
