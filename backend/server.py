"""Serving the API: one uvicorn process, or ``WEB_CONCURRENCY`` processes on SO_REUSEPORT sockets.

Why not ``uvicorn --workers``: its workers share one listening socket and whichever is awake accepts, so
under keep-alive load one worker ends up holding most connections (measured on 50 clients: 36/14, and
50/0) and its clients wait twice as long while the other core idles. Here every worker binds its own
socket to the same address with SO_REUSEPORT and the kernel spreads new connections over them by a hash
of the address pair. Linux only; elsewhere (or with one worker) it is plain ``uvicorn.run``.

Each worker runs the whole app, lifespan hooks included (the outbox dispatcher claims rows with
``FOR UPDATE SKIP LOCKED``, so several are safe). The parent forwards SIGTERM/SIGINT to the workers and
exits when they have; if a worker dies, the others are stopped and the parent exits non-zero, so the
container's supervisor restarts the whole service rather than leaving it half up.
"""

import multiprocessing
import signal
import socket
import sys
from typing import Any

APP = "backend.app:create_app"


def _listen(host: str, port: int) -> socket.socket:
    family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(addr)
    sock.listen(2048)
    return sock


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this worker if the parent dies (killed without a chance to stop us): orphaned
    workers would keep the port and their database connections."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _worker(host: str, port: int, log_level: str, access_log: bool) -> None:
    import uvicorn

    _die_with_parent()
    sock = _listen(host, port)
    config = uvicorn.Config(APP, factory=True, log_level=log_level, access_log=access_log)
    uvicorn.Server(config).run(sockets=[sock])


def serve(host: str, port: int, workers: int = 1, *, log_level: str = "info", access_log: bool = True) -> int:
    if workers <= 1 or not hasattr(socket, "SO_REUSEPORT"):
        import uvicorn

        uvicorn.run(APP, factory=True, host=host, port=port, log_level=log_level, access_log=access_log)
        return 0
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_worker, args=(host, port, log_level, access_log), name=f"api-{n}")
        for n in range(workers)
    ]
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True
        for p in procs:
            if p.is_alive():
                p.terminate()  # SIGTERM: uvicorn shuts down gracefully

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for p in procs:
        p.start()
    sentinels = {p.sentinel: p for p in procs}
    from multiprocessing.connection import wait

    failed = False
    while sentinels:
        for ready in wait(list(sentinels)):
            p = sentinels.pop(ready)  # type: ignore[call-overload,arg-type]
            if not stopping:
                failed = True
                print(f"{p.name} exited with {p.exitcode}; stopping the others", file=sys.stderr)
                stop()
    for p in procs:
        p.join(timeout=30)
    return 1 if failed else 0
