"""Paging for list endpoints: ``?limit=&offset=`` (limit ≤ 500) -> ``{items, total, limit, offset}``."""

from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from litestar.params import QueryParameter
from sqlalchemy import func, select
from sqlalchemy.sql import Select
from sqlmodel.ext.asyncio.session import AsyncSession

from schemas.common import MAX_LIMIT, MAX_OFFSET

T = TypeVar("T")
DEFAULT_LIMIT = 50  # when a request names no limit


@dataclass(frozen=True)
class Paging:
    limit: int
    offset: int


def provide_paging(
    limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)] = 0,
) -> Paging:
    return Paging(limit=limit, offset=offset)


async def fetch_page(session: AsyncSession, stmt: Select[Any], paging: Paging) -> tuple[list[Any], int]:
    """Run ``stmt`` for one page and count every match."""
    total = (
        await session.execute(select(func.count()).select_from(stmt.order_by(None).subquery()))
    ).scalar_one()
    rows = (await session.execute(stmt.limit(paging.limit).offset(paging.offset))).all()
    items = [r[0] if len(r) == 1 else r for r in rows]
    return items, int(total)


def page(items: list[Any], total: int, paging: Paging) -> dict[str, Any]:
    return {"items": items, "total": total, "limit": paging.limit, "offset": paging.offset}
