"""The booking benchmark's CPU meter reads the processes it names, children included."""

import os
import subprocess
import sys
import time

from bench import booking as bench


def _burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_own_cpu_grows_with_work() -> None:
    before = bench._pid_cpu_ms(os.getpid())
    _burn(0.2)
    assert bench._pid_cpu_ms(os.getpid()) - before >= 150


def test_gone_process_reads_zero_and_children_are_found() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in bench._children(os.getpid())
    finally:
        child.kill()
        child.wait()
    assert child.pid not in bench._children(os.getpid())
    assert bench._pid_cpu_ms(child.pid) == 0.0


def test_cpu_per_request_counts_new_processes_whole() -> None:
    before = {"API": {1: 100.0}, "PostgreSQL": {}}
    after = {"API": {1: 300.0}, "PostgreSQL": {7: 50.0}}
    assert bench._cpu_per_request(before, after, 100) == "CPU ms/request: API 2.00, PostgreSQL 0.50"
