"""Drill 7 as a test, shorter: the push, Zalo and SMS providers (loopback fakes: FCM at Google's own address
through a CONNECT proxy, eSMS, Zalo) answer 500 and 429 with ``Retry-After`` in turn for 15 s while citizens
book through the service (``python -m backend serve``) and a real ``python -m backend dispatch`` worker sends
their confirmations (``bench/drills/providers.py``; ``python -m bench.drills providers`` runs a minute). The
API keeps answering without 5xx; each notice is tried no more often than the backoff allows; after the outage
every notice is delivered exactly once, none failed. On SQLite and PostgreSQL, each with its own database (the
drill's citizens, +84900000060 to +84900000077, exist only there). In Vietnam's quiet hours (21:00-07:00) SMS
and Zalo wait for 07:00 by policy, so only push is drilled then."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from bench.drills import common, providers
from notifications.channels.policy import in_quiet_hours
from schemas.base import utcnow


@pytest_asyncio.fixture(loop_scope="session")
async def drill_db(db_kind: str, tmp_path: Path) -> AsyncIterator[str]:
    if db_kind == "postgres":
        async with common.database("hoso_test_drill") as (url, _):
            yield url
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'drill.db'}"
        await common.prepare(url)
        yield url


async def test_providers_down_for_a_while_lose_nothing_and_are_not_hammered(drill_db: str) -> None:
    channels = not in_quiet_hours(utcnow())
    outcome = await providers.run_on(drill_db, outage_s=15, retry_after=5, bookings=18, channels=channels)
    assert outcome.passed, (outcome.observed, outcome.figures)
    figures = outcome.figures
    assert figures["notices"] > 0
    assert figures["requests_in_outage"]["push"] > 0  # the outage met the push sender
    # Far fewer requests than a sender retrying every second would make.
    assert sum(figures["requests_in_outage"].values()) < figures["without_backoff_would_be_about"] / 3


def test_the_attempt_bound_follows_the_backoff_schedule() -> None:
    # Equal jitter waits at least base/2, base, 2*base, ... after attempts 1, 2, 3, ...
    assert providers.attempt_bound(60, 15) == 4  # tries at 0, >=7.5, >=22.5, >=52.5 s
    assert providers.attempt_bound(60, 30) == 3  # tries at 0, >=15, >=45 s
    assert providers.attempt_bound(5, 15) == 1
