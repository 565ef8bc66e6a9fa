"""backend/lib/body_timeout.py: the body must arrive by the deadline; waiting for a disconnect afterwards
(a streamed response such as a desk feed listens for one for hours) is not limited."""

import asyncio
import time
from typing import Any

import pytest

from backend.lib.body_timeout import _within
from backend.lib.problems import Problem


def _receive(*messages: dict[str, Any]) -> Any:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for m in messages:
        queue.put_nowait(m)

    async def receive() -> dict[str, Any]:
        return await queue.get()

    return receive, queue


async def test_a_body_still_arriving_at_the_deadline_is_a_408() -> None:
    receive, _ = _receive({"type": "http.request", "body": b"{", "more_body": True})
    timed = _within(receive, time.monotonic() + 0.2)
    assert (await timed())["body"] == b"{"
    with pytest.raises(Problem) as caught:
        await timed()  # the rest never comes
    assert caught.value.status_code == 408


async def test_after_the_whole_body_waiting_is_not_limited() -> None:
    receive, queue = _receive(
        {"type": "http.request", "body": b"{}", "more_body": True},
        {"type": "http.request", "body": b"", "more_body": False},
    )
    timed = _within(receive, time.monotonic() + 0.2)
    await timed()
    await timed()
    waiting = asyncio.ensure_future(timed())  # e.g. a streamed response listening for the disconnect
    await asyncio.sleep(0.4)
    assert not waiting.done()
    queue.put_nowait({"type": "http.disconnect"})
    assert (await asyncio.wait_for(waiting, 1))["type"] == "http.disconnect"
