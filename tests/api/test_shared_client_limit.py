"""The per-client limit of public reads across processes (issue 24, backend/lib/client_limit.py): two services
(``python -m backend serve``, one process each) on one migrated SQLite file. With one Redis (db 11) a client
spreading its reads over both is refused at the shared limit, not twice it; with Redis unreachable (a closed
port) each still limits it on its own and keeps answering (no 500), saying so once in its log.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import redis.asyncio as aioredis

from tests.conftest import create_database
from tests.support.two_services import free_port, instances

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/11"
BURST = 8
PATH = "/api/v1/track/HS000000000VN"  # malformed: 422, a public read all the same (limited, nothing stored)


@contextmanager
def _services(database_url: str, redis_url: str, log: Path) -> Iterator[list[str]]:
    limit = {
        "PUBLIC_RATE_PER_S": "0.01",
        "PUBLIC_RATE_BURST": str(BURST),
    }  # a token every 100 s: none comes back
    with instances(database_url, log, REDIS_URL=redis_url, **limit) as ports:
        yield [f"http://127.0.0.1:{port}" for port in ports]


async def _spread(bases: list[str], n: int) -> list[int]:
    """``n`` reads of one client (127.0.0.1), taking turns between the services."""
    async with httpx.AsyncClient(timeout=30) as c:
        return [(await c.get(bases[i % len(bases)] + PATH)).status_code for i in range(n)]


async def test_one_client_over_two_processes_is_refused_at_the_shared_limit(tmp_path: Path) -> None:
    url, _drop = await create_database("sqlite", tmp_path)
    r = aioredis.from_url(REDIS_URL)
    await r.delete("hoso-public-rate:127.0.0.1")  # this test's one client: a full bucket
    await r.aclose()
    with _services(url, REDIS_URL, tmp_path / "servers.log") as bases:
        seen = await _spread(bases, 3 * BURST)
    assert set(seen) <= {422, 429}, seen
    assert seen.count(422) == BURST, f"the shared burst, not {2 * BURST}: {seen}"
    assert seen[BURST:] == [429] * (2 * BURST), "refused at both"


async def test_redis_unreachable_limits_per_process_and_keeps_answering(tmp_path: Path) -> None:
    url, _drop = await create_database("sqlite", tmp_path)
    closed = f"redis://127.0.0.1:{free_port()}/0"
    log = tmp_path / "servers.log"
    with _services(url, closed, log) as bases:
        seen = await _spread(bases, 3 * BURST)
    assert set(seen) <= {422, 429}, f"answered, never 500: {seen}"
    assert seen.count(422) == 2 * BURST, f"each process its own burst: {seen}"
    assert seen[2 * BURST :] == [429] * BURST
    told = log.read_text(errors="replace").count("public read limit store unavailable")
    assert told == 2, f"once per process, not per request: {told}"
