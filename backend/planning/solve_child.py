"""The solver process's entry point: kept apart from the web modules so a spawned process imports only the
routing library."""

from multiprocessing.connection import Connection

from routing import Problem, SolveOptions, solve


def run(problem: Problem, options: SolveOptions, conn: Connection) -> None:
    try:
        conn.send(("ok", solve(problem, options)))
    except BaseException as exc:  # report anything, including MemoryError, to the parent
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()
