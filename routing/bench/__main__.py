"""Benchmark CLI.

    python -m routing.bench C101 lc101 R1_10_1 solomon lilim homberger province matrix insertion \
        --time-limit 30 [--json] [--solutions-dir D] [--root R]
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from routing.bench.check import check, write_vrplib_sol
from routing.bench.instances import default_root, expand, read_bks, read_instance, to_problem
from routing.insertion import can_insert
from routing.matrix import HaversineMatrix
from routing.model import Location, SolveOptions, Stop, TimeWindow
from routing.parallel import solve_portfolio
from routing.scenario import province_day, sample_centroids
from routing.solver import solve

SPECIAL = ("province", "matrix", "insertion")


def bench_instance(
    path: Path,
    root: Path,
    time_limit: float,
    seed: int,
    sol_dir: Path | None,
    extra: dict[str, Any],
    workers: int = 1,
) -> dict[str, Any]:
    inst = read_instance(path)
    bks = read_bks(root).get(inst.name.lower(), {})
    hierarchical = inst.kind == "pdptw"
    t0 = time.perf_counter()
    problem = to_problem(inst)
    kw: dict[str, Any] = {"minimize_vehicles": hierarchical, **extra}
    opts = SolveOptions(time_limit_s=time_limit, objective="distance", time_scale=1000, seed=seed, **kw)
    sol = solve_portfolio(problem, opts, workers) if workers > 1 else solve(problem, opts)
    wall = time.perf_counter() - t0
    routes = [[int(s) for s in r.stop_ids] for r in sol.routes]
    res = check(inst, routes, "double")
    out: dict[str, Any] = {
        "instance": inst.name,
        "kind": inst.kind,
        "customers": inst.n - 1,
        "time_limit_s": time_limit,
        "workers": workers,
        "feasible": res.feasible,
        "vehicles": res.vehicles,
        "distance": round(res.distance, 4),
        "wall_s": round(wall, 2),
        "violations": res.violations[:5],
        "stats": sol.stats,
    }
    if inst.kind == "pdptw" or inst.n > 500:
        basis = "hierarchical_double"
    else:
        basis = "distance_double" if "distance_double" in bks else "hierarchical_double"
    if basis in bks:
        b = bks[basis]
        out.update(bks=b.distance, bks_vehicles=b.vehicles, gap_basis=basis)
        out["gap_pct"] = round(100.0 * (res.distance / b.distance - 1.0), 3)
    if "distance_trunc1" in bks and inst.n > 500:
        t1 = check(inst, routes, "trunc1")
        b = bks["distance_trunc1"]
        out["distance_trunc1"] = round(t1.distance, 1)
        out["bks_trunc1"] = b.distance
        out["gap_pct_trunc1"] = round(100.0 * (t1.distance / b.distance - 1.0), 3)
        out["note"] = "trunc1 gap: our double-feasible routes re-costed with DIMACS truncated arcs"
    if sol_dir is not None:
        sol_dir.mkdir(parents=True, exist_ok=True)
        write_vrplib_sol(sol_dir / f"{inst.name}.sol", routes, res.distance)
    return out


def bench_province(time_limit: float, seed: int, extra: dict[str, Any]) -> dict[str, Any]:
    problem = province_day(sample_centroids(seed=seed), (21.186, 106.076), seed=seed)
    t0 = time.perf_counter()
    opts = SolveOptions(time_limit_s=time_limit, seed=seed, ruin_recreate=extra.get("ruin_recreate", True))
    sol = solve(problem, opts)
    return {
        "instance": "province",
        "stops": len(problem.stops),
        "couriers": len(problem.vehicles),
        "vehicles": sol.vehicles_used,
        "travel_h": round(sol.total_travel_time / 3600, 2),
        "distance_km": round(sol.total_distance / 1000, 1),
        "unassigned": len(sol.unassigned),
        "search": sol.stats.get("search", "ortools"),
        "wall_s": round(time.perf_counter() - t0, 2),
    }


def bench_matrix(n: int = 1000, repeats: int = 5) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    locs = [
        Location(lat=float(a), lon=float(b))
        for a, b in zip(rng.uniform(20.9, 21.4, n), rng.uniform(105.8, 106.3, n), strict=True)
    ]
    prov = HaversineMatrix()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        prov.matrix(locs, "motorbike")
        times.append(time.perf_counter() - t0)
    return {
        "instance": f"matrix_{n}x{n}",
        "best_s": round(min(times), 4),
        "median_s": round(statistics.median(times), 4),
    }


def bench_insertion(seed: int, time_limit: float) -> dict[str, Any]:
    problem = province_day(sample_centroids(seed=seed), (21.186, 106.076), seed=seed)
    sol = solve(problem, SolveOptions(time_limit_s=min(time_limit, 10.0), seed=seed))
    times = []
    feasible = 0
    rng = np.random.default_rng(seed)
    for j in range(50):
        base = problem.stops[int(rng.integers(len(problem.stops)))].location
        assert base.lat is not None and base.lon is not None
        loc = Location(lat=base.lat + float(rng.normal(0, 0.01)), lon=base.lon + float(rng.normal(0, 0.01)))
        start = int(rng.choice([8, 10, 13, 15])) * 3600
        stop = Stop(f"NEW{j}", loc, TimeWindow(start, start + 7200), 300)
        t0 = time.perf_counter()
        r = can_insert(sol, problem, stop)
        times.append(time.perf_counter() - t0)
        feasible += r.feasible
    return {
        "instance": "insertion_300",
        "checks": len(times),
        "feasible": feasible,
        "median_ms": round(1000 * statistics.median(times), 2),
        "max_ms": round(1000 * max(times), 2),
    }


def _line(r: dict[str, Any]) -> str:
    if "gap_pct" in r or "distance" in r:
        s = (
            f"{r['instance']:>10} veh {r['vehicles']:>3} dist {r['distance']:>10.2f} "
            f"{'feasible' if r['feasible'] else 'INFEASIBLE'} gap {r.get('gap_pct', float('nan')):>7.3f}% "
            f"(BKS {r.get('bks')} / {r.get('bks_vehicles')} veh, {r.get('gap_basis')}) wall {r['wall_s']:.1f}s"
        )
        if "gap_pct_trunc1" in r:
            s += f" | trunc1 {r['distance_trunc1']} gap {r['gap_pct_trunc1']:.3f}% vs {r['bks_trunc1']} (DIMACS)"
        if r["violations"]:
            s += f" {r['violations']}"
        return s
    return " ".join(f"{k}={v}" for k, v in r.items())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m routing.bench")
    ap.add_argument("instances", nargs="+")
    ap.add_argument("--time-limit", type=float, default=30.0)
    ap.add_argument("--json", action="store_true", help="one JSON object per line")
    ap.add_argument("--solutions-dir", type=Path)
    ap.add_argument("--root", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--mandatory",
        action="store_true",
        help="no disjunctions: every customer must be served (slower here)",
    )
    ap.add_argument("--decompose-above", type=int, default=400)
    ap.add_argument("--decompose-size", type=int, default=150)
    ap.add_argument("--minimize-vehicles", choices=["auto", "yes", "no"], default="auto")
    ap.add_argument("--stall", type=float, default=-1.0, help="stall_restart_s (-1 auto, 0 off)")
    ap.add_argument("--ils-max-stops", type=int, default=300, help="0: GLS restarts only")
    ap.add_argument(
        "--no-ruin-recreate",
        action="store_true",
        help="OR-Tools paths only (no compiled SISR ruin-and-recreate search)",
    )
    ap.add_argument("--fleet-phase", type=float, default=0.0, help="share of time packing routes first")
    ap.add_argument(
        "--workers",
        type=int,
        default=1,
        help="parallel searches per instance (solve_portfolio), one core each",
    )
    a = ap.parse_args(argv)
    extra: dict[str, Any] = {"allow_unserved": not a.mandatory, "decompose_above": a.decompose_above}
    extra["stall_restart_s"] = a.stall
    extra["decompose_size"] = a.decompose_size
    extra["ils_max_stops"] = a.ils_max_stops
    if a.no_ruin_recreate:
        extra["ruin_recreate"] = False
    if a.fleet_phase:
        extra["fleet_phase_share"] = a.fleet_phase
    if a.minimize_vehicles != "auto":
        extra["minimize_vehicles"] = a.minimize_vehicles == "yes"
    root = a.root or default_root()
    results: list[dict[str, Any]] = []
    names = [n for n in a.instances if n.lower() not in SPECIAL]
    for path in expand(root, names):
        r = bench_instance(path, root, a.time_limit, a.seed, a.solutions_dir, extra, a.workers)
        results.append(r)
        print(json.dumps(r) if a.json else _line(r), flush=True)
    for special in (n.lower() for n in a.instances if n.lower() in SPECIAL):
        if special == "province":
            r = bench_province(a.time_limit, a.seed, extra)
        elif special == "matrix":
            r = bench_matrix()
        else:
            r = bench_insertion(a.seed, a.time_limit)
        print(json.dumps(r) if a.json else _line(r), flush=True)
    gaps = [r["gap_pct"] for r in results if "gap_pct" in r]
    if gaps and not a.json:
        feas = sum(r["feasible"] for r in results)
        print(
            f"SUMMARY {len(results)} instances, feasible {feas}/{len(results)}, mean gap {statistics.mean(gaps):.3f}% "
            f"max {max(gaps):.3f}%, total vehicles {sum(r['vehicles'] for r in results)} "
            f"(BKS {sum(r.get('bks_vehicles', 0) for r in results)})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
