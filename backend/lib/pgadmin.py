"""One SQL statement on a PostgreSQL server's maintenance database (CREATE/DROP DATABASE for benchmarks and
tests)."""

from typing import Any

from sqlalchemy.engine import make_url

PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


async def connect(admin_url: str, *, connect_timeout: float = 60) -> Any:
    """An asyncpg connection to the database named in ``admin_url`` (the driver part of the URL is ignored)."""
    import asyncpg

    url = make_url(admin_url)
    return await asyncpg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        database=url.database or "test",
        timeout=connect_timeout,
    )


async def admin_exec(admin_url: str, sql: str) -> None:
    conn = await connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
