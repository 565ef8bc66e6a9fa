"""Run a solve in a worker process: OR-Tools holds the GIL for the whole search, which would freeze an
async web server's event loop (and every other thread) for the time limit."""

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

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
