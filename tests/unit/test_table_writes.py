"""The one engine hook for "this process committed a write of table X / a call of function Y"
(backend/lib/table_writes.py; the outbox wake and the inbox answer subscribe to it).

A SQLite file through a plain SQLAlchemy engine (the hook is on ``Engine`` and ``Pool``, sync and async alike).
Each callback looks, through a connection of its own, at what is committed when it is called: a callback run
before the database committed (at the ``commit`` event) would not see the row, and a woken dispatcher would find
nothing and sleep a poll.
"""

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, exc, text

from backend.lib import table_writes

# Names no other module uses: subscriptions are process-wide and stay.
TABLE, OTHER, FUNCTION = "tw_watched", "tw_watched_log", "tw_book"
_seen: list[tuple[str, int]] = []  # (which callback, rows of TABLE another connection saw when it ran)
_path: list[Path] = []


def _visible() -> int:
    with sqlite3.connect(_path[0]) as other:
        return int(other.execute("SELECT count(*) FROM tw_watched").fetchone()[0])


def _on_inserts() -> None:
    _seen.append(("inserts", _visible()))


def _on_writes() -> None:
    _seen.append(("writes", _visible()))


table_writes.on_commit(_on_inserts, inserts=(TABLE,), calls=(FUNCTION,))
table_writes.on_commit(_on_writes, writes=(TABLE,))


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    path = tmp_path / "tw.db"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE tw_watched (v INTEGER)")
        setup.execute("CREATE TABLE tw_watched_log (v INTEGER)")
    _path[:] = [path]
    _seen.clear()
    made = create_engine(f"sqlite:///{path}")

    @event.listens_for(made, "connect")
    def _function(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.create_function(FUNCTION, 1, lambda v: v)  # stands for hoso_book

    yield made
    made.dispose()


def test_a_commit_calls_each_subscriber_once_after_the_row_is_committed(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO tw_watched (v) VALUES (1)"))
        conn.execute(text("INSERT INTO tw_watched (v) VALUES (2)"))
        assert _seen == []  # nothing before the commit
    assert sorted(_seen) == [("inserts", 2), ("writes", 2)]


def test_an_update_calls_only_the_subscriber_of_every_write(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE tw_watched SET v = 3"))
        conn.execute(text("DELETE FROM tw_watched"))
    assert _seen == [("writes", 0)]


def test_a_rollback_calls_nobody(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("INSERT INTO tw_watched (v) VALUES (1)"))
        conn.rollback()
        conn.execute(text("INSERT INTO tw_watched_log (v) VALUES (1)"))  # a write of another table, committed
        conn.commit()
    assert _seen == []


def test_another_table_whose_name_begins_the_same_is_not_the_table(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO tw_watched_log (v) VALUES (1)"))
        conn.execute(text("SELECT * FROM tw_watched"))
    assert _seen == []


def test_a_function_call_counts_as_a_write(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("SELECT tw_book(1)"))
    assert _seen == [("inserts", 0)]


def test_a_connection_that_goes_on_after_its_commit_calls_them_before_its_next_transaction(
    engine: Engine,
) -> None:
    with engine.connect() as conn:
        conn.execute(text("INSERT INTO tw_watched (v) VALUES (1)"))
        conn.commit()
        conn.execute(text("SELECT 1"))
        assert sorted(_seen) == [("inserts", 1), ("writes", 1)]
        conn.rollback()
    assert len(_seen) == 2


def test_an_autocommit_statement_calls_them_at_once(engine: Engine) -> None:
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(text("INSERT INTO tw_watched (v) VALUES (1)"))
        assert sorted(_seen) == [("inserts", 1), ("writes", 1)]  # no commit event follows
    assert len(_seen) == 2


def test_a_lost_connections_rollback_does_not_raise(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("INSERT INTO tw_watched (v) VALUES (1)"))
        conn.invalidate()  # as SQLAlchemy does when the database went away mid-transaction
        with pytest.raises(exc.PendingRollbackError):
            _ = conn.info  # what the rollback hook must not read
        conn.rollback()
    assert _seen == []


def test_a_failing_subscriber_does_not_stop_the_others(engine: Engine) -> None:
    def broken() -> None:
        raise RuntimeError("subscriber bug")

    table_writes.on_commit(broken, inserts=(OTHER,))
    table_writes.on_commit(_on_writes, writes=(TABLE, OTHER))  # replaces its subscription, same callback
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO tw_watched_log (v) VALUES (1)"))
    finally:
        table_writes.on_commit(broken)  # hears nothing any more
        table_writes.on_commit(_on_writes, writes=(TABLE,))
    assert _seen == [("writes", 0)]
