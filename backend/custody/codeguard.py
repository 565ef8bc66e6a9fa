"""Attempt limits on the citizen's handover code and on recipient checks (issue 17).

The six-digit handover code (and a national-id recipient check) could otherwise be guessed: one offline batch
of 200 pickups tried 200 codes in 0.4 s. Each check first reserves one attempt on two counters at once, by a
conditional ``INSERT ... ON CONFLICT DO UPDATE SET attempts = attempts + 1 WHERE attempts < max RETURNING``
(``attempt_counter``, one statement each, SQLite and PostgreSQL alike):

* the citizen's, per Vietnam day (``HANDOVER_CODE_MAX_FAILURES``, 5): beyond it the code is locked until the
  citizen's app shows the next day's code;
* the staff member's, per hour (``HANDOVER_STAFF_MAX_FAILURES_PER_HOUR``, 10): beyond it they are stopped.

Then the answer is compared: a right one gives its attempt back, a wrong one keeps it and is written to
``code_failure`` (who, when, where), as is one refused unchecked because a counter was full. The wrong answer
that fills a counter also notifies the dispatchers and desk clerks of the guesser's organisation. Concurrent
requests queue on the counter rows, so no batch or burst compares more answers than the limits allow.

Wrong answers must outlive the refusal, which rolls back the dossier's transaction (or the batch item's
savepoint). On PostgreSQL the reservation and the failure are written in their own short transaction, on a
small connection pool of their own (the request's connection stays busy; borrowing a second one from the
request pool could deadlock it). On SQLite (one process, every transaction ``BEGIN IMMEDIATE``, so a second
connection would wait for the request's own lock) they are written in the request's transaction, and the
callers wrap the guarded work in ``guarded()`` (or call ``settle()`` after their own savepoint rolled back),
which writes them again in the still-open outer transaction, under the same lock, and commits.

Days are the server's, not the device's: a forged ``client_at`` cannot open a new day's attempts.
"""

import uuid
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal
from backend.lib.problems import Problem
from backend.settings import get_settings
from notifications.outbox import notification_row
from schemas.accounts import StaffUser
from schemas.attempts import AttemptCounter, CodeFailure
from schemas.base import utcnow
from schemas.notifications import Notification
from schemas.vntime import vn_date, vn_day_start

COUNTERS = AttemptCounter.__table__  # type: ignore[attr-defined]
FAILURES = CodeFailure.__table__  # type: ignore[attr-defined]
NOTIFICATIONS = Notification.__table__  # type: ignore[attr-defined]
STAFF = StaffUser.__table__  # type: ignore[attr-defined]
# A wrong answer that fills a counter alerts the office's dispatchers and desk clerks (in-app inbox and push).
ALERTS = {"citizen_day": "security.citizen_code_locked", "staff_hour": "security.staff_stopped"}
ALERTED_ROLES = frozenset({"dispatcher", "desk"})
# Guard connections per process and database (PostgreSQL), besides DATABASE_POOL_SIZE: each check holds one
# for two or three short statements.
GUARD_CONNECTIONS = 2


@dataclass(frozen=True)
class Attempt:
    """One answer to check: for what (``pickup`` or ``delivery``, ``code`` or ``national_id``), by whom, for
    which citizen (and dossier), from where (``place``/``lat``/``lon``/``client_at`` of the request)."""

    purpose: str
    method: str
    actor: Principal
    citizen_id: uuid.UUID
    dossier_id: uuid.UUID | None = None
    where: Any = None


@dataclass(frozen=True)
class _Key:
    scope: str
    subject: uuid.UUID
    window: str
    limit: int
    unlocks_at: datetime


