"""Dispatcher worker processes for the crash and concurrency tests (module-level so ``spawn`` can import)."""

import asyncio
from datetime import timedelta
from typing import Any

from notifications.dispatcher import Dispatcher
from notifications.push import FcmSender
from tests.notifications.support import make_engine


def dispatcher_process(
    url: str,
    service_account: str,
    fcm_base_url: str,
    ca_file: str | None,
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
        sender = FcmSender(service_account, base_url=fcm_base_url, ca_file=ca_file)
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

    asyncio.run(main())
