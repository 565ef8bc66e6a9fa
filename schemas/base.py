"""Column types and helpers every table shares.

Times are stored in UTC (timezone-aware on both SQLite and PostgreSQL through
advanced-alchemy's ``DateTimeUTC``) and shown in Asia/Ho_Chi_Minh.
"""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from advanced_alchemy.types import DateTimeUTC, JsonB
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError, PydanticUndefined
from sqlmodel import Field, SQLModel

# Re-exported for older imports; Vietnam time lives in schemas.vntime (one rule for naive values there).
from schemas.vntime import VN_TZ as VN_TZ
from schemas.vntime import to_vn as to_vn


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


NAIVE_TIME = (
    "Thời điểm phải có múi giờ, ví dụ 2026-12-05T08:30:00+07:00 / "
    "The time must carry a UTC offset, e.g. 2026-12-05T08:30:00+07:00"
)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise PydanticCustomError("naive_time", NAIVE_TIME)
    return value


# Every instant the API takes: a time without an offset is refused (422 ``naive_time``, naming the field), not
# guessed at, and never compared with aware ones (that was a 500: issue 17).
Instant = Annotated[datetime, AfterValidator(_aware)]


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


_Shape = tuple[dict[str, Any], tuple[tuple[str, Any], ...], frozenset[str]]
_SHAPES: dict[type[SQLModel], _Shape] = {}


def _shape(model: type[SQLModel]) -> _Shape:
    """The model's fixed defaults, its default factories and its field names, worked out once."""
    found = _SHAPES.get(model)
    if found is None:
        fixed = {n: f.default for n, f in model.model_fields.items() if f.default is not PydanticUndefined}
        factories = tuple(
            (n, f.default_factory) for n, f in model.model_fields.items() if f.default_factory is not None
        )
        found = _SHAPES[model] = (fixed, factories, frozenset(model.model_fields))
    return found


def row_values(model: type[SQLModel], **values: Any) -> dict[str, Any]:
    """A table model's row as column values for a Core INSERT: ``values`` plus each other field's default
    (or default factory), with no model instance built. For rows written on the hottest paths and never read
    back through the session: building a table model validates and instruments every field, 0.2-0.4 ms a
    row. The caller passes values of the right types (what the model would have validated)."""
    fixed, factories, names = _shape(model)
    if not values.keys() <= names:
        raise TypeError(f"{model.__name__} has no field {sorted(values.keys() - names)}")
    row = fixed.copy()
    for name, factory in factories:
        if name not in values:
            row[name] = factory()
    row.update(values)
    return row
