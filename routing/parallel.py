"""Run a solve in a worker process: OR-Tools holds the GIL for the whole search, which would freeze an
async web server's event loop (and every other thread) for the time limit."""

import asyncio
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

from routing import sisr
from routing.model import Problem, Solution, SolveOptions
from routing.solver import solve


def _executor() -> ProcessPoolExecutor:
    # 'spawn' avoids forking a process that holds locks/threads of the parent (web server, DB pools).
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))


def solve_in_subprocess(
    problem: Problem, options: SolveOptions | None = None, timeout_s: float | None = None
) -> Solution:
    """Same as `solve(problem, options)` but in a fresh worker process; returns the same Solution."""
    opts = options or SolveOptions()
    wait = timeout_s if timeout_s is not None else opts.time_limit_s + 60.0
    with _executor() as ex:
        return ex.submit(solve, problem, opts).result(timeout=wait)


async def solve_async(problem: Problem, options: SolveOptions | None = None) -> Solution:
    """Awaitable variant for async callers: the event loop stays free while a worker process solves."""
    opts = options or SolveOptions()
    loop = asyncio.get_running_loop()
    with _executor() as ex:
        return await loop.run_in_executor(ex, solve, problem, opts)


def _solve_until(problem: Problem, options: SolveOptions, deadline_epoch: float) -> Solution:
    # The budget is a wall-clock deadline shared by all workers, so process start-up and imports are paid
    # out of the same time limit as a single solve.
    limit = max(0.5, deadline_epoch - time.time())
    return solve(problem, replace(options, time_limit_s=limit))


def better(a: Solution, b: Solution) -> bool:
    """Is ``a`` a better plan than ``b`` of the same problem: fewer unserved stops, then a lower objective."""
    return (len(a.unassigned), a.objective) < (len(b.unassigned), b.objective)


def solve_portfolio(
    problem: Problem, options: SolveOptions | None = None, workers: int = 2, epochs: int = 2
) -> Solution:
    """``workers`` searches in parallel processes (seeds ``seed``, ``seed + 1``, ...: the ruin choices differ,
    so the searches diverge) within the one time limit, in ``epochs`` rounds: after each round every worker
    starts again from the best plan found so far (a warm start) with fresh seeds. Returns the best plan.
    Worth it only with as many idle cores as workers (benchmarks, a dedicated planning machine)."""
    opts = options or SolveOptions()
    if workers <= 1:
        return solve(problem, opts)
    if len(problem.stops) > opts.decompose_above or sisr.eligible(problem, opts):
        # Large days are solved by sectors that need the whole budget; rounds would halve it (C1_10_1 at
        # 60 s: 4.4 % with two rounds against 1.2 % in one). The ruin-and-recreate search anneals over the
        # whole budget: a second round would heat a nearly cooled plan up again.
        epochs = 1
    t0 = time.time()
    ctx = multiprocessing.get_context("spawn")
    best: Solution | None = None
    objectives: list[str] = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as ex:
        for epoch in range(max(1, epochs)):
            until = t0 + opts.time_limit_s * (epoch + 1) / max(1, epochs)
            start_from = problem
            epoch_opts = opts
            if best is not None and best.routes:
                start_from = replace(problem, initial_routes={r.vehicle_id: r.stop_ids for r in best.routes})
                # The warm start is the first solution: no time spent racing construction heuristics again.
                epoch_opts = replace(opts, first_solution_share=0.01)
            futures = [
                ex.submit(
                    _solve_until, start_from, replace(epoch_opts, seed=opts.seed + epoch * workers + i), until
                )
                for i in range(workers)
            ]
            for f in futures:
                sol = f.result(timeout=opts.time_limit_s + 120.0)
                objectives.append(str(sol.objective))
                if best is None or better(sol, best):
                    best = sol
    assert best is not None
    best.wall_time_s = time.time() - t0
    best.stats["portfolio_workers"] = workers
    best.stats["portfolio_epochs"] = epochs
    best.stats["portfolio_objectives"] = ",".join(objectives)
    return best
