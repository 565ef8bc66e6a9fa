"""One SQL statement on a PostgreSQL server's maintenance database (CREATE/DROP DATABASE for benchmarks)."""

from sqlalchemy.engine import make_url

PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


async def admin_exec(admin_url: str, sql: str) -> None:
    import asyncpg

    url = make_url(admin_url)
    conn = await asyncpg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        database=url.database or "test",
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
