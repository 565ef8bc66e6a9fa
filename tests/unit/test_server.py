"""``python -m backend serve`` with WEB_CONCURRENCY=2: the parent hands each connection to the worker holding
the fewest, both serve, and SIGTERM stops them all (no orphan keeps its database connections)."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> set[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    )
    return {int(p) for p in out.stdout.split()}


def _start(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    """``python -m backend serve`` with two workers on a free port."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
        "APP_ENV": "test",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "RUN_DISPATCHER": "false",
    }
    return subprocess.Popen([sys.executable, "-m", "backend", "serve"], cwd=ROOT, env=env), port


def _up(proc: subprocess.Popen[bytes], port: int) -> set[int]:
    """Wait until the service answers and both workers run; their pids."""
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert proc.poll() is None, "the server exited"
        assert time.monotonic() < deadline, "the server did not come up"
        time.sleep(0.2)
    workers: set[int] = set()
    while len(workers) < 2 and time.monotonic() < deadline:  # the second may still be importing
        workers = _children(proc.pid) - {p for p in _children(proc.pid) if _is_tracker(p)}
        time.sleep(0.2)
    assert len(workers) == 2, workers
    return workers


@contextmanager
def _serving(tmp_path: Path) -> Iterator[tuple[int, set[int]]]:
    """The service with two workers: (port, worker pids). Stopped with SIGTERM, which must end it cleanly and
    take the workers with it."""
    proc, port = _start(tmp_path)
    workers: set[int] = set()
    try:
        workers = _up(proc, port)
        yield port, workers
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    for pid in workers:
        assert not _alive(pid), f"worker {pid} outlived the server"


def test_two_workers_serve_one_port_and_stop_on_sigterm(tmp_path: Path) -> None:
    with _serving(tmp_path) as (port, _):
        # Many fresh connections: all answered, whichever worker each is handed to.
        codes = [httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code for _ in range(40)]
        assert codes == [200] * 40


def test_each_connection_goes_to_the_worker_holding_fewest(tmp_path: Path) -> None:
    """Keep-alive connections stay with their worker, so the split must be even when they open and must
    refill the worker that lost some (a hash of the address pair would split them at random)."""
    with _serving(tmp_path) as (port, workers):
        conns = [_open(port) for _ in range(10)]
        held = _wait_held(workers, port, lambda h: sum(map(len, h.values())) == 10)
        assert sorted(len(v) for v in held.values()) == [5, 5], held
        a, b = sorted(workers)
        closing = [c for c in conns if c.getsockname()[1] in held[a]][:4]
        for c in closing:
            c.close()
        _wait_held(workers, port, lambda h: len(h[a]) == 1)
        time.sleep(0.5)  # the worker's notices reach the parent
        fresh = [_open(port) for _ in range(4)]
        held = _wait_held(workers, port, lambda h: sum(map(len, h.values())) == 10)
        assert {c.getsockname()[1] for c in fresh} <= held[a], held
        assert len(held[a]) == len(held[b]) == 5
        for c in conns + fresh:
            c.close()


def _open(port: int) -> socket.socket:
    """A keep-alive connection that has been served once (so its worker holds it)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += s.recv(4096)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:100]
    return s


def _wait_held(workers: set[int], port: int, done: Any) -> dict[int, set[int]]:
    deadline = time.monotonic() + 10
    while True:
        held = _held(workers, port)
        if done(held) or time.monotonic() > deadline:
            return held
        time.sleep(0.05)


def _held(workers: set[int], port: int) -> dict[int, set[int]]:
    """The client ports of the open connections to ``port`` each worker holds (from /proc)."""
    remote_of = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        f = line.split()
        if f[3] == "01" and int(f[1].split(":")[1], 16) == port:  # ESTABLISHED, served on our port
            remote_of[f[9]] = int(f[2].split(":")[1], 16)
    held: dict[int, set[int]] = {}
    for pid in workers:
        ports = set()
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in remote_of:
                ports.add(remote_of[target[8:-1]])
        held[pid] = ports
    return held


def _is_tracker(pid: int) -> bool:
    try:
        return "resource_tracker" in Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]


def test_a_worker_that_dies_stops_the_service(tmp_path: Path) -> None:
    """A killed worker takes the service down with exit status 1 (the supervisor restarts it whole) and
    the other worker with it."""
    proc, port = _start(tmp_path)
    try:
        workers = _up(proc, port)
        victim, other = sorted(workers)
        os.kill(victim, signal.SIGKILL)
        assert proc.wait(timeout=60) == 1
        deadline = time.monotonic() + 30
        while _alive(other) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(other), "the other worker outlived the service"
    finally:
        if proc.poll() is None:
            proc.kill()
