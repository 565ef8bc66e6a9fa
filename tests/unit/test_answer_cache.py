"""The answer cache's store (backend/lib/answer_cache.py): tags drop entries, a load that raced an
invalidation is not kept, the short TTL when nobody listens, the per-client token bucket."""

import time

import pytest

from backend.lib import answer_cache as ac
from tests.support.answers import entry

DB = "sqlite+aiosqlite:///answer-cache-unit"


def test_a_tag_drops_its_entries_only() -> None:
    since = ac.sequence()
    ac.store(DB, "a", entry(b"1", "dossier:a", "table:organisation"), since=since)
    ac.store(DB, "b", entry(b"2", "dossier:b"), since=since)
    ac.invalidate("dossier:a")
    assert ac.lookup(DB, "a") is None
    hit = ac.lookup(DB, "b")
    assert hit is not None and hit.body == b"2"
    ac.invalidate("table:organisation", "dossier:b")
    assert ac.lookup(DB, "b") is None


def test_a_load_older_than_an_invalidation_is_not_kept() -> None:
    since = ac.sequence()
    ac.invalidate("dossier:raced")  # the change commits while the load runs
    ac.store(DB, "raced", entry(b"old", "dossier:raced"), since=since)
    assert ac.lookup(DB, "raced") is None
    ac.store(DB, "raced", entry(b"new", "dossier:raced"), since=ac.sequence())
    assert ac.lookup(DB, "raced") is not None


def test_clear_drops_one_database() -> None:
    since = ac.sequence()
    ac.store(DB, "x", entry(b"x", "t"), since=since)
    ac.store(DB + "-other", "x", entry(b"y", "t"), since=since)
    ac.clear(DB)
    assert ac.lookup(DB, "x") is None
    assert ac.lookup(DB + "-other", "x") is not None
    ac.clear(DB + "-other")


def test_entries_live_a_short_ttl_when_nobody_listens(monkeypatch: pytest.MonkeyPatch) -> None:
    ac.store(DB, "ttl", entry(b"t", "ttl"), since=ac.sequence())
    assert ac.lookup(DB, "ttl") is not None
    monkeypatch.setattr(ac.time, "monotonic", lambda: time.time() + 10**9)
    assert ac.lookup(DB, "ttl") is None


def test_the_bucket_lets_a_burst_through_then_asks_to_wait() -> None:
    limiter = ac.ClientLimiter(rate=1.0, burst=3)
    assert [limiter.take("10.0.0.1") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("10.0.0.1")
    assert 0.5 < wait <= 1.0
    assert limiter.take("10.0.0.2") == 0.0  # another client is still served


def test_the_store_keeps_to_its_byte_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ac, "MAX_BYTES", 1600)
    since = ac.sequence()
    for i in range(20):
        ac.store(DB, ("big", i), entry(bytes(100), f"big:{i}"), since=since)
    assert ac.lookup(DB, ("big", 19)) is not None and ac.lookup(DB, ("big", 0)) is None, (
        "oldest dropped first"
    )
    assert sum(len(e.body) for e in ac._entries.values()) <= 1600
    ac.store(DB, "huge", entry(bytes(200), "huge"), since=since)  # over a sixteenth of the budget: not kept
    assert ac.lookup(DB, "huge") is None
    ac.clear(DB)
