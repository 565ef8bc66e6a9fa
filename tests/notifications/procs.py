"""Dispatcher worker processes for the crash and concurrency tests (module-level so ``spawn`` can import).

A worker inherits the test process's ``HTTPS_PROXY`` and ``SSL_CERT_FILE`` and runs on ``ProxyingLoop``, so
its sender reaches the fake FCM at Google's address like the tests' own (conftest.py)."""

import asyncio
from datetime import timedelta
from typing import Any

from bench.fakes import proxy
from notifications.dispatcher import Dispatcher
from notifications.push import FcmSender
from tests.notifications.support import make_engine


def dispatcher_process(
    url: str,
    service_account: str,
    worker_id: str,
    start: Any,
    *,
    batch_size: int,
    send_chunk: int,
    lease_s: float,
    until_idle: bool,
    ready: Any = None,
) -> None:
    """Dispatch with a real FcmSender; stop when a pass finds nothing (``until_idle``) or run until killed."""

    async def main() -> None:
        engine = make_engine(url)
        sender = FcmSender(service_account)
        dispatcher = Dispatcher(
            engine,
            sender,
            worker_id,
            batch_size=batch_size,
            send_chunk=send_chunk,
            lease=timedelta(seconds=lease_s),
        )
        if ready is not None:  # imports and setup done: the test starts every worker at once
            ready.release()
        start.wait()
        try:
            while True:
                claimed = await dispatcher.run_once()
                if claimed == 0:
                    if until_idle:
                        return
                    await asyncio.sleep(0.05)
        finally:
            await sender.aclose()
            await engine.dispose()

    proxy.run(main())
