"""Push targets: the app registers its FCM token after sign-in and removes it on sign-out.

These functions work in the caller's session and do not commit.
"""

import uuid
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from notifications._db import execute, scalars
from schemas.base import new_id, utcnow
from schemas.notifications import DeviceTarget, Platform, RecipientKind


class TokenInUse(Exception):
    """The token is registered to another account (see ``register_device``)."""


async def register_device(
    session: AsyncSession,
    *,
    owner_kind: str,
    owner_id: uuid.UUID,
    token: str,
    platform: str,
    app_version: str | None = None,
) -> DeviceTarget:
    """Add or refresh one of the caller's tokens. A token another account registered is refused
    (``TokenInUse``), never moved.

    Why (issue 17): an FCM token is an address, not a secret (it is in every push the app receives and in logs),
    so registering one proves nothing about holding the device. Moving it let anyone who learnt a victim's token
    take the victim's pushes off their phone and have their own pushes shown on it. The honest case — another
    person signs in on the same install — is the app's job: on sign-out it removes its registration
    (``DELETE /devices/{token}``) and drops the token (``FirebaseMessaging.deleteToken()``), so the next account
    registers a fresh one. A dead token is removed by the dispatcher when FCM reports it unregistered. Two
    accounts registering the same new token at once: the first insert wins, the other gets ``TokenInUse``; the
    same account twice at once: both succeed."""
    kind = RecipientKind(owner_kind)
    plat = Platform(platform)
    if not token or len(token) > 512:
        raise ValueError("token must be 1..512 characters")
    now = utcnow()
    # Insert if nobody holds the token, in one statement: two registrations at once (the app retrying, or two
    # accounts) then meet the unique constraint inside the database instead of failing the second commit.
    await execute(
        session,
        _insert_if_new(session).values(
            id=new_id(),
            owner_kind=kind.value,
            owner_id=owner_id,
            token=token,
            platform=plat.value,
            app_version=app_version,
            created_at=now,
            last_seen_at=now,
        ),
    )
    row = (await scalars(session, select(DeviceTarget).where(DeviceTarget.token == token))).one()  # type: ignore[arg-type]
    if row.owner_kind != kind.value or row.owner_id != owner_id:
        raise TokenInUse(token)
    row.platform = plat
    row.app_version = app_version
    row.last_seen_at = now
    return row


def _insert_if_new(session: AsyncSession) -> Any:
    table = DeviceTarget.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=["token"])
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=["token"])
    return insert(table)


async def remove_device(session: AsyncSession, *, owner_kind: str, owner_id: uuid.UUID, token: str) -> bool:
    """Remove one of the caller's own tokens; False if it was not theirs (or unknown)."""
    result = await execute(
        session,
        delete(DeviceTarget).where(
            DeviceTarget.token == token,  # type: ignore[arg-type]
            DeviceTarget.owner_kind == RecipientKind(owner_kind).value,  # type: ignore[arg-type]
            DeviceTarget.owner_id == owner_id,  # type: ignore[arg-type]
        ),
    )
    return bool(getattr(result, "rowcount", 0))


async def list_devices(session: AsyncSession, *, owner_kind: str, owner_id: uuid.UUID) -> list[DeviceTarget]:
    rows = await scalars(
        session,
        select(DeviceTarget)
        .where(
            DeviceTarget.owner_kind == RecipientKind(owner_kind).value,  # type: ignore[arg-type]
            DeviceTarget.owner_id == owner_id,  # type: ignore[arg-type]
        )
        .order_by(DeviceTarget.created_at),  # type: ignore[arg-type]
    )
    return list(rows)
