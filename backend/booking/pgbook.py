"""A booking's writes on PostgreSQL in one round trip: the ``hoso_book`` function (migration 0003).

``services.book`` validates everything first (windows, capacity, fees: from caches when warm), then calls
this once. Outside a transaction the call runs on an autocommit connection, so it is the whole transaction
(no BEGIN, no COMMIT); when the request already opened one (a staff booking creating the citizen, say), it
runs inside it. SQLite takes the statement-by-statement path in ``services.book``, whose rules it mirrors.
"""

import enum
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Enum as SAEnum
from sqlalchemy import Integer, String, Table, bindparam, text
from sqlalchemy.exc import DBAPIError
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.booking import ledger_cache
from backend.booking.windows import Window
from schemas.booking import Appointment, AppointmentEvent, IdempotencyRecord, SlotCapacity
from schemas.notifications import Notification

WINDOW_FULL = "HB409"  # the SQLSTATE hoso_book raises when the window has no room left

_LEDGER = SlotCapacity.__table__  # type: ignore[attr-defined]
_KEYS = IdempotencyRecord.__table__  # type: ignore[attr-defined]
_CALL = text(
    """
    SELECT o_outcome, o_appointment, o_hash FROM hoso_book(
        :caller, :key, :hash, :office, :start, :end, :cap, :cost, :now,
        CAST(:appointment AS jsonb), CAST(:event AS jsonb), CAST(:notifications AS jsonb),
        CAST(:extra AS jsonb))
    """
).bindparams(
    bindparam("caller", type_=_KEYS.c.caller_id.type),
    bindparam("key", type_=String()),
    bindparam("hash", type_=String()),
    bindparam("office", type_=_LEDGER.c.post_office_id.type),
    bindparam("start", type_=_LEDGER.c.start.type),
    bindparam("end", type_=_LEDGER.c.end.type),
    bindparam("cap", type_=Integer()),
    bindparam("cost", type_=Integer()),
    bindparam("now", type_=_LEDGER.c.updated_at.type),
    bindparam("appointment", type_=String()),
    bindparam("event", type_=String()),
    bindparam("notifications", type_=String()),
    bindparam("extra", type_=String()),
)


@dataclass(frozen=True)
class Written:
    """What ``hoso_book`` did: ``created`` the appointment, or found the key taken by ``appointment_id``
    (a replay), whose request had ``request_hash``."""

    created: bool
    appointment_id: uuid.UUID
    request_hash: str


def supported(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def arguments(
    *,
    caller: uuid.UUID,
    key: str | None,
    request_hash: str,
    window: Window,
    capacity: int,
    cost: int,
    now: datetime,
    appointment: Mapping[str, Any],
    event: Mapping[str, Any],
    notifications: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """``hoso_book``'s arguments, the rows as JSON text."""
    return {
        "caller": caller,
        "key": key,
        "hash": request_hash,
        "office": appointment["post_office_id"],
        "start": window.start,
        "end": window.end,
        "cap": capacity,
        "cost": cost,
        "now": now,
        "appointment": row_json(Appointment, appointment),
        "event": row_json(AppointmentEvent, event),
        "notifications": "[" + ",".join(row_json(Notification, n) for n in notifications) + "]",
        "extra": "[]",
    }


def extra_json(extras: Sequence[tuple[Any, Sequence[Mapping[str, Any]]]]) -> str:
    """Rows other parts write with the booking (``services.book.on_book``) as ``hoso_book``'s ``p_extra``:
    ``[{"table": name, "rows": [...]}, ...]`` in insertion order (migration 0024 lists the tables it takes)."""
    items = [
        '{"table":'
        + _ENCODER.encode(model.__tablename__).decode()
        + ',"rows":['
        + ",".join(row_json(model, row) for row in rows)
        + "]}"
        for model, rows in extras
        if rows
    ]
    return "[" + ",".join(items) + "]"


def item_json(args: Mapping[str, Any]) -> bytes:
    """``arguments`` as one JSON object, an item of ``hoso_book_many`` (``pgbatch.py``)."""
    raw = {"appointment", "event", "notifications", "extra"}
    return _ENCODER.encode({k: msgspec.Raw(v.encode()) if k in raw else v for k, v in args.items()})


async def write(session: AsyncSession, args: Mapping[str, Any]) -> Written | None:
    """Claim the key, take the window's minutes and write the rows (``arguments``), all or nothing, in the
    session's transaction if it has one, else as a transaction of its own. None: the window is full
    (nothing written, the key left free)."""
    ledger_cache.touched(session, args["office"])
    if session.in_transaction():
        conn = await session.connection()
    else:
        conn = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    try:
        row = (await conn.execute(_CALL, dict(args))).one()
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == WINDOW_FULL:
            return None
        raise
    return Written(row.o_outcome == "created", row.o_appointment, row.o_hash)


# --- rows as JSON for jsonb_populate_record ------------------------------------------------------------------


def row_json(model: Any, row: Mapping[str, Any]) -> str:
    """A ``row_values`` row as the JSON object ``jsonb_populate_record`` reads with the table's row type:
    instants in ISO 8601 with their offset, ids as text, database ENUM columns by member name (what
    SQLAlchemy's ``Enum`` stores), JSON columns as nested values. msgspec, because the standard library's
    encoder with a ``default`` hook cost ~40 µs a booking."""
    enums, instants = _columns(model.__table__)
    if enums:
        row = dict(row)
        for name in enums:
            value = row.get(name)
            if isinstance(value, enum.Enum):
                row[name] = value.name
    for name in instants:  # PostgreSQL would read a naive instant in its own zone
        value = row.get(name)
        if value is not None and value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} in a {model.__name__} row")
    return _ENCODER.encode(row).decode()


_ENCODER = msgspec.json.Encoder(decimal_format="string")
_COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}


def _python_type(sa_type: Any) -> Any:
    try:
        return sa_type.python_type
    except NotImplementedError:  # a JSON or custom type without one: not an instant
        return None


def _columns(table: Table) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The table's database ENUM columns and its date-time columns."""
    found = _COLUMNS.get(table.name)
    if found is None:
        enums = tuple(c.name for c in table.columns if isinstance(c.type, SAEnum))
        instants = tuple(c.name for c in table.columns if _python_type(c.type) is datetime)
        found = _COLUMNS[table.name] = (enums, instants)
    return found
