"""S10 item ids issued from a counter table (one per service indicator), safe under concurrency."""

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.problems import Problem
from schemas import s10
from schemas.dossiers import ItemCounter

MAX_SERIAL = 99_999_999


async def next_serial(session: AsyncSession, prefix: str) -> int:
    """Increment and return the counter in one statement: the row lock (PostgreSQL) or the write lock taken by
    BEGIN IMMEDIATE (SQLite) makes two transactions wait for each other instead of sharing a serial."""
    stmt = (
        update(ItemCounter)
        .where(ItemCounter.prefix == prefix)  # type: ignore[arg-type]
        .values(last_serial=col(ItemCounter.last_serial) + 1)
        .returning(col(ItemCounter.last_serial))
    )
    for _ in range(2):
        value = (await session.execute(stmt)).scalar_one_or_none()
        if value is not None:
            if value > MAX_SERIAL:
                raise Problem(
                    503, "Hết dãy số hiệu bưu gửi / S10 serial range exhausted", code="serials_exhausted"
                )
            return int(value)
        # First id of this prefix: create the row; a concurrent creator wins and we retry the UPDATE.
        try:
            async with session.begin_nested():
                session.add(ItemCounter(prefix=prefix, last_serial=0))
        except IntegrityError:
            pass
    raise RuntimeError(f"could not allocate a serial for {prefix}")


async def new_item_id(session: AsyncSession, prefix: str) -> str:
    return s10.make(prefix, await next_serial(session, prefix))


def parse_item_id(raw: str) -> str:
    """The normalised id, or a 422 that says nothing about whether such an item exists."""
    try:
        return s10.parse(raw).item_id
    except s10.S10Error as exc:
        raise Problem(422, str(exc), code="invalid_item_id") from None
