"""``python -m backend serve`` with WEB_CONCURRENCY=2: two workers share the port through SO_REUSEPORT,
both serve, and SIGTERM stops them all (no orphan keeps the port or its database connections)."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

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


def test_two_workers_serve_one_port_and_stop_on_sigterm(tmp_path: Path) -> None:
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
    proc = subprocess.Popen([sys.executable, "-m", "backend", "serve"], cwd=ROOT, env=env)
    try:
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
        workers = set()
        while len(workers) < 2 and time.monotonic() < deadline:  # the second may still be importing
            workers = _children(proc.pid) - {p for p in _children(proc.pid) if _is_tracker(p)}
            time.sleep(0.2)
        assert len(workers) == 2, workers
        # Many fresh connections: all answered, whichever worker the kernel hands each to.
        codes = [httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code for _ in range(40)]
        assert codes == [200] * 40
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    for pid in workers:
        assert not _alive(pid), f"worker {pid} outlived the server"


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
