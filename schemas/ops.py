"""Answers for the systems that run the service (load balancers, container health checks, monitoring), and the
demo history's loading state they report (``demo_history``: ``backend/demo/background.py``)."""

from datetime import datetime
from typing import Literal

from sqlmodel import Field, SQLModel

from schemas.base import utc_field

DemoHistoryState = Literal["loading", "done", "failed", "absent"]


class DemoHistory(SQLModel, table=True):
    """The demo's past dossiers written in chunks after the service answers (``make run``): one row per demo
    province. ``dossiers_written`` is updated in each chunk's own transaction, so it is exactly what the
    database holds; ``generated_for`` is the instant the rows were generated for, so an interrupted load
    regenerates the same rows and writes the rest (``backend/demo/background.py``). No personal data."""

    __tablename__ = "demo_history"
    province_code: str = Field(primary_key=True, max_length=8)
    state: str = Field(max_length=10, description="loading, done or failed")
    rows_asked: int
    dossiers_planned: int = Field(default=0, description="the rows generated (0 until generated)")
    dossiers_written: int = 0
    events_written: int = 0
    generated_for: datetime = utc_field()
    started_at: datetime = utc_field(default_now=True)
    updated_at: datetime = utc_field(default_now=True)
    finished_at: datetime | None = utc_field(nullable=True)
    error: str | None = Field(default=None, max_length=200, description="the exception's type, no detail")


class DemoHistoryStatus(SQLModel):
    """The demo's two years of past dossiers: ``absent`` (no demo, or not asked: production), ``loading``
    (written in the background after the service answers; reports show part of the history until ``done``),
    ``done`` or ``failed`` (the next ``make run`` finishes it)."""

    state: DemoHistoryState = Field(schema_extra={"examples": ["loading"]})
    dossiers_written: int = Field(default=0, ge=0, schema_extra={"examples": [35000]})
    dossiers_planned: int = Field(
        default=0,
        ge=0,
        description="the dossiers generated to write: about the rows asked for (0 until generated)",
        schema_extra={"examples": [100809]},
    )


class HealthStatus(SQLModel):
    """The service answers and its database takes a query."""

    status: Literal["ok"] = Field(schema_extra={"examples": ["ok"]})
    demo_history: DemoHistoryStatus = Field(
        default_factory=lambda: DemoHistoryStatus(state="absent"),
        description="whether the demo's history is loading, done, failed or absent (counts only)",
    )
