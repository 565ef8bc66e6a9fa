"""Benchmark: the feasibility check behind a dispatcher's move (issue 20), ``routing.feasibility.check_routes``
on the two routes a move changes, for a province-like day solved once.

    python -m bench.stop_control [--stops 300] [--couriers 20] [--moves 200] [--seed 0]

Solves a synthetic day (``routing.scenario.province_day``, haversine matrix) with the SISR search, then times
``check_routes`` for random moves of one stop to another courier's route at a random place (as the API does it:
a problem of the two routes only, checked before and after, i.e. two calls per move) and prints the figures as JSON. Timings depend on the
machine and on whatever else runs on it.
"""

import argparse
import json
import random
import statistics
import time

from routing import Problem, SolveOptions, solve
from routing.feasibility import check_routes
from routing.scenario import province_day, sample_centroids


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stops", type=int, default=300)
    ap.add_argument("--couriers", type=int, default=20)
    ap.add_argument("--moves", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=5.0)
    args = ap.parse_args()
    problem = province_day(
        sample_centroids(seed=args.seed), (21.186, 106.076), n_stops=args.stops, n_couriers=args.couriers,
        seed=args.seed, pair_share=0.0,
    )  # fmt: skip
    solution = solve(problem, SolveOptions(time_limit_s=args.time_limit, seed=args.seed))
    routes = {r.vehicle_id: r.stop_ids for r in solution.routes if r.stop_ids}
    rng = random.Random(args.seed)
    times: list[float] = []
    infeasible = 0
    for _ in range(args.moves):
        src, dst = rng.sample(sorted(routes), 2)
        stop = rng.choice(routes[src])
        after_dst = list(routes[dst])
        after_dst.insert(rng.randint(0, len(after_dst)), stop)
        after = {src: [s for s in routes[src] if s != stop], dst: after_dst}
        # As the API builds it: only the two routes' couriers and stops.
        ids = set(routes[src]) | set(routes[dst])
        sub = Problem(
            depots=problem.depots, vehicles=[v for v in problem.vehicles if v.id in (src, dst)],
            stops=[s for s in problem.stops if s.id in ids], matrix_provider=problem.matrix_provider,
        )  # fmt: skip
        t0 = time.perf_counter()
        before_check = check_routes(sub, {src: routes[src], dst: routes[dst]})
        after_check = check_routes(sub, after)
        times.append(time.perf_counter() - t0)
        known = {(v.rule, v.stop_id) for rc in before_check.values() for v in rc.violations}
        infeasible += any(
            (v.rule, v.stop_id) not in known for rc in after_check.values() for v in rc.violations
        )
    times.sort()
    print(json.dumps({
        "stops": args.stops, "couriers": args.couriers, "routes_used": len(routes),
        "stops_per_route_mean": round(statistics.mean(len(r) for r in routes.values()), 1),
        "moves": args.moves, "refused_share": round(infeasible / args.moves, 3),
        "check_ms_median": round(statistics.median(times) * 1000, 2),
        "check_ms_p95": round(times[int(0.95 * (len(times) - 1))] * 1000, 2),
        "check_ms_max": round(times[-1] * 1000, 2),
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
