"""Solver on truncated benchmark instances, verified by the independent checker."""

from pathlib import Path

import pytest

from routing.bench.check import check
from routing.bench.instances import find_instance, read_instance, to_problem, truncate
from routing.model import SolveOptions
from routing.parallel import solve_portfolio
from routing.solver import solve


@pytest.mark.parametrize("name", ["R101", "C201", "RC105"])
def test_truncated_solomon_feasible(bench_root: Path, name: str) -> None:
    inst = truncate(read_instance(find_instance(bench_root, name)), 25)
    sol = solve(to_problem(inst), SolveOptions(time_limit_s=2, objective="distance", time_scale=1000))
    routes = [[int(s) for s in r.stop_ids] for r in sol.routes]
    res = check(inst, routes)
    assert res.feasible, res.violations
    assert not sol.unassigned and sol.status == "all_served"
    assert sol.total_distance == pytest.approx(res.distance, rel=1e-9)
    # visit times reported by the library respect the windows too
    for r in sol.routes:
        for v in r.visits:
            i = int(v.stop_id)
            assert inst.ready[i] <= v.start <= inst.due[i] + 1  # +1: reported times are ceil'd integers


def test_small_pdptw_feasible(bench_root: Path) -> None:
    inst = truncate(read_instance(find_instance(bench_root, "lr101")), 40)
    assert len(inst.pairs) >= 8
    sol = solve(
        to_problem(inst),
        SolveOptions(time_limit_s=3, objective="distance", time_scale=1000, minimize_vehicles=True),
    )
    routes = [[int(s) for s in r.stop_ids] for r in sol.routes]
    res = check(inst, routes)
    assert res.feasible, res.violations
    assert not sol.unassigned


def test_fleet_limit_leaves_stops_unassigned_with_reason(bench_root: Path) -> None:
    inst = truncate(read_instance(find_instance(bench_root, "R101")), 25)
    problem = to_problem(inst, fleet=2)
    sol = solve(problem, SolveOptions(time_limit_s=2, objective="distance", time_scale=1000))
    assert sol.vehicles_used <= 2
    assert sol.unassigned, "25 tight-window R101 customers cannot fit on 2 vehicles"
    assert {u.reason for u in sol.unassigned} <= {"not enough vehicles/time", "time window unreachable"}
    served = [int(s) for r in sol.routes for s in r.stop_ids]
    assert len(served) + len(sol.unassigned) == 25


def test_decomposition_path_is_feasible(bench_root: Path) -> None:
    """Force the large-instance path (angular sectors via MDS of the matrix, merge, improve) on 60 customers."""
    inst = truncate(read_instance(find_instance(bench_root, "R201")), 60)
    opts = SolveOptions(
        time_limit_s=4,
        objective="distance",
        time_scale=1000,
        decompose_above=30,
        decompose_size=20,
        ruin_recreate=False,
    )
    sol = solve(to_problem(inst), opts)
    assert sol.stats.get("decomposed_sectors") == 3
    res = check(inst, [[int(s) for s in r.stop_ids] for r in sol.routes])
    assert res.feasible, res.violations
    assert not sol.unassigned


def test_restarts_do_not_break_feasibility(bench_root: Path) -> None:
    inst = truncate(read_instance(find_instance(bench_root, "RC101")), 40)
    opts = SolveOptions(
        time_limit_s=3,
        objective="distance",
        time_scale=1000,
        stall_restart_s=0.3,
        seed=5,
        ils_max_stops=0,
        ruin_recreate=False,
    )
    sol = solve(to_problem(inst), opts)
    assert int(sol.stats["gls_rounds"]) >= 2
    res = check(inst, [[int(s) for s in r.stop_ids] for r in sol.routes])
    assert res.feasible, res.violations
    assert not sol.unassigned


@pytest.mark.parametrize("ruin_recreate", [False, True])
def test_portfolio_keeps_the_best_of_its_searches(bench_root: Path, ruin_recreate: bool) -> None:
    inst = truncate(read_instance(find_instance(bench_root, "RC105")), 40)
    opts = SolveOptions(
        time_limit_s=4,
        objective="distance",
        time_scale=1000,
        stall_restart_s=0.5,
        ruin_recreate=ruin_recreate,
    )
    sol = solve_portfolio(to_problem(inst), opts, workers=2)
    res = check(inst, [[int(s) for s in r.stop_ids] for r in sol.routes])
    assert res.feasible, res.violations
    assert not sol.unassigned
    objectives = [int(o) for o in str(sol.stats["portfolio_objectives"]).split(",")]
    if ruin_recreate:
        # One round: the annealing runs over the whole budget in each worker.
        assert len(objectives) == 2 and sol.objective == min(objectives)
        assert sol.stats["search"] == "sisr"
        return
    assert len(objectives) == 4 and sol.objective == min(objectives)  # 2 workers x 2 epochs
    # The second round starts from the first round's best, so it can only keep or improve it.
    assert min(objectives[2:]) <= min(objectives[:2])


@pytest.mark.parametrize("name", ["RC101", "lr101"])
def test_iterated_local_search_stays_feasible(bench_root: Path, name: str) -> None:
    # Travel-only objective on a small model: the ILS path (string ruin, descent, annealing acceptance),
    # with pickup-delivery pairs for lr101 (RC101 would take the compiled ruin-and-recreate path otherwise).
    inst = truncate(read_instance(find_instance(bench_root, name)), 40)
    opts = SolveOptions(time_limit_s=3, objective="distance", time_scale=1000, seed=3, ruin_recreate=False)
    sol = solve(to_problem(inst), opts)
    assert int(sol.stats["ils_rounds"]) >= 5
    res = check(inst, [[int(s) for s in r.stop_ids] for r in sol.routes])
    assert res.feasible, res.violations
    assert not sol.unassigned