class CodeRefused(Problem):
    """A wrong answer (422) or one refused unchecked (429). ``pending`` is what ``settle`` must write again once
    the caller's savepoint has rolled back (SQLite; empty on PostgreSQL, where it is written already)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: str,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        keys: tuple[_Key, ...] = (),
        failure: dict[str, Any] | None = None,
        alerts: tuple[dict[str, Any], ...] = (),
    ) -> None:
        super().__init__(status, detail, code=code, headers=headers, extra=extra)
        self.pending_keys = keys
        self.pending_failure = failure
        self.pending_alerts = alerts


def _keys(attempt: Attempt, now: datetime) -> tuple[_Key, ...]:
    settings = get_settings()
    today = vn_date(now)
    next_midnight = vn_day_start(today + timedelta(days=1))
    hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return (
        _Key(
            "citizen_day",
            attempt.citizen_id,
            today.isoformat(),
            settings.handover_code_max_failures,
            next_midnight,
        ),
        _Key(
            "staff_hour",
            attempt.actor.id,
            hour.strftime("%Y-%m-%dT%H"),
            settings.handover_staff_max_failures_per_hour,
            hour + timedelta(hours=1),
        ),
    )


def _upsert(dialect: str, key: _Key, now: datetime, *, conditional: bool) -> Any:
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = make(COUNTERS).values(
        scope=key.scope, subject=key.subject, window=key.window, attempts=1, updated_at=now
    )
    return stmt.on_conflict_do_update(
        index_elements=["scope", "subject", "window"],
        set_={"attempts": COUNTERS.c.attempts + 1, "updated_at": now},
        where=(COUNTERS.c.attempts < key.limit) if conditional else None,
    ).returning(COUNTERS.c.attempts)


def _refund(key: _Key, now: datetime) -> Any:
    return (
        update(COUNTERS)
        .where(
            COUNTERS.c.scope == key.scope,
            COUNTERS.c.subject == key.subject,
            COUNTERS.c.window == key.window,
            COUNTERS.c.attempts > 0,
        )
        .values(attempts=COUNTERS.c.attempts - 1, updated_at=now)
    )


def _failure(attempt: Attempt, outcome: str, now: datetime) -> dict[str, Any]:
    where = attempt.where
    return {
        "id": uuid.uuid4(),
        "at": now,
        "client_at": getattr(where, "client_at", None),
        "purpose": attempt.purpose,
        "method": attempt.method,
        "outcome": outcome,
        "actor_id": attempt.actor.id,
        "org_id": attempt.actor.org_id,
        "citizen_id": attempt.citizen_id,
        "dossier_id": attempt.dossier_id,
        "place": getattr(where, "place", None),
        "lat": getattr(where, "lat", None),
        "lon": getattr(where, "lon", None),
    }


def _locked(key: _Key, now: datetime, **pending: Any) -> CodeRefused:
    retry = str(max(1, int((key.unlocks_at - now).total_seconds())))
    if key.scope == "citizen_day":
        return CodeRefused(
            429,
            "Mã của công dân đã bị khóa đến hết ngày do nhập sai nhiều lần / The citizen's code is locked for "
            "today after too many wrong answers",
            code="handover_code_locked",
            headers={"Retry-After": retry},
            extra={"retry_after": int(retry)},
            **pending,
        )
    return CodeRefused(
        429,
        "Bạn đã nhập sai mã quá nhiều lần, vui lòng thử lại sau / Too many wrong codes, retry later",
        code="too_many_wrong_codes",
        headers={"Retry-After": retry},
        extra={"retry_after": int(retry)},
        **pending,
    )


# --- PostgreSQL: the guard's own short transactions ----------------------------------------------------------

_GUARDS: "weakref.WeakKeyDictionary[Engine, AsyncEngine]" = weakref.WeakKeyDictionary()


def _guard_engine(session: AsyncSession) -> AsyncEngine:
    """A pool of GUARD_CONNECTIONS apart from the request pool (same database), closed with the app."""
    sync_engine = session.get_bind().engine
    guard = _GUARDS.get(sync_engine)
    if guard is None:
        guard = _GUARDS[sync_engine] = create_async_engine(
            sync_engine.url, pool_size=GUARD_CONNECTIONS, max_overflow=0, pool_timeout=30, pool_recycle=1800
        )
    return guard


async def close(engine: AsyncEngine) -> None:
    """Close the guard connections of ``engine``'s database (a later check opens new ones)."""
    guard = _GUARDS.pop(engine.sync_engine, None)
    if guard is not None:
        await guard.dispose()


@asynccontextmanager
async def lifespan_hook(app: Any) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await close(app.state.engine)


async def _reserve(
    conn: AsyncConnection | AsyncSession, dialect: str, keys: tuple[_Key, ...], now: datetime
) -> tuple[_Key | None, tuple[_Key, ...]]:
    """Take one attempt on every counter: (the first full one or None, the counters this attempt filled). The
    caller rolls back on a full one."""
    filled: list[_Key] = []
    for key in keys:
        taken = (await conn.execute(_upsert(dialect, key, now, conditional=True))).first()
        if taken is None:
            return key, ()
        if taken[0] >= key.limit:
            filled.append(key)
    return None, tuple(filled)


