"""Column types and helpers every table shares.

Times are stored in UTC (timezone-aware on both SQLite and PostgreSQL through
advanced-alchemy's ``DateTimeUTC``) and shown in Asia/Ho_Chi_Minh.
"""

import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlmodel import Field

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
