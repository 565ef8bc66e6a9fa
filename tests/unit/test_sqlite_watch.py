"""Stored answers on a SQLite file (backend/lib/sqlite_watch.py, backend/lib/answer_cache.py): kept long while
nothing commits, dropped (with every per-process cache of the database) when another connection commits, given
the short TTL for a while when this process committed in the same moment, a load older than a foreign commit
never kept, and lives spread so that answers stored together do not expire together."""

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from backend.lib import answer_cache as ac
from backend.lib import sqlite_watch
from tests.support.answers import entry


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[tuple[str, sqlite3.Connection]]:
    """A watched SQLite file (its key in the cache) and a connection of someone else writing to it."""
    path = tmp_path / "watched.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE t (v INTEGER)")
    db = f"sqlite+aiosqlite:///{path}"
    assert sqlite_watch.watch(db, make_url(db)) is not None
    ac.lookup(db, "nothing")  # the watch's first answer (db_of asks it when an app first reads): a reset
    try:
        yield db, other
    finally:
        ac.clear(db)
        sqlite_watch._watches.pop(db).close()
        other.close()


def _later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    base = time.monotonic()
    monkeypatch.setattr(ac.time, "monotonic", lambda: base + seconds)


def test_answers_outlive_the_short_ttl_while_nothing_commits(
    watched: tuple[str, sqlite3.Connection], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, _other = watched
    ac.store(db, "k", entry(b"v", "table:t"), since=ac.sequence())
    _later(monkeypatch, ac.SHORT_TTL_S * 10)
    assert ac.lookup(db, "k") is not None, "nothing changed: the answer is still good"
    _later(monkeypatch, ac.WATCH_TTL_S + 1)
    assert ac.lookup(db, "k") is None, "WATCH_TTL_S bounds anything the watch could miss"


def test_another_connections_commit_drops_the_answers_within_a_poll(
    watched: tuple[str, sqlite3.Connection], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, other = watched
    ac.store(db, "k", entry(b"v", "table:t"), since=ac.sequence())
    time.sleep(sqlite_watch.POLL_S * 1.5)
    assert ac.lookup(db, "k") is not None
    other.execute("INSERT INTO t VALUES (1)")  # another process, the sqlite3 shell...
    time.sleep(sqlite_watch.POLL_S * 1.5)
    assert ac.lookup(db, "k") is None, "another connection committed: the answer is dropped"
    ac.store(db, "k", entry(b"v2", "table:t"), since=ac.sequence())
    _later(monkeypatch, ac.SHORT_TTL_S + 0.01)
    assert ac.lookup(db, "k") is None, "stored while the change settles (other caches may lag): short"
    _later(monkeypatch, ac.SETTLE_S + 0.01)
    ac.store(db, "k", entry(b"v3", "table:t"), since=ac.sequence())
    _later(monkeypatch, ac.SETTLE_S + ac.SHORT_TTL_S * 3)
    assert ac.lookup(db, "k") is not None, "settled: long again"


def test_the_first_answer_of_a_file_resets_every_cache_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What changed before the watch was made is unknown: as when PostgreSQL's listener connects."""
    resets: list[str] = []
    monkeypatch.setattr(ac.pgnotify, "_resets", [*ac.pgnotify._resets, resets.append])
    sqlite3.connect(tmp_path / "first.db").close()
    db = f"sqlite+aiosqlite:///{tmp_path / 'first.db'}"
    assert sqlite_watch.watch(db, make_url(db)) is not None
    try:
        ac.lookup(db, "k")
        ac.lookup(db, "k")
        assert resets == [db], "once"
    finally:
        sqlite_watch._watches.pop(db).close()


def test_a_load_that_began_before_a_foreign_commit_is_not_kept(
    watched: tuple[str, sqlite3.Connection],
) -> None:
    db, other = watched
    since = ac.sequence()  # the load begins
    other.execute("INSERT INTO t VALUES (2)")  # someone else commits while it reads
    time.sleep(sqlite_watch.POLL_S * 1.5)
    assert ac.lookup(db, "other key") is None  # any lookup asks the watch
    ac.store(db, "k", entry(b"old", "table:t"), since=since)
    assert ac.lookup(db, "k") is None
    ac.store(db, "k", entry(b"new", "table:t"), since=ac.sequence())
    assert ac.lookup(db, "k") is not None


def test_a_commit_of_this_process_gives_answers_the_short_ttl_until_it_settles(
    watched: tuple[str, sqlite3.Connection], monkeypatch: pytest.MonkeyPatch
) -> None:
    """This process committed in the same poll: the change may be its own (dropped by tag already) or someone
    else's too; answers loaded before live at most SHORT_TTL_S, as SQLite always allowed, not dropped; so do
    answers stored for SETTLE_S after (other per-process caches may still hold what was there before)."""
    db, other = watched
    ac.store(db, "old", entry(b"o", "table:t"), since=ac.sequence())
    sqlite_watch._before_commit(None)  # a connection of this process commits
    other.execute("INSERT INTO t VALUES (3)")
    time.sleep(sqlite_watch.POLL_S * 1.5)
    assert ac.lookup(db, "old") is not None, "not dropped at once"
    ac.store(db, "settling", entry(b"n", "table:t"), since=ac.sequence())
    _later(monkeypatch, ac.SHORT_TTL_S + 0.01)
    assert ac.lookup(db, "old") is None, "loaded before the change: the short TTL"
    assert ac.lookup(db, "settling") is None, "stored while the change settles: the short TTL"
    _later(monkeypatch, ac.SETTLE_S + 0.01)
    ac.store(db, "settled", entry(b"s", "table:t"), since=ac.sequence())
    _later(monkeypatch, ac.SETTLE_S + ac.SHORT_TTL_S * 3)
    assert ac.lookup(db, "settled") is not None, "stored once settled: lives long again"
    assert ac.lookup(db, "old") is None and ac.lookup(db, "settling") is None, "and the others stay gone"


def test_an_unreadable_file_falls_back_to_the_short_ttl(
    watched: tuple[str, sqlite3.Connection], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, _other = watched
    ac.store(db, "k", entry(b"v", "table:t"), since=ac.sequence())

    watch = sqlite_watch.get(db)
    assert watch is not None
    watch.close()
    watch.path = str(Path(db.split("///", 1)[1]).parent / "gone" / "watched.db")  # cannot be opened
    _later(monkeypatch, ac.SHORT_TTL_S * 2)
    assert ac.lookup(db, "k") is None and not watch.healthy
    ac.store(db, "k", entry(b"v", "table:t"), since=ac.sequence())
    assert ac.lookup(db, "k") is not None
    _later(monkeypatch, ac.SHORT_TTL_S * 3.01)
    assert ac.lookup(db, "k") is None, "stored while the file could not be asked: the short TTL"


def test_answers_stored_together_expire_spread_out(monkeypatch: pytest.MonkeyPatch) -> None:
    db = "sqlite+aiosqlite:///answer-cache-spread"  # not watched: the short TTL
    since = ac.sequence()
    for i in range(200):
        ac.store(db, ("spread", i), entry(b"s", f"s:{i}"), since=since)
    _later(monkeypatch, ac.SHORT_TTL_S * (1 - ac.LIFE_SPREAD / 2))
    alive = sum(ac.lookup(db, ("spread", i)) is not None for i in range(200))
    assert 40 < alive < 160, alive
    _later(monkeypatch, ac.SHORT_TTL_S)
    assert all(ac.lookup(db, ("spread", i)) is None for i in range(200)), "never beyond the TTL"
    ac.clear(db)
