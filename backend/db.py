"""Database engine and sessions for SQLite (embedded default) and PostgreSQL.

SQLite is made safe for a concurrent web service: WAL, a busy timeout, foreign keys on, and every
transaction opened with ``BEGIN IMMEDIATE`` so two writers queue for the lock instead of failing with
"database is locked" when a read transaction tries to upgrade to a write.
"""

import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from advanced_alchemy.extensions.litestar import (
    SQLAlchemyAsyncConfig,
    SQLAlchemyPlugin,
    async_autocommit_handler_maker,
)
from litestar.constants import HTTP_DISCONNECT, HTTP_RESPONSE_START, WEBSOCKET_CLOSE, WEBSOCKET_DISCONNECT
from litestar.datastructures import State
from litestar.types import Message, Scope
from sqlalchemy import Engine, event
from sqlalchemy.ext import asyncio as sa_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

import schemas.tables  # noqa: F401  (registers every table on SQLModel.metadata)


def ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    if url.startswith("sqlite"):
        ensure_sqlite_dir(url)
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 60})
        _sqlite_pragmas(engine)
        return engine
    # A fixed pool, no overflow: an overflow connection is closed when it comes back, so under sustained load
    # every request beyond pool_size paid a new connection (asyncpg's type introspection included). No
    # pre-ping either (a round trip on every checkout): a connection found dead raises a disconnect error,
    # SQLAlchemy drops the pool's connections, and the request answers 503 (``backend.lib.problems``).
    # SQLAlchemy's own AsyncAdaptedQueuePool (issue 18). At the national booking peak of bench/booking.py (25/s)
    # and 2x and 5x it (open loop, bench.booking --rates 25,50,125, 2 API processes, every checkout timed) 7 of
    # 1,950 checkouts waited over 5 ms, none over 50 ms, mean 0.09 ms, on a 2-core host at load 10-13: waiters
    # are too rare for the order they are served in (why an arrival-order pool once replaced this) to matter.
    return create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=30,
        pool_recycle=1800,
        pool_use_lifo=True,
    )


def _sqlite_pragmas(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


_Row = TypeVar("_Row", bound=SQLModel)
_DB_KEYS: "weakref.WeakKeyDictionary[Any, str]" = weakref.WeakKeyDictionary()


def engine_key(engine: Engine) -> str:
    """The engine's database as a string (password masked), for per-database cache keys. Rendering a URL
    costs microseconds that the hottest requests pay several times, so it is remembered per engine."""
    key = _DB_KEYS.get(engine)
    if key is None:
        key = _DB_KEYS[engine] = str(engine.url)
    return key


def db_key(session: AsyncSession) -> str:
    """``engine_key`` of the session's database."""
    return engine_key(session.get_bind().engine)


def detached(row: _Row) -> _Row:
    """A copy of a row that no session knows: what a cache keeps must not be expired or changed by a later
    rollback or refresh of the session that read it (read-only use)."""
    # Enum fields stored in plain string columns load as str, which the dump would warn about on every call;
    # model_validate turns them back into the enum, so the copy is the better-typed of the two.
    return type(row).model_validate(row.model_dump(warnings=False))


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


# The ASGI messages after which a request's session is finished (advanced-alchemy closes it on the same ones).
_SESSION_ENDS = frozenset({HTTP_RESPONSE_START, HTTP_DISCONNECT, WEBSOCKET_DISCONNECT, WEBSOCKET_CLOSE})


class _SessionConfig(SQLAlchemyAsyncConfig):
    """advanced-alchemy's config, which also notes each request's session in the request's own state
    (``scope["state"]``, what Litestar's ``request.state`` reads): the before-send hook then knows whether a
    session was opened at all without asking advanced-alchemy's private scope namespace."""

    def provide_session(self, state: State, scope: Scope) -> sa_asyncio.AsyncSession:
        session = super().provide_session(state, scope)
        scope.setdefault("state", {})[self.session_scope_key] = session  # type: ignore[misc]
        return session


def _opened_session(scope: Scope, key: str, *, forget: bool) -> AsyncSession | None:
    request_state: dict[str, Any] = scope.get("state") or {}  # type: ignore[assignment]
    session: AsyncSession | None = request_state.pop(key, None) if forget else request_state.get(key)
    return session


def finish_session_handler(scope_key: str) -> Callable[[Message, Scope], Awaitable[None]]:
    """advanced-alchemy's autocommit (commit on 2xx, else roll back; then close), skipped for a session with
    nothing to commit or release: never used (answers from caches) or already committed by the service. Its
    commit and close cost two greenlet round trips on every request, a tenth of a cached slot listing.
    ``scope_key`` must be the config's own: advanced-alchemy makes it unique per config in a process."""
    autocommit = async_autocommit_handler_maker(session_scope_key=scope_key)

    async def finish_session(message: Message, scope: Scope) -> None:
        ends = message["type"] in _SESSION_ENDS
        session = _opened_session(scope, scope_key, forget=ends)
        if session is None:
            return
        if session.in_transaction() or session.new or session.dirty or session.deleted:
            await autocommit(message, scope)
        # else: no transaction holds a connection, so the idle session is simply dropped with the request

    return finish_session


def sqlalchemy_plugin(engine: AsyncEngine) -> SQLAlchemyPlugin:
    """advanced-alchemy's plugin: provides ``db_session`` (a SQLModel AsyncSession) to handlers."""
    config = _SessionConfig(
        engine_instance=engine,
        metadata=SQLModel.metadata,
        # Our own maker, so sessions are SQLModel's (``session.exec``) on both the async and sync side.
        session_maker=session_factory(engine),
        session_dependency_key="db_session",
        before_send_handler="autocommit",  # replaced below, once the config has its scope key
        create_all=False,  # Alembic migrations are the only way the schema changes
    )
    config.before_send_handler = finish_session_handler(config.session_scope_key)
    return SQLAlchemyPlugin(config=config)
