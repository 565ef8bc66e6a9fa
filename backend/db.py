"""Database engine and sessions for SQLite (embedded default) and PostgreSQL.

SQLite is made safe for a concurrent web service: WAL, a busy timeout, foreign keys on, and every
transaction opened with ``BEGIN IMMEDIATE`` so two writers queue for the lock instead of failing with
"database is locked" when a read transaction tries to upgrade to a write.
"""

import logging
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar, cast

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar import Request, Response
from litestar.constants import (
    HTTP_DISCONNECT,
    HTTP_RESPONSE_BODY,
    HTTP_RESPONSE_START,
    WEBSOCKET_CLOSE,
    WEBSOCKET_DISCONNECT,
)
from litestar.datastructures import State
from litestar.types import HTTPResponseBodyEvent, HTTPResponseStartEvent, Message, Scope
from sqlalchemy import Engine, event
from sqlalchemy.ext import asyncio as sa_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

import schemas.tables  # noqa: F401  (registers every table on SQLModel.metadata)

log = logging.getLogger("backend.db")


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


# What a refused commit's problem keeps of the original answer's headers: what lets a browser read it (CORS) and
# how it varies. The rest described an answer that was not stored (ETag, Cache-Control, Location, cookies...).
_KEPT_HEADERS = (b"access-control-", b"vary")


# What a refused commit answers instead: the app's problem for the exception (``backend.lib.commit_problem``,
# given by the app: the database layer sits below the problems module).
RefusedAnswer = Callable[[Scope, Exception], Response[Any]]


def _bare_503(_scope: Scope, _exc: Exception) -> Response[Any]:
    """The answer when no ``RefusedAnswer`` is given (a plugin built outside the app): still not a 2xx."""
    return Response(content=b"", status_code=503, headers={"Retry-After": "1"})


def _answer_problem(
    start: HTTPResponseStartEvent, scope: Scope, exc: Exception, refused: RefusedAnswer
) -> bytes:
    """Turns the start message into the problem's (status, headers); returns the problem's body."""
    asgi = refused(scope, exc).to_asgi_response(app=None, request=Request(scope))
    kept = [(k, v) for k, v in start["headers"] if k.lower().startswith(_KEPT_HEADERS)]
    start["status"] = asgi.status_code
    start["headers"] = [*asgi.encode_headers(), *kept]
    return b"" if scope.get("method") == "HEAD" else asgi.body


async def _commit_or_refuse(
    session: AsyncSession, start: HTTPResponseStartEvent, scope: Scope, refused: RefusedAnswer
) -> bytes | None:
    """Commits a 2xx's session, else rolls it back; the problem's body when the commit failed."""
    if not 200 <= start["status"] < 300:
        await _quietly("rollback", session.rollback())
        return None
    try:
        await session.commit()
    except Exception as exc:
        await _quietly("rollback", session.rollback())
        log.warning(
            "commit failed on %s %s (%s): answering a problem instead of %s",
            scope.get("method"), scope.get("path"), type(exc).__name__, start["status"],
        )  # fmt: skip
        return _answer_problem(start, scope, exc, refused)
    return None


async def _quietly(what: str, step: Awaitable[None]) -> None:
    """A rollback or close after a failure: the connection may be lost already (the pool then drops it), and
    nothing is left to keep, so its own failure changes no answer."""
    try:
        await step
    except Exception:
        log.debug("session %s failed during cleanup", what, exc_info=True)


def finish_session_handler(
    scope_key: str, refused: RefusedAnswer | None = None
) -> Callable[[Message, Scope], Awaitable[None]]:
    """The request's session finished before its answer goes out: at ``http.response.start`` a 2xx commits,
    any other status rolls back; the session closes at the messages that end a request (``_SESSION_ENDS``).

    Our own because advanced-alchemy's (``autocommit_handler_maker``, 1.12) catches a failed commit, logs it at
    DEBUG ("Session commit/rollback failed during cleanup") and lets the 2xx and its body go out: an answer of
    success for a change, audit row or event that was never stored. A before-send hook cannot raise instead
    (Litestar: "Exception caught after response started"), but it may change the message it is given: a commit
    that fails turns the start message into the problem ``refused`` gives for that error
    (``backend.lib.commit_problem``; logged at WARNING) and the first body message into the problem's body, with
    ``more_body`` false. A streaming answer then ends there: its next chunk is refused by raising, which stops
    the stream (Litestar logs it as an error after the response started); the client has its complete problem
    already. No stream commits at its start today: the desk feed (SSE) closes its session before it streams.
    A HEAD answer keeps its empty body.

    A session with nothing to commit or release (never used: answers from caches; or already committed by the
    service) is skipped: a commit and close cost two greenlet round trips on every request, a tenth of a
    cached slot listing. ``scope_key`` must be the config's own: advanced-alchemy makes it unique per config
    in a process."""
    refused_key = f"{scope_key}_refused_commit"
    answer = refused or _bare_503

    async def finish_session(message: Message, scope: Scope) -> None:
        kind = message["type"]
        if kind == HTTP_RESPONSE_BODY:
            # No session outlives the start message; only a refused commit's problem is left to send.
            request_state: dict[str, Any] = scope.get("state") or {}  # type: ignore[assignment]
            if refused_key in request_state:
                _send_problem_body(cast(HTTPResponseBodyEvent, message), request_state, refused_key)
            return
        ends = kind in _SESSION_ENDS
        session = _opened_session(scope, scope_key, forget=ends)
        if session is None:
            return
        if not (session.in_transaction() or session.new or session.dirty or session.deleted):
            return  # no transaction holds a connection: the idle session is simply dropped with the request
        try:
            if kind == HTTP_RESPONSE_START:
                problem_body = await _commit_or_refuse(
                    session, cast(HTTPResponseStartEvent, message), scope, answer
                )
                if problem_body is not None:
                    scope["state"][refused_key] = problem_body  # type: ignore[typeddict-item]
        finally:
            if ends:
                await _quietly("close", session.close())

    return finish_session


def _send_problem_body(message: HTTPResponseBodyEvent, request_state: dict[str, Any], key: str) -> None:
    """The first body message after a refused commit carries the problem; any later one (a stream's next
    chunk) is refused, which ends the stream: the answer was complete already."""
    body: bytes | None = request_state[key]
    if body is None:
        raise RuntimeError("stream ended: its commit was refused and the problem already sent")
    request_state[key] = None
    message["body"] = body
    message["more_body"] = False


def sqlalchemy_plugin(engine: AsyncEngine, refused: RefusedAnswer | None = None) -> SQLAlchemyPlugin:
    """advanced-alchemy's plugin: provides ``db_session`` (a SQLModel AsyncSession) to handlers; ``refused``
    is the answer of a request whose commit fails (``finish_session_handler``)."""
    config = _SessionConfig(
        engine_instance=engine,
        metadata=SQLModel.metadata,
        # Our own maker, so sessions are SQLModel's (``session.exec``) on both the async and sync side.
        session_maker=session_factory(engine),
        session_dependency_key="db_session",
        before_send_handler="autocommit",  # replaced below, once the config has its scope key
        create_all=False,  # Alembic migrations are the only way the schema changes
    )
    config.before_send_handler = finish_session_handler(config.session_scope_key, refused)
    return SQLAlchemyPlugin(config=config)
