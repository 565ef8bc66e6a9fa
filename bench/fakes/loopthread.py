"""Stopping a fake server that runs its own event loop in a thread (the fake FCM server, the CONNECT proxy)."""

import asyncio
import threading
from collections.abc import Callable


def stop_loop_thread(
    loop: asyncio.AbstractEventLoop, thread: threading.Thread, close: Callable[[], None]
) -> None:
    """In the loop: ``close`` (the servers), then cancel every other task and wait for them; then stop the loop
    and join its thread."""

    async def shutdown() -> None:
        close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
