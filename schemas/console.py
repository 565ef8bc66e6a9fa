"""What the console's dispatcher view reads that no domain answers on its own: the office's couriers today."""

import datetime as dt
import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from schemas.planning import StopKind

AT = {"examples": ["2026-12-05T09:14:03+07:00"]}


class CourierPosition(SQLModel):
    """The courier's last reported position today."""

    lat: float = Field(schema_extra={"examples": [10.4602]})
    lon: float = Field(schema_extra={"examples": [105.6329]})
    at: datetime = Field(schema_extra=AT)
    accuracy_m: float | None = Field(default=None, schema_extra={"examples": [12.0]})


class LateStop(SQLModel):
    """A stop still open that is expected after its window closes, or whose window has closed."""

    id: uuid.UUID
    seq: int = Field(schema_extra={"examples": [4]})
    kind: StopKind = Field(schema_extra={"examples": ["pickup"]})
    eta: datetime | None = Field(default=None, schema_extra={"examples": ["2026-12-05T10:20:00+07:00"]})
    window_end: datetime | None = Field(
        default=None, schema_extra={"examples": ["2026-12-05T10:00:00+07:00"]}
    )


class CourierToday(SQLModel):
    id: uuid.UUID
    username: str = Field(schema_extra={"examples": ["courier01"]})
    name: str = Field(schema_extra={"examples": ["Trần Văn Hùng"]})
    position: CourierPosition | None = None
    stops_total: int = Field(schema_extra={"examples": [12]})
    stops_done: int = Field(schema_extra={"examples": [7]})
    stops_failed: int = Field(schema_extra={"examples": [1]})
    late: list[LateStop]


class CouriersToday(SQLModel):
    """A post office's couriers today, with the published plan's progress as of ``as_of``."""

    post_office: str = Field(schema_extra={"examples": ["82-BD-01"]})
    date: dt.date = Field(description="today, in Vietnam", schema_extra={"examples": ["2026-12-05"]})
    plan_id: uuid.UUID | None = Field(default=None, description="today's published plan, if any")
    as_of: datetime = Field(schema_extra=AT)
    couriers: list[CourierToday]
