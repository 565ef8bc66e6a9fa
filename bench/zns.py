"""Benchmark: the Zalo ZNS adapter against the fake Zalo on 127.0.0.1, and the token store's refresh.

    python -m bench.zns [--messages 2000] [--concurrency 1,20] [--refreshes 50]

Sends ``--messages`` template messages through ``ZnsSender`` (one httpx client, keep-alive; tokens from a
``TokenStore`` on a SQLite file, so each send reads the cached access token and the database only when it
expires) to ``bench.fakes.zns_server.FakeZalo`` at each concurrency and prints messages per second; then times
``--refreshes`` refreshes of the single-use refresh token (lease, OAuth call, compare-and-swap write), with
the fake's access tokens expired before each. The fake is a threaded stdlib server in this process, so the
figures bound the adapter's own cost from above; they depend on the machine and on whatever else runs on it.
"""

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import SQLModel

from bench.fakes.zns_server import FakeZalo
from notifications.sms.base import Outcome
from notifications.zns import OAuthConfig, TokenStore, ZnsConfig, ZnsSender
from schemas.zns import ZnsToken

TEMPLATE = "302145"


async def _engine(folder: Path) -> AsyncEngine:
    engine = create_async_engine(f"sqlite+aiosqlite:///{folder / 'zns-bench.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(lambda c: SQLModel.metadata.create_all(c, tables=[ZnsToken.__table__]))  # type: ignore[attr-defined]
    return engine


def _store(engine: AsyncEngine, fake: FakeZalo) -> TokenStore:
    return TokenStore(
        engine, OAuthConfig(fake.app_id, fake.app_secret, oauth_url=fake.base_url), fake.refresh_token
    )


async def _sends(fake: FakeZalo, engine: AsyncEngine, messages: int, concurrency: int) -> float:
    tokens = _store(engine, fake)
    sender = ZnsSender(ZnsConfig(base_url=fake.base_url), tokens)
    await tokens.current()  # the first refresh is not part of the sends
    queue = iter(range(messages))

    async def worker() -> None:
        for n in queue:
            params = {"item_id": f"BD{n:07d}VN"}
            result = await sender.send("+84912345678", TEMPLATE, params, request_id=f"b{concurrency}-{n}")
            assert result.outcome is Outcome.sent, result

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await sender.aclose()
    await tokens.aclose()
    return messages / elapsed


async def _refreshes(fake: FakeZalo, engine: AsyncEngine, n: int) -> float:
    tokens = _store(engine, fake)
    token = await tokens.current()
    started = time.perf_counter()
    for _ in range(n):
        fake.expire_access_tokens()
        token = await tokens.refresh(token)
    elapsed = time.perf_counter() - started
    await tokens.aclose()
    return elapsed / n


async def _main(args: argparse.Namespace) -> None:
    fake = FakeZalo(templates={TEMPLATE: ("item_id",)}).start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            engine = await _engine(Path(folder))
            for c in (int(x) for x in args.concurrency.split(",")):
                rate = await _sends(fake, engine, args.messages, c)
                print(f"zns adapter -> fake Zalo, concurrency {c}: {rate:,.0f} messages/s")
            per = await _refreshes(fake, engine, args.refreshes)
            print(f"token refresh (lease + OAuth + compare-and-swap, SQLite): {per * 1000:.1f} ms each")
            await engine.dispose()
    finally:
        fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", default="1,20")
    parser.add_argument("--refreshes", type=int, default=50)
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
