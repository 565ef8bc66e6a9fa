"""backend.db's request sessions through advanced-alchemy's public plugin API: a handler's writes are committed
on a 2xx and rolled back on an error answer; a request that never asks for ``db_session`` opens none; and
PostgreSQL engines use SQLAlchemy's own fixed-size pool."""

from pathlib import Path
from typing import Any

from litestar import Litestar, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.db import make_engine, sqlalchemy_plugin
from backend.lib.problems import EXCEPTION_HANDLERS, Problem


@post("/rows/{n:int}", status_code=201)
async def add_row(n: FromPath[int], db_session: NamedDependency[AsyncSession]) -> dict[str, int]:
    await db_session.execute(text("INSERT INTO t (n) VALUES (:n)"), {"n": n})
    if n < 0:
        raise Problem(409, "Số âm / negative", code="negative")
    return {"n": n}


@get("/rows")
async def count_rows(db_session: NamedDependency[AsyncSession]) -> dict[str, Any]:
    rows = (await db_session.execute(text("SELECT n FROM t ORDER BY n"))).scalars().all()
    return {"rows": list(rows)}


@get("/plain")
async def plain() -> dict[str, str]:
    return {"ok": "yes"}


async def test_writes_commit_on_success_and_roll_back_on_an_error_answer(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/s.db")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER NOT NULL)"))
    plugin = sqlalchemy_plugin(engine)
    app = Litestar(
        route_handlers=[add_row, count_rows, plain], plugins=[plugin], exception_handlers=EXCEPTION_HANDLERS
    )
    async with AsyncTestClient(app) as client:
        assert (await client.post("/rows/1")).status_code == 201
        assert (await client.post("/rows/-1")).status_code == 409
        assert (await client.post("/rows/2")).status_code == 201
        assert (await client.get("/plain")).json() == {"ok": "yes"}
        assert (await client.get("/rows")).json() == {"rows": [1, 2]}
    # Every session went back to the pool: nothing is checked out once the answers are sent.
    assert engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    await engine.dispose()


async def test_postgresql_engines_use_sqlalchemys_fixed_pool() -> None:
    engine = make_engine("postgresql+asyncpg://postgres@127.0.0.1:5432/test", pool_size=3)  # connects lazily
    pool = engine.sync_engine.pool
    assert type(pool) is AsyncAdaptedQueuePool
    assert pool.size() == 3 and pool.timeout() == 30
    await engine.dispose()
