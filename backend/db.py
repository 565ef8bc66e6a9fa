"""Database engine and sessions for SQLite (embedded default) and PostgreSQL.

SQLite is made safe for a concurrent web service: WAL, a busy timeout, foreign keys on, and every
transaction opened with ``BEGIN IMMEDIATE`` so two writers queue for the lock instead of failing with
"database is locked" when a read transaction tries to upgrade to a write.
"""

from pathlib import Path
from typing import Any, TypeVar

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from sqlalchemy import event
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
    return create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
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


def detached(row: _Row) -> _Row:
    """A copy of a row that no session knows: what a cache keeps must not be expired or changed by a later
    rollback or refresh of the session that read it (read-only use)."""
    return type(row).model_validate(row.model_dump())


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def sqlalchemy_plugin(engine: AsyncEngine) -> SQLAlchemyPlugin:
    """advanced-alchemy's plugin: provides ``db_session`` (a SQLModel AsyncSession) to handlers."""
    config = SQLAlchemyAsyncConfig(
        engine_instance=engine,
        metadata=SQLModel.metadata,
        # Our own maker, so sessions are SQLModel's (``session.exec``) on both the async and sync side.
        session_maker=session_factory(engine),
        session_dependency_key="db_session",
        before_send_handler="autocommit",
        create_all=False,  # Alembic migrations are the only way the schema changes
    )
    return SQLAlchemyPlugin(config=config)
