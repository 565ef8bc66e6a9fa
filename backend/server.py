"""Serving the API: one uvicorn process, or ``WEB_CONCURRENCY`` worker processes fed by their parent.

With several workers the parent owns the listening socket, accepts every connection and hands it (the file
descriptor, over a Unix socket) to the worker holding the fewest open connections; a worker reports back each
connection it closes. Why: with keep-alive clients a connection stays with its worker, and a worker serving
more connections than the other makes its clients wait longer while the other core has time to spare.
Measured with 50 keep-alive clients booking on 2 workers:
* ``uvicorn --workers`` (one shared socket, whichever worker is awake accepts): 36/14 and 50/0 splits;
* one SO_REUSEPORT socket per worker (the kernel spreads connections by a hash of the address pair): 22/28,
  and the 28 waited 82 ms on average against 63 ms for the 22;
* least connections, here: 25/25.
The parent only accepts and passes descriptors (no request goes through it). Linux only (SCM_RIGHTS and
SOCK_SEQPACKET); elsewhere, or with one worker, it is plain ``uvicorn.run``.

Each worker runs the whole app, lifespan hooks included (the outbox dispatcher claims rows with
``FOR UPDATE SKIP LOCKED``, so several are safe). The parent forwards SIGTERM/SIGINT to the workers and
exits when they have; if a worker dies, the others are stopped and the parent exits non-zero, so the
container's supervisor restarts the whole service rather than leaving it half up.
"""

import asyncio
import contextlib
import multiprocessing
import selectors
import signal
import socket
import sys
import time
from typing import Any

APP = "backend.app:create_app"
_CLOSED = b"c"  # worker to parent: one of the connections it was handed has closed


def _listen(host: str, port: int) -> socket.socket:
    family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(addr)
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this worker if the parent dies (killed without a chance to stop us): orphaned
    workers would keep their database connections."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _worker(channel: socket.socket, log_level: str, access_log: bool) -> None:
    import uvicorn

    _die_with_parent()

    class HandedServer(uvicorn.Server):
        """uvicorn with no listening socket of its own: it serves the connections the parent hands over."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=[])
            config, loop = self.config, asyncio.get_running_loop()
            base: Any = config.http_protocol_class

            class Counted(base):  # type: ignore[misc,valid-type]
                def connection_lost(self, exc: Exception | None) -> None:
                    super().connection_lost(exc)
                    with contextlib.suppress(OSError):  # the parent is gone; PR_SET_PDEATHSIG stops us
                        channel.send(_CLOSED)

            def protocol() -> asyncio.Protocol:
                return Counted(config=config, server_state=self.server_state, app_state=self.lifespan.state)

            def receive() -> None:
                while True:
                    try:
                        msg, fds, _, _ = socket.recv_fds(channel, 1, 1)
                    except BlockingIOError:
                        return
                    except OSError:
                        msg, fds = b"", []
                    if not msg:  # the parent is gone
                        loop.remove_reader(channel.fileno())
                        return
                    for fd in fds:
                        conn = socket.socket(fileno=fd)
                        loop.create_task(loop.connect_accepted_socket(protocol, conn))

            channel.setblocking(False)
            loop.add_reader(channel.fileno(), receive)

    config = uvicorn.Config(APP, factory=True, log_level=log_level, access_log=access_log)
    HandedServer(config).run()


def serve(host: str, port: int, workers: int = 1, *, log_level: str = "info", access_log: bool = True) -> int:
    if workers <= 1 or not hasattr(socket, "send_fds"):
        import uvicorn

        uvicorn.run(APP, factory=True, host=host, port=port, log_level=log_level, access_log=access_log)
        return 0
    listener = _listen(host, port)
    ctx = multiprocessing.get_context("spawn")
    channels, ends, procs = [], [], []
    for n in range(workers):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        channels.append(ours)
        ends.append(theirs)
        procs.append(ctx.Process(target=_worker, args=(theirs, log_level, access_log), name=f"api-{n}"))
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
    for end in ends:  # the workers hold theirs; a worker's death then closes its channel
        end.close()
    failed = _hand_out(listener, channels, procs, lambda: stopping, stop)
    for p in procs:
        p.join(timeout=30)
    return 1 if failed else 0


def _hand_out(
    listener: socket.socket,
    channels: list[socket.socket],
    procs: list[Any],
    stopping: Any,
    stop: Any,
) -> bool:
    """Accept and hand out connections (fewest open first, then in turn) until every worker has exited.
    True if one exited on its own."""
    open_ = [0] * len(channels)
    turn = 0
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, ("listen", -1))
    for i, ch in enumerate(channels):
        ch.setblocking(False)
        sel.register(ch, selectors.EVENT_READ, ("channel", i))
    alive = {p.sentinel: p for p in procs}
    for fd in alive:
        sel.register(fd, selectors.EVENT_READ, ("exit", fd))
    failed = False
    while alive:
        for key, _ in sel.select():
            what, i = key.data
            if what == "listen":
                while True:
                    try:
                        conn, _ = listener.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:  # e.g. too many open files: wait a little rather than spin on it
                        time.sleep(0.05)
                        break
                    order = sorted(range(len(channels)), key=lambda w: (open_[w], (w - turn) % len(channels)))
                    for w in order:
                        try:
                            socket.send_fds(channels[w], [b"h"], [conn.fileno()])
                        except OSError:  # that worker's end is gone: try the next
                            continue
                        open_[w] += 1
                        turn = (w + 1) % len(channels)
                        break
                    conn.close()  # the worker holds its own copy
            elif what == "channel":
                try:
                    notices = channels[i].recv(64)
                    while notices:
                        open_[i] = max(0, open_[i] - notices.count(_CLOSED))
                        notices = channels[i].recv(64)
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    sel.unregister(channels[i])
                else:  # b"": the worker's end closed
                    sel.unregister(channels[i])
            else:
                p = alive.pop(i)
                sel.unregister(i)
                if not stopping():
                    failed = True
                    print(f"{p.name} exited with {p.exitcode}; stopping the others", file=sys.stderr)
                    stop()
    sel.close()
    listener.close()
    return failed
