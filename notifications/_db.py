"""Running statements on either SQLAlchemy's or SQLModel's AsyncSession.

SQLModel's ``AsyncSession.execute`` (and ``scalars``, which calls it) warns, deprecated in favour of
``exec``; plain SQLAlchemy sessions have no ``exec``. The backend uses SQLModel's; callers of this package
may use either. Statements passed to ``scalars`` must be single-entity/column ``sqlmodel.select``s.
"""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


async def execute(session: AsyncSession, statement: Any) -> Any:
    run = getattr(session, "exec", None)
    if run is not None:
        return await run(statement)
    return await session.execute(statement)


async def scalars(session: AsyncSession, statement: Any) -> Any:
    run = getattr(session, "exec", None)
    if run is not None:
        return await run(statement)  # a SelectOfScalar: SQLModel answers scalars already
    return (await session.execute(statement)).scalars()
