"""Column types and helpers every table shares.

Times are stored in UTC (timezone-aware on both SQLite and PostgreSQL through
advanced-alchemy's ``DateTimeUTC``) and shown in Asia/Ho_Chi_Minh.
"""

import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from advanced_alchemy.types import DateTimeUTC, JsonB
from pydantic_core import PydanticUndefined
from sqlmodel import Field, SQLModel

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def to_vn(value: datetime) -> datetime:
    """An aware instant shown in Vietnam time (naive values are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(VN_TZ)


def utc_field(*, nullable: bool = False, index: bool = False, default_now: bool = False) -> Any:
    """A timezone-aware UTC timestamp column."""
    if default_now:
        return Field(
            default_factory=utcnow, sa_type=DateTimeUTC(timezone=True), nullable=nullable, index=index
        )
    return Field(default=None, sa_type=DateTimeUTC(timezone=True), nullable=nullable, index=index)


def json_field(*, default_factory: Any = dict, nullable: bool = False) -> Any:
    """A JSON column (JSONB on PostgreSQL, JSON text elsewhere)."""
    return Field(default_factory=default_factory, sa_type=JsonB, nullable=nullable)


_FIELDS: dict[type[SQLModel], tuple[tuple[str, Any, Any], ...]] = {}
_NAMES: dict[type[SQLModel], frozenset[str]] = {}


def row_values(model: type[SQLModel], **values: Any) -> dict[str, Any]:
    """A table model's row as column values for a Core INSERT: ``values`` plus each other field's default
    (or default factory), with no model instance built. For rows written on the hottest paths and never read
    back through the session: building a table model validates and instruments every field, 0.2-0.4 ms a
    row. The caller passes values of the right types (what the model would have validated)."""
    fields = _FIELDS.get(model)
    if fields is None:
        fields = _FIELDS[model] = tuple(
            (name, f.default_factory, f.default) for name, f in model.model_fields.items()
        )
        _NAMES[model] = frozenset(model.model_fields)
    unknown = values.keys() - _NAMES[model]
    if unknown:
        raise TypeError(f"{model.__name__} has no field {sorted(unknown)}")
    row: dict[str, Any] = {}
    for name, factory, default in fields:
        if name in values:
            row[name] = values[name]
        elif factory is not None:
            row[name] = factory()  # type: ignore[call-arg]
        elif default is not PydanticUndefined:
            row[name] = default
    return row
