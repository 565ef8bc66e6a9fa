"""Other connections' commits to a SQLite file, learnt cheaply (``PRAGMA data_version``), for the answer cache.

SQLite has no NOTIFY, so ``backend.lib.answer_cache`` kept answers 1.5 s at most there (another process's
change had to show within that); every answer then expired and reloaded every 1.5 s whether anything changed or
not. ``PRAGMA data_version`` on a connection of its own changes whenever any *other* connection commits a change
to the file (https://sqlite.org/pragma.html#pragma_data_version): this process's pool, another process, the
sqlite3 shell. Asked at most every ``POLL_S`` (a few microseconds on a WAL database: it reads the shared
wal-index), it tells the cache whether anything at all changed since it last asked:

* ``SAME``: nothing committed: answers may live long (``answer_cache.WATCH_TTL_S``).
* ``FIRST``: the first answer, or the first since the file could not be asked: what changed before is unknown;
  every per-process cache of the database resets, as when PostgreSQL's listener connects.
* ``FOREIGN``: a change, and no connection of this process began a commit meanwhile: someone else wrote; the
  cache drops that database's answers at once (it cannot know which).
* ``AMBIGUOUS``: a change, but this process committed too (its own changes are already dropped by tag by
  ``backend.lib.answer_hooks``): answers loaded before live at most ``SHORT_TTL_S``, the bound SQLite always
  had, instead of being dropped on each of this process's writes.
* ``UNKNOWN``: the file could not be asked (locked, gone): answers live ``SHORT_TTL_S`` until it can.

Commits of this process are counted when they begin (the ``Engine`` ``commit`` event, before the database
commits: sessions and plain connections alike, read-only ones too), so a change whose commit began before one
poll and ended after it counts as foreign: a reset, never an answer kept too long.
"""

import sqlite3
from enum import Enum
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Engine

POLL_S = 0.02  # another process's change shows within this (plus a request already being answered)
MAX_WATCHES = 32  # databases watched per process (tests open many files; production one)


class Change(Enum):
    SAME = "same"
    FIRST = "first"
    FOREIGN = "foreign"
    AMBIGUOUS = "ambiguous"
    UNKNOWN = "unknown"


_commits = 0  # commits this process began, on any engine


def _before_commit(_conn: Any) -> None:
    global _commits
    _commits += 1


def install() -> None:
    """Count this process's commits (idempotent; ``answer_cache.install`` calls it)."""
    if not event.contains(Engine, "commit", _before_commit):
        event.listen(Engine, "commit", _before_commit)


class Watch:
    """One SQLite file's ``data_version``, asked at most every ``POLL_S``."""

    __slots__ = ("path", "conn", "version", "commits", "checked", "state")

    def __init__(self, path: str) -> None:
        self.path = path
        self.conn: sqlite3.Connection | None = None
        self.version: int | None = None
        self.commits = _commits
        self.checked = float("-inf")
        self.state = Change.UNKNOWN  # until the first answer

    def _read(self) -> int:
        if self.conn is None:
            # timeout=0: never block the event loop behind a writer; a busy file is UNKNOWN for one poll.
            self.conn = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
        row = self.conn.execute("PRAGMA data_version").fetchone()
        return int(row[0])

    def poll(self, now: float) -> Change:
        """What happened since the last poll (``SAME`` without asking when polled under ``POLL_S`` ago)."""
        if now - self.checked < POLL_S:
            return Change.SAME  # whatever the last poll found was acted on then
        self.checked = now
        commits = _commits
        try:
            version = self._read()
        except sqlite3.Error:
            self.close()
            self.state = Change.UNKNOWN
            return self.state
        before, self.version = self.version, version
        ours, self.commits = commits != self.commits, commits
        if before is None:
            self.state = Change.FIRST
        elif version == before:
            self.state = Change.SAME
        else:
            self.state = Change.AMBIGUOUS if ours else Change.FOREIGN
        return self.state

    @property
    def healthy(self) -> bool:
        return self.state is not Change.UNKNOWN

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        self.version = None  # what changed while it could not be asked is unknown


_watches: dict[str, Watch] = {}


def path_of(url: URL) -> str | None:
    """The file of a SQLite URL, None for anything else (an in-memory database has no other connection)."""
    if not url.drivername.startswith("sqlite"):
        return None
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def watch(db: str, url: URL) -> Watch | None:
    """The watch of database ``db`` (``backend.db.engine_key``), made on first call; None unless a SQLite file."""
    found = _watches.get(db)
    if found is not None:
        return found
    path = path_of(url)
    if path is None:
        return None
    if len(_watches) >= MAX_WATCHES:
        oldest = next(iter(_watches))
        _watches.pop(oldest).close()
    found = _watches[db] = Watch(path)
    return found


def get(db: str) -> Watch | None:
    return _watches.get(db)
