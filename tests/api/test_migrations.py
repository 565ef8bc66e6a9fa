"""Alembic is the only way the schema changes: the models and the migrations agree on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel


async def test_no_drift_between_models_and_migrations(engine: AsyncEngine) -> None:
    def diff(sync_conn: object) -> list[object]:
        ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(ctx, SQLModel.metadata))

    async with engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == [], f"models differ from migrations; run `make regen-migration`: {changes}"


async def test_downgrade_and_upgrade_round_trip(tmp_path: object) -> None:
    import asyncio
    from pathlib import Path

    from backend.migrations import downgrade, upgrade

    url = f"sqlite+aiosqlite:///{Path(str(tmp_path)) / 'roundtrip.db'}"
    await asyncio.to_thread(upgrade, url)
    await asyncio.to_thread(downgrade, url, "base")
    await asyncio.to_thread(upgrade, url)


async def test_downgrade_and_upgrade_round_trip_on_postgresql() -> None:
    """PostgreSQL keeps what SQLite has no notion of (ENUM types, functions, triggers): every downgrade must
    remove its own, or the next upgrade fails."""
    import asyncio
    import uuid

    from sqlalchemy.engine import make_url

    from backend.migrations import downgrade, upgrade
    from tests.conftest import _pg_admin_url, _pg_exec

    name = f"hoso_migrations_{uuid.uuid4().hex[:8]}"
    await _pg_exec(f'CREATE DATABASE "{name}"')
    url = make_url(_pg_admin_url()).set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade, url)
        for target in ("0002", "0001", "base"):
            await asyncio.to_thread(downgrade, url, target)
            await asyncio.to_thread(upgrade, url)
    finally:
        await _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
