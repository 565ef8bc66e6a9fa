"""The solver process's entry point: kept apart from the web modules so a spawned process imports only the
routing library."""

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection

from routing import Problem, SolveOptions, solve

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with_parent(parent: int) -> None:
    """A parent killed outright (SIGKILL: no chance to terminate us) leaves no one to read the answer: stop
    rather than spend the machine's CPU on a solve that the retried job is doing again elsewhere. Linux's
    ``prctl(PR_SET_PDEATHSIG)`` (man 2 prctl) has the kernel send SIGKILL when the parent dies, whatever the
    solver holds (OR-Tools keeps the GIL, so a watching thread would not run); elsewhere a watching thread."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL) == 0:
            if os.getppid() != parent:  # died before the call
                os._exit(3)
            return
    threading.Thread(target=_watch, args=(parent,), daemon=True).start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(3)


def run(problem: Problem, options: SolveOptions, conn: Connection) -> None:
    parent = multiprocessing.parent_process()  # its pid as spawned: the parent may be gone already
    _die_with_parent(parent.pid if parent is not None and parent.pid else os.getppid())
    try:
        conn.send(("ok", solve(problem, options)))
    except BaseException as exc:  # report anything, including MemoryError, to the parent
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()
