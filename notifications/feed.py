"""Live feed for one-stop desks: events published on a per-desk channel, streamed by the backend as SSE.

Embedded (one process) the channels live in memory; with ``REDIS_URL`` set they go through Redis pub/sub
so every backend worker sees every event.
"""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.response.sse import ServerSentEventMessage

DESK_CHANNEL_PREFIX = "desk-feed"


def make_channels_plugin(redis_url: str | None, *, history: int = 50) -> ChannelsPlugin:
    """Channels for the desk feeds; ``history`` recent events per channel are kept in memory mode, so a
    reconnecting console can catch up (the Redis pub/sub backend keeps none)."""
    if redis_url:
        from litestar.channels.backends.redis import RedisChannelsPubSubBackend
        from redis.asyncio import Redis

        backend: Any = RedisChannelsPubSubBackend(redis=Redis.from_url(redis_url))
    else:
        backend = MemoryChannelsBackend(history=history)
    return ChannelsPlugin(backend=backend, arbitrary_channels_allowed=True)


def desk_channel(desk_id: uuid.UUID | str) -> str:
    # Redis backend keys upper-case channel names; UUID text is case-insensitive, so normalise to lower.
    return f"{DESK_CHANNEL_PREFIX}:{str(desk_id).lower()}"


def publish_desk_event(
    channels: ChannelsPlugin, desk_id: uuid.UUID | str, payload: Mapping[str, Any]
) -> None:
    """Queue ``payload`` (JSON-encodable) for the desk's subscribers; returns at once, never blocks the
    request that caused it. Delivery is best effort: the feed is a live view, the database is the record."""
    channels.publish(dict(payload), channels=[desk_channel(desk_id)])


async def desk_sse_events(
    channels: ChannelsPlugin,
    desk_id: uuid.UUID | str,
    *,
    ping_every: float = 15.0,
    stop: asyncio.Event | None = None,
) -> AsyncIterator[ServerSentEventMessage]:
    """Server-sent events for one desk, for ``litestar.response.ServerSentEvent(desk_sse_events(...))``.

    The first event (``ready``) is sent once the subscription exists, so a client knows nothing published
    after it will be missed. A comment line every ``ping_every`` seconds keeps proxies from closing an idle
    stream. Each desk event is an ``event: desk`` message whose data is the published JSON. The stream ends
    when ``stop`` is set (the server is shutting down: an open stream would hold it; the console reconnects).
    """
    channel = desk_channel(desk_id)
    if stop is not None and stop.is_set():
        return
    async with channels.start_subscription([channel]) as subscriber:
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()

        async def pump() -> None:
            async for payload in subscriber.iter_events():
                queue.put_nowait(payload)

        async def end_on_stop(stop: asyncio.Event) -> None:
            await stop.wait()
            queue.put_nowait(None)

        tasks = [asyncio.create_task(pump())]
        if stop is not None:
            tasks.append(asyncio.create_task(end_on_stop(stop)))
        try:
            yield ServerSentEventMessage(event="ready", data=channel)
            while True:
                try:
                    payload = await asyncio.wait_for(queue.get(), timeout=ping_every)
                except TimeoutError:
                    yield ServerSentEventMessage(comment="ping")
                    continue
                if payload is None:
                    return
                yield ServerSentEventMessage(event="desk", data=payload.decode())
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
