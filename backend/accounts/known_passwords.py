"""Production refuses to serve a database where the demo's staff accounts still open with a published password.

``seed-demo`` and ``run`` refuse production outright (``backend/__main__.py``); this catches the other way in:
a database seeded in development, then pointed at by a production deployment. The demo's password is in the
README, so anyone could sign in as its administrator.
"""

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.accounts.passwords import verify_password
from schemas.accounts import StaffUser

# The demo loader's first account of each kind (backend/demo/province.py); one of each is enough to tell.
DEMO_USERNAMES = ("admin", "dispatcher01", "courier01", "desk01", "agency01")
PUBLISHED_PASSWORDS = ("demo1234",)


async def accounts_opening_with_published_passwords(
    engine: AsyncEngine, extra_passwords: tuple[str, ...] = ()
) -> list[str]:
    """Usernames of active demo accounts whose password is the README's (or one of ``extra_passwords``)."""
    table = StaffUser.__table__  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(table.c.username, table.c.password_hash).where(
                    table.c.username.in_(DEMO_USERNAMES), table.c.active.is_(True)
                )
            )
        ).all()
    candidates = PUBLISHED_PASSWORDS + tuple(p for p in extra_passwords if p)
    found = []
    for username, password_hash in rows:
        for password in candidates:
            if await asyncio.to_thread(verify_password, password_hash, password):
                found.append(username)
                break
    return sorted(found)
