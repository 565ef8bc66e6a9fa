"""Per-test databases holding only some tables, on SQLite and PostgreSQL: one factory for the channel and ZNS
tests (each had written the same two fixtures out)."""

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from tests.notifications.support import make_engine, pg_admin, pg_url

DATABASES = [d.strip() for d in os.environ.get("TEST_DATABASES", "sqlite,postgres").split(",") if d.strip()]


def table_databases(
    name: str, tables: list[Any], truncate: str
) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """``(pg_<name>_url, <name>_url)`` fixtures: a PostgreSQL database with ``tables`` made once per session and
    emptied by ``truncate`` before each test, or a fresh SQLite file per test. Assign them in the test module
    under exactly those names (the second asks for the first by name)."""

    async def create(engine: AsyncEngine) -> None:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: SQLModel.metadata.create_all(c, tables=tables))

    @pytest.fixture(scope="session")
    def pg_database() -> Iterator[str]:
        db = f"test_{name}_{os.getpid()}_{uuid.uuid4().hex[:6]}"

        async def make() -> str:
            await pg_admin(f'CREATE DATABASE "{db}"')
            url = pg_url(db)
            engine = make_engine(url)
            await create(engine)
            await engine.dispose()
            return url

        url = asyncio.run(make())
        yield url
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))

    @pytest.fixture(params=DATABASES)
    def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
        if request.param == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path / (name + '.db')}"

            async def prepare() -> None:
                engine = make_engine(url)
                await create(engine)
                await engine.dispose()

        else:
            url = request.getfixturevalue(f"pg_{name}_url")

            async def prepare() -> None:
                engine = make_engine(url)
                async with engine.begin() as conn:
                    await conn.execute(text(truncate))
                await engine.dispose()

        asyncio.run(prepare())
        return url

    return pg_database, database
