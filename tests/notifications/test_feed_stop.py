"""A desk feed ends when the server is stopping (``stop`` set), so an open stream cannot hold a shutdown."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

from notifications.feed import desk_sse_events, make_channels_plugin, publish_desk_event


async def _rest(events: AsyncIterator[Any]) -> list[Any]:
    return [e async for e in events]


async def test_the_feed_ends_when_stop_is_set_and_does_not_start_once_it_is() -> None:
    channels = make_channels_plugin(None)
    desk, stop = uuid.uuid4(), asyncio.Event()
    async with channels:
        events = desk_sse_events(channels, desk, ping_every=30, stop=stop)
        assert (await anext(events)).event == "ready"
        publish_desk_event(channels, desk, {"kind": "x"})
        assert (await asyncio.wait_for(anext(events), 5)).event == "desk"
        stop.set()
        assert await asyncio.wait_for(_rest(events), 2) == []  # at once, not at the next ping 30 s away
        assert await asyncio.wait_for(_rest(desk_sse_events(channels, desk, stop=stop)), 2) == []
