"""Push targets: the app registers its FCM token after sign-in and removes it on sign-out.

These functions work in the caller's session and do not commit.
"""

import uuid

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from notifications._db import execute, scalars
from schemas.base import utcnow
from schemas.notifications import DeviceTarget, Platform, RecipientKind


async def register_device(
    session: AsyncSession,
    *,
    owner_kind: str,
    owner_id: uuid.UUID,
    token: str,
    platform: str,
    app_version: str | None = None,
) -> DeviceTarget:
    """Add or refresh a token. A token is one app install: if another account registered it before (a shared
    phone, a new sign-in), it moves to this owner so the previous one stops getting this device's pushes."""
    kind = RecipientKind(owner_kind)
    plat = Platform(platform)
    if not token or len(token) > 512:
        raise ValueError("token must be 1..512 characters")
    now = utcnow()
    row = (await scalars(session, select(DeviceTarget).where(DeviceTarget.token == token))).first()  # type: ignore[arg-type]
    if row is None:
        row = DeviceTarget(
            owner_kind=kind,
            owner_id=owner_id,
            token=token,
            platform=plat,
            app_version=app_version,
            created_at=now,
            last_seen_at=now,
        )
        session.add(row)
        return row
    row.owner_kind = kind
    row.owner_id = owner_id
    row.platform = plat
    row.app_version = app_version
    row.last_seen_at = now
    return row


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