async def _alerts(
    conn: AsyncConnection | AsyncSession, attempt: Attempt, filled: tuple[_Key, ...]
) -> tuple[dict[str, Any], ...]:
    """Notifications for the dispatchers and desk clerks of the guesser's organisation when a wrong answer
    filled a counter (once per counter and window: it cannot fill twice)."""
    if not filled or attempt.actor.org_id is None:
        return ()
    staff = (
        await conn.execute(
            select(STAFF.c.id, STAFF.c.username, STAFF.c.role).where(
                STAFF.c.organisation_id == attempt.actor.org_id, STAFF.c.active.is_(True)
            )
        )
    ).all()
    name = next((row.username for row in staff if row.id == attempt.actor.id), str(attempt.actor.id))
    watchers = [row.id for row in staff if row.id != attempt.actor.id and str(row.role) in ALERTED_ROLES]
    return tuple(
        notification_row(
            recipient_kind="staff",
            recipient_id=watcher,
            template=ALERTS[key.scope],
            params={"count": key.limit, "staff": name},
            dedupe_key=f"{key.scope}:{key.subject}:{key.window}",
        )
        for key in filled
        for watcher in watchers
    )


def _insert_alerts(dialect: str, alerts: tuple[dict[str, Any], ...]) -> Any:
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    return make(NOTIFICATIONS).values(list(alerts)).on_conflict_do_nothing()


async def _check_postgresql(session: AsyncSession, attempt: Attempt, right: Callable[[], bool]) -> None:
    now = utcnow()
    keys = _keys(attempt, now)
    async with _guard_engine(session).connect() as conn:
        async with conn.begin() as tx:
            full, filled = await _reserve(conn, "postgresql", keys, now)
            if full is not None:
                await tx.rollback()
        if full is not None:
            async with conn.begin():
                await conn.execute(insert(FAILURES).values(**_failure(attempt, "locked", now)))
            raise _locked(full, now)
        ok = right()
        async with conn.begin():
            if ok:
                for key in keys:
                    await conn.execute(_refund(key, now))
            else:
                await conn.execute(insert(FAILURES).values(**_failure(attempt, "wrong", now)))
                alerts = await _alerts(conn, attempt, filled)
                if alerts:
                    await conn.execute(_insert_alerts("postgresql", alerts))
    if not ok:
        raise _wrong(attempt)


def _wrong(attempt: Attempt, **pending: Any) -> CodeRefused:
    if attempt.purpose == "pickup":
        return CodeRefused(
            422, "Mã xác nhận không đúng / wrong confirmation code", code="wrong_code", **pending
        )
    return CodeRefused(
        422,
        "Không xác minh được người nhận / the recipient could not be verified",
        code="recipient_check_failed",
        **pending,
    )


# --- SQLite: in the request's transaction, written again by settle() ---------------------------------------


async def _check_sqlite(session: AsyncSession, attempt: Attempt, right: Callable[[], bool]) -> None:
    now = utcnow()
    keys = _keys(attempt, now)
    nested = await session.begin_nested()
    full, filled = await _reserve(session, "sqlite", keys, now)
    if full is not None:
        await nested.rollback()
        raise _locked(full, now, failure=_failure(attempt, "locked", now))
    if right():
        for key in keys:
            await session.execute(_refund(key, now))
        await nested.commit()
        return
    alerts = await _alerts(session, attempt, filled)
    await nested.rollback()
    raise _wrong(attempt, keys=keys, failure=_failure(attempt, "wrong", now), alerts=alerts)


async def check(session: AsyncSession, attempt: Attempt, right: Callable[[], bool]) -> None:
    """Reserve an attempt, run ``right()`` (the comparison), give the attempt back if it was right; else raise
    ``CodeRefused`` (422 wrong, 429 locked). Call settle()/guarded() around it on SQLite (see the module)."""
    if session.get_bind().dialect.name == "postgresql":
        await _check_postgresql(session, attempt, right)
    else:
        await _check_sqlite(session, attempt, right)


async def settle(session: AsyncSession, exc: BaseException) -> None:
    """After the savepoint holding a refused check was rolled back: write its counters and its failure again
    in the enclosing transaction (SQLite; nothing to do on PostgreSQL or for other errors)."""
    if not isinstance(exc, CodeRefused):
        return
    now = utcnow()
    for key in exc.pending_keys:
        await session.execute(_upsert("sqlite", key, now, conditional=False))
    if exc.pending_failure is not None:
        await session.execute(insert(FAILURES).values(**exc.pending_failure))
    if exc.pending_alerts:
        await session.execute(_insert_alerts("sqlite", exc.pending_alerts))


@asynccontextmanager
async def guarded(session: AsyncSession) -> AsyncIterator[None]:
    """Run work that may check a code in a savepoint; on a refused code, roll the work back, keep the refusal
    (``settle``), commit, and re-raise. Work that commits itself ends the savepoint: nothing to undo then."""
    nested = await session.begin_nested()
    try:
        yield
    except CodeRefused as exc:
        if exc.pending_keys or exc.pending_failure:
            if nested.is_active:
                await nested.rollback()
            await settle(session, exc)
            await session.commit()
        raise
    if nested.is_active:
        await nested.commit()


__all__ = ["Attempt", "CodeRefused", "check", "guarded", "settle"]
