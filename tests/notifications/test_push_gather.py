"""A woken push dispatcher gathers the notices committed in the next moment into one pass (issue 24).

Each notice is committed in a transaction of its own and followed by its wake, as a booking's commit wakes the
dispatcher (``backend/notices/wake.py``): with ``gather`` they are claimed, pushed and settled together; without
(``gather=0``, the dispatcher before) the first wake's pass takes the first notice alone.
"""

import asyncio
import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from bench.fakes.fcm_server import FakeFcm
from notifications.dispatcher import Dispatcher, Settled
from notifications.push import FcmSender
from tests.notifications.support import add_devices, eventually
from tests.notifications.test_dispatcher import write

NOTICES = 4
GATHER_S = 1.0  # far longer than four commits take, even on a busy machine


async def test_notices_committed_together_share_one_pass(
    db: AsyncEngine, sender: FcmSender, fcm: FakeFcm
) -> None:
    people = [uuid.uuid4() for _ in range(NOTICES)]
    await add_devices(db, [("citizen", who, f"gather-{who.hex[:8]}", "android") for who in people])
    settles: list[list[Settled]] = []
    d = Dispatcher(db, sender, "w-gather", idle_interval=30.0, gather=GATHER_S, after_settle=settles.append)
    stop = asyncio.Event()
    loop = asyncio.create_task(d.run_forever(stop))
    try:
        await asyncio.sleep(0.2)  # the first pass found nothing: the loop waits up to 30 s
        for who in people:  # one transaction each, then its wake (as the commit hook gives it)
            await write(db, ("citizen", who, "dossier.delivered", {"item_id": "HS123456785VN"}))
            d.wake()
        await eventually(lambda: sum(len(s) for s in settles) >= NOTICES, limit_s=10)
    finally:
        stop.set()
        await asyncio.wait_for(loop, 5)
    assert [len(s) for s in settles] == [NOTICES]  # one pass, one settle, all of them
    assert all(s.status == "sent" for s in settles[0])
    assert d.stats.sent == NOTICES
