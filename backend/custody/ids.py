"""S10 item ids issued from a counter table (one per service indicator), safe under concurrency."""

import uuid

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.problems import Problem
from schemas import s10
from schemas.base import utcnow
from schemas.dossiers import ItemCounter, ReservedItemId

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


async def reserve_item_ids(session: AsyncSession, courier_id: uuid.UUID, count: int) -> list[str]:
    """Hand a courier ``count`` dossier labels in advance (for pickups recorded offline). Commits."""
    ids = [await new_item_id(session, s10.PREFIX_DOSSIER) for _ in range(count)]
    session.add_all(ReservedItemId(item_id=i, courier_id=courier_id) for i in ids)
    await session.commit()
    return ids


async def claim_reserved(session: AsyncSession, courier_id: uuid.UUID, raw: str) -> str:
    """Use a reserved label once; only the courier it was given to may use it."""
    item_id = parse_item_id(raw)
    stmt = (
        update(ReservedItemId)
        .where(
            col(ReservedItemId.item_id) == item_id,
            col(ReservedItemId.courier_id) == courier_id,
            col(ReservedItemId.used_at).is_(None),
        )
        .values(used_at=utcnow())
    )
    if (await session.execute(stmt)).rowcount != 1:  # type: ignore[attr-defined]
        raise Problem(
            409,
            f"Số hiệu {item_id} không được cấp cho bạn hoặc đã dùng / {item_id} is not a free label of yours",
            code="item_id_not_reserved",
        )
    return item_id
