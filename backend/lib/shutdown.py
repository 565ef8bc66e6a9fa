"""The serving parent's "stop" signal as the workers see it (``backend/server.py`` sends it).

Granian waits for every open response before a worker exits, and a desk feed (server-sent events) never ends on
its own, so on SIGTERM/SIGINT the parent writes one byte into a pipe its workers inherited, and responses that
would otherwise hold the shutdown open (``notifications/feed.py``) end when :func:`stopping` is set. It lives
here rather than in ``backend/server.py`` because the server imports the app, which imports the domains that
listen for it (``backend/notices``): the domains never import the server.
"""

import asyncio
import weakref

# The read end of the parent's stop pipe: set in the parent before it forks its workers, so they inherit both
# (Granian forks on Linux; a worker started another way has None and its feeds end at the kill deadline).
# The parent writes one byte when it is told to stop; nothing else ever writes, so readable means stopping.
_stop_fd: int | None = None
_stopping: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Event]" = weakref.WeakKeyDictionary()


def listen_to(read_fd: int | None) -> None:
    """The pipe the workers about to be forked read the stop from (None: none, after serving)."""
    global _stop_fd
    _stop_fd = read_fd


def stopping() -> asyncio.Event:
    """An event set once this server has been told to stop (SIGTERM/SIGINT), for responses that would
    otherwise hold the shutdown open (desk feeds). Never set outside ``python -m backend serve``/``run``."""
    loop = asyncio.get_running_loop()
    event = _stopping.get(loop)
    if event is None:
        event = _stopping[loop] = asyncio.Event()
        fd = _stop_fd
        if fd is not None:

            def fire() -> None:
                loop.remove_reader(fd)  # level-triggered: leave the byte for the other workers
                event.set()

            loop.add_reader(fd, fire)
    return event
