"""Desk live feed: a tiny Litestar app with an SSE endpoint served by uvicorn on 127.0.0.1, read with httpx."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn
from litestar import Litestar, get
from litestar.channels import ChannelsPlugin
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import ServerSentEvent

from notifications.feed import desk_channel, desk_sse_events, make_channels_plugin, publish_desk_event
from tests.notifications.support import eventually

REDIS_URL = "redis://127.0.0.1:6379/0"


def feed_app(channels: ChannelsPlugin) -> Litestar:
    @get("/desks/{desk_id:uuid}/feed")
    async def feed(
        desk_id: FromPath[uuid.UUID], channels: NamedDependency[ChannelsPlugin]
    ) -> ServerSentEvent:
        return ServerSentEvent(desk_sse_events(channels, desk_id, ping_every=0.2))

    return Litestar([feed], plugins=[channels])


@asynccontextmanager
async def serving(app: Litestar) -> AsyncIterator[str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started, limit_s=20)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 20)


async def next_event(lines: AsyncIterator[str], kinds: set[str]) -> tuple[str, str]:
    """The next SSE message whose event is in ``kinds`` (comments and other events skipped)."""
    event, data = "message", list[str]()
    async for line in lines:
        if line == "":
            if event in kinds and data:
                return event, "\n".join(data)
            event, data = "message", list[str]()
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
    raise AssertionError("stream ended")


async def read_feed(
    base: str, desk: uuid.UUID, publish: object, other_desk: uuid.UUID
) -> list[dict[str, object]]:
    got: list[dict[str, object]] = []
    async with (
        httpx.AsyncClient(timeout=10) as client,
        client.stream("GET", f"{base}/desks/{desk}/feed") as resp,
    ):
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        lines = resp.aiter_lines()
        kind, data = await asyncio.wait_for(next_event(lines, {"ready"}), 10)
        assert data == desk_channel(desk)
        # Subscribed: publish one event for another desk, then two for ours.
        publish(other_desk, {"kind": "dossier.arrived", "item_id": "HS000000001VN"})  # type: ignore[operator]
        publish(
            desk, {"kind": "dossier.arrived", "item_id": "HS123456785VN", "note": "Lô từ Bưu cục Ba Đình"}
        )  # type: ignore[operator]
        publish(desk, {"kind": "handover.discrepancy", "handover_id": "H-7"})  # type: ignore[operator]
        for _ in range(2):
            _, data = await asyncio.wait_for(next_event(lines, {"desk"}), 10)
            got.append(json.loads(data))
    return got


async def test_desk_feed_over_sse_in_memory() -> None:
    channels = make_channels_plugin(None)
    desk, other = uuid.uuid4(), uuid.uuid4()
    async with serving(feed_app(channels)) as base:
        got = await read_feed(base, desk, lambda d, p: publish_desk_event(channels, d, p), other)
    assert got == [
        {"kind": "dossier.arrived", "item_id": "HS123456785VN", "note": "Lô từ Bưu cục Ba Đình"},
        {"kind": "handover.discrepancy", "handover_id": "H-7"},
    ]


async def test_desk_feed_through_redis_reaches_another_worker() -> None:
    redis = pytest.importorskip("redis.asyncio")
    try:
        probe = redis.Redis.from_url(REDIS_URL)
        await probe.ping()
        await probe.aclose()
    except OSError as exc:  # the suite documents Redis on 127.0.0.1:6379 as available
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}")
    server_side = make_channels_plugin(REDIS_URL)
    # Another backend worker: its own plugin and Redis connection publish the event.
    publisher = make_channels_plugin(REDIS_URL)
    desk, other = uuid.uuid4(), uuid.uuid4()
    async with publisher, serving(feed_app(server_side)) as base:
        got = await read_feed(base, desk, lambda d, p: publish_desk_event(publisher, d, p), other)
    assert [g["kind"] for g in got] == ["dossier.arrived", "handover.discrepancy"]
    assert got[0]["note"] == "Lô từ Bưu cục Ba Đình"


def test_channel_names_are_per_desk_and_case_stable() -> None:
    desk = uuid.uuid4()
    assert desk_channel(desk) == desk_channel(str(desk).upper()) == f"desk-feed:{desk}"
    assert desk_channel(desk) != desk_channel(uuid.uuid4())
