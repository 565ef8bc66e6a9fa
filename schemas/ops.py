"""Answers for the systems that run the service (load balancers, container health checks, monitoring)."""

from typing import Literal

from sqlmodel import Field, SQLModel


class HealthStatus(SQLModel):
    """The service answers and its database takes a query."""

    status: Literal["ok"] = Field(schema_extra={"examples": ["ok"]})
