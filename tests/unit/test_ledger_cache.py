"""The listing's ledger cache: hits until a change, and a load that raced a change is never kept."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from backend.booking.ledger_cache import LedgerCache

START = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)


class _Engine:
    url = "sqlite+aiosqlite:///ledger-cache-test"


class _Bind:
    engine = _Engine()


class _Rows:
    def __init__(self, rows: list[tuple[datetime, int]]) -> None:
        self._rows = rows

    def all(self) -> list[tuple[datetime, int]]:
        return self._rows


class _Session:
    """Answers the ledger query with ``booked`` minutes for START; ``during`` runs while the query is out."""

    def __init__(self) -> None:
        self.booked = 0
        self.queries = 0
        self.during: Any = None

    def get_bind(self) -> _Bind:
        return _Bind()

    async def execute(self, _stmt: Any) -> _Rows:
        self.queries += 1
        answer = _Rows([(START, self.booked)])
        if self.during is not None:
            self.during()
        return answer


async def test_hits_until_the_office_changes() -> None:
    cache, office = LedgerCache(), uuid.uuid4()
    session: Any = _Session()
    session.booked = 30
    assert await cache.booked(session, office, [START]) == {START: 30}
    session.booked = 60
    assert await cache.booked(session, office, [START]) == {START: 30}
    assert session.queries == 1
    cache.changed(office)
    assert await cache.booked(session, office, [START]) == {START: 60}
    assert session.queries == 2


async def test_a_load_that_raced_a_change_is_not_kept() -> None:
    cache, office = LedgerCache(), uuid.uuid4()
    session: Any = _Session()
    session.booked = 30
    session.during = lambda: cache.changed(office)  # a booking commits while our read is out
    assert await cache.booked(session, office, [START]) == {START: 30}
    session.during = None
    session.booked = 60
    assert await cache.booked(session, office, [START]) == {START: 60}
    assert session.queries == 2


async def test_a_load_that_raced_a_reset_is_not_kept() -> None:
    cache, office = LedgerCache(), uuid.uuid4()
    session: Any = _Session()
    session.during = cache.clear  # e.g. the change listener reconnected while our read was out
    await cache.booked(session, office, [START])
    session.during = None
    await cache.booked(session, office, [START])
    assert session.queries == 2
