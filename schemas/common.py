"""API shapes shared by every list endpoint and error."""

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")

MAX_LIMIT = 500
MAX_OFFSET = 10_000_000  # beyond any real list; keeps the value inside a 64-bit integer for the database


class Page(BaseModel, Generic[T]):
    """A page of a list: ``total`` counts every match, not only this page."""

    items: list[T]
    total: int
    limit: int
    offset: int


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, Any]] | None = Field(default=None)
