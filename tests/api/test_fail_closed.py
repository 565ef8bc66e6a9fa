"""Production never serves the demo's published staff passwords (issue 17, item 1)."""

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.accounts.known_passwords import accounts_opening_with_published_passwords
from backend.accounts.passwords import hash_password
from schemas.accounts import StaffUser


async def test_demo_accounts_with_the_readme_password_are_found(engine: AsyncEngine) -> None:
    found = await accounts_opening_with_published_passwords(engine)
    assert "admin" in found and "dispatcher01" in found


async def test_serving_in_production_refuses_a_demo_database(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from backend import __main__ as cli
    from backend.settings import get_settings

    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.delenv("OTP_TEST_NUMBERS")
    monkeypatch.setenv("FIREBASE_PROJECT_ID", "hoso-test")  # citizens sign in somehow (no SMS provider here)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://hoso.example.vn")  # links in SMS need it (issue 22)
    monkeypatch.setattr(cli, "_serve", lambda: pytest.fail("served a demo database in production"))
    get_settings.cache_clear()
    try:
        # asyncio.run inside the CLI needs a thread of its own: this test already runs in an event loop.
        import asyncio

        code = await asyncio.to_thread(cli.main, ["serve"])
    finally:
        get_settings.cache_clear()
    assert code == 2
    assert "admin" in capsys.readouterr().err


async def test_changed_passwords_pass(engine: AsyncEngine) -> None:
    """Once the demo accounts' passwords are changed, the guard has nothing to say about them."""
    table = StaffUser.__table__  # type: ignore[attr-defined]
    async with engine.begin() as conn:
        before = dict(
            (
                await conn.execute(table.select().with_only_columns(table.c.username, table.c.password_hash))
            ).all()
        )
        await conn.execute(
            table.update()
            .where(table.c.username == "courier01")
            .values(password_hash=hash_password("x" * 20))
        )
    try:
        found = await accounts_opening_with_published_passwords(engine)
        assert "courier01" not in found and "admin" in found
    finally:
        async with engine.begin() as conn:
            await conn.execute(
                table.update()
                .where(table.c.username == "courier01")
                .values(password_hash=before["courier01"])
            )
