"""solve_in_subprocess returns exactly what an in-process solve returns (reproducible via solution_limit)."""

from routing import SolveOptions, province_day, sample_centroids, solve, solve_async, solve_in_subprocess

CENTER = (21.186, 106.076)


def _key(sol):  # type: ignore[no-untyped-def]
    return [(r.vehicle_id, [(v.stop_id, v.start) for v in r.visits]) for r in sol.routes], sorted(
        (u.stop_id, u.reason) for u in sol.unassigned
    )


def test_subprocess_same_as_in_process() -> None:
    problem = province_day(sample_centroids(20, seed=8), CENTER, n_stops=40, n_couriers=4, seed=8)
    opts = SolveOptions(time_limit_s=30, solution_limit=200, seed=8)
    local = solve(problem, opts)
    remote = solve_in_subprocess(problem, opts)
    assert local.routes
    assert _key(local) == _key(remote)
    assert local.objective == remote.objective


async def test_solve_async() -> None:
    problem = province_day(sample_centroids(20, seed=9), CENTER, n_stops=20, n_couriers=2, seed=9)
    sol = await solve_async(problem, SolveOptions(time_limit_s=1))
    assert sol.routes
