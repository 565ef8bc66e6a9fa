"""Serving the API with Granian (a Rust/hyper HTTP server), through its public Python API only.

``WEB_CONCURRENCY`` worker processes each run the whole app, lifespan hooks included (the outbox dispatcher
claims rows with ``FOR UPDATE SKIP LOCKED``, so several are safe); on Linux each worker listens on its own
``SO_REUSEPORT`` socket and the kernel spreads new connections among them.

The limits an attacker on the network would otherwise use to hold the service (issue 17, item 4), all from
``backend/settings.py``:
* a request's head (request line and headers) must arrive within ``HTTP_HEADER_TIMEOUT_S`` and fit in
  ``HTTP_MAX_HEADER_BYTES`` (HTTP/1 read buffer; HTTP/2 header list), else the connection is closed;
* a request's body must arrive within ``HTTP_BODY_TIMEOUT_S`` (``backend/lib/body_timeout.py``: 408);
* at most ``HTTP_MAX_CONCURRENCY`` connections served at once per worker (Granian's backpressure; one whose
  headers are still arriving counts, for at most the header timeout): further ones wait in the listen backlog;
* ``HTTP_KEEP_ALIVE`` (on by default): an idle keep-alive connection is closed by the same header timeout;
* HTTP/1.1 only unless ``HTTP2`` (h2c behind a proxy): HTTP/2 has no header timeout in Granian, so an idle or
  half-sent HTTP/2 connection would be held (measured: 40 s and counting); with it, ``HTTP2_MAX_STREAMS``
  streams per connection and a ping every ``HTTP_HEADER_TIMEOUT_S``.

Shutdown and failures (item 3): on SIGTERM/SIGINT the workers stop accepting and finish the requests in
progress; a worker still running ``SHUTDOWN_TIMEOUT_S`` later is killed, so a supervisor's restart always
completes. Granian waits for every open response, and a desk feed (server-sent events) never ends on its own,
so before Granian's own handler runs the parent tells its workers through a pipe they inherited
(``backend/lib/shutdown.py`` :func:`stopping`), and open feeds end at once (``notifications/feed.py``). A worker that dies is respawned;
one that dies again within seconds of its respawn (a crash loop) stops the service with exit status 1, so the
supervisor restarts it whole rather than leaving it half up; workers die with their parent.
"""

import contextlib
import ctypes
import os
import signal
from typing import Any

from backend.lib import shutdown
from backend.lib.shutdown import stopping as stopping  # its old home; the domains import backend.lib.shutdown
from backend.settings import Settings

APP = "backend.server:worker_app"
# The serving parent's pid, inherited by the workers it forks (they die with it, see worker_app).
_parent_pid: int | None = None


def worker_app() -> Any:
    """The app factory each worker calls. A worker dies with its parent: killed without a chance to stop
    them (SIGKILL, the OOM killer), the parent could not kill them at the deadline either, and orphans would
    go on serving with their database connections, a service half up (Linux ``PR_SET_PDEATHSIG``)."""
    if _parent_pid is not None:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != _parent_pid:  # it died before we asked
            os._exit(1)
    # Deferred on purpose: the serving parent imports this module to supervise and never builds the app; each
    # worker loads it after the fork, so no app state (caches, engines, event loop objects) crosses a fork.
    from backend.app import create_app

    return create_app()


def _tell_workers_on_signals(write_fd: int) -> None:
    """Granian's ``on_startup`` hook: runs in the parent after Granian installed its signal handlers and before
    it forks the workers. Each handler is wrapped so that the workers hear of the stop first."""
    parent = os.getpid()
    for sig in (signal.SIGTERM, signal.SIGINT):
        granians = signal.getsignal(sig)
        if not callable(granians):
            continue

        def handler(signum: int, frame: Any, granians: Any = granians) -> None:
            if os.getpid() == parent:  # not a worker just forked, before Granian set its own handlers
                with contextlib.suppress(OSError):  # the pipe is full (written already) or closed
                    os.write(write_fd, b"s")
            granians(signum, frame)

        signal.signal(sig, handler)


def granian_options(settings: Settings, *, log_access: bool = True) -> dict[str, Any]:
    """The keyword arguments for ``granian.Granian`` (tests read them)."""
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings, HTTP2Settings

    return {
        "address": settings.host,
        "port": settings.port,
        "interface": Interfaces.ASGI,
        "factory": True,
        "workers": max(1, settings.web_concurrency),
        "http": HTTPModes.auto if settings.http2 else HTTPModes.http1,
        "backpressure": settings.http_max_concurrency,
        "http1_settings": HTTP1Settings(
            header_read_timeout=min(60_000, max(1, round(settings.http_header_timeout_s * 1000))),
            keep_alive=settings.http_keep_alive,
            max_buffer_size=max(8192, settings.http_max_header_bytes),
        ),
        "http2_settings": HTTP2Settings(
            max_concurrent_streams=settings.http2_max_streams,
            max_headers_size=settings.http_max_header_bytes,
            # a peer that stops answering pings is dropped
            keep_alive_interval=max(1, round(settings.http_header_timeout_s * 1000)),
        ),
        "respawn_failed_workers": True,
        "workers_kill_timeout": max(1, round(settings.shutdown_timeout_s)),
        "log_access": log_access,
    }


def serve(settings: Settings, *, log_access: bool = True) -> int:
    """Serve until SIGTERM/SIGINT: 0 after a clean stop; a worker crash loop exits with status 1."""
    from granian import Granian

    global _parent_pid
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    shutdown.listen_to(read_fd)  # before Granian forks: the workers inherit the pipe and this setting
    _parent_pid = os.getpid()
    server = Granian(APP, **granian_options(settings, log_access=log_access))
    server.on_startup(lambda: _tell_workers_on_signals(write_fd))
    try:
        server.serve()
    finally:
        shutdown.listen_to(None)
        _parent_pid = None
        os.close(read_fd)
        os.close(write_fd)
    return 0
