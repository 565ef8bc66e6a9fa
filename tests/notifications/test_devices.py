"""Registering and removing push targets in the caller's session."""

import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.devices import TokenInUse, list_devices, register_device, remove_device


async def test_register_refresh_refuse_and_remove(db: AsyncEngine) -> None:
    factory = async_sessionmaker(db, class_=AsyncSession, expire_on_commit=False)
    alice, bob = uuid.uuid4(), uuid.uuid4()
    async with factory() as session:
        first = await register_device(
            session, owner_kind="citizen", owner_id=alice, token="fcm-token-0001", platform="android"
        )
        await session.commit()
    seen = first.last_seen_at
    async with factory() as session:
        # The same install registering again refreshes the row instead of adding one.
        again = await register_device(
            session,
            owner_kind="citizen",
            owner_id=alice,
            token="fcm-token-0001",
            platform="android",
            app_version="1.2.0",
        )
        await session.commit()
        assert again.id == first.id and again.app_version == "1.2.0" and again.last_seen_at >= seen
        assert [d.token for d in await list_devices(session, owner_kind="citizen", owner_id=alice)] == [
            "fcm-token-0001"
        ]
    async with factory() as session:
        # Bob registers Alice's token: refused, not moved (an FCM token proves nothing about the device).
        with pytest.raises(TokenInUse):
            await register_device(
                session, owner_kind="citizen", owner_id=bob, token="fcm-token-0001", platform="android"
            )
        await session.rollback()
        assert [d.token for d in await list_devices(session, owner_kind="citizen", owner_id=alice)] == [
            "fcm-token-0001"
        ]
        assert await list_devices(session, owner_kind="citizen", owner_id=bob) == []
        assert not await remove_device(session, owner_kind="citizen", owner_id=bob, token="fcm-token-0001")
        # Alice signs out on the device (removes it); then Bob may register it.
        assert await remove_device(session, owner_kind="citizen", owner_id=alice, token="fcm-token-0001")
        await register_device(
            session, owner_kind="citizen", owner_id=bob, token="fcm-token-0001", platform="android"
        )
        await session.commit()
        assert await list_devices(session, owner_kind="citizen", owner_id=alice) == []
        assert await remove_device(session, owner_kind="citizen", owner_id=bob, token="fcm-token-0001")
        await session.commit()


async def test_bad_registrations_are_refused(db: AsyncEngine) -> None:
    factory = async_sessionmaker(db, class_=AsyncSession)
    async with factory() as session:
        with pytest.raises(ValueError):
            await register_device(
                session, owner_kind="citizen", owner_id=uuid.uuid4(), token="t", platform="nokia"
            )
        with pytest.raises(ValueError):
            await register_device(
                session, owner_kind="robot", owner_id=uuid.uuid4(), token="t", platform="ios"
            )
        with pytest.raises(ValueError):
            await register_device(
                session, owner_kind="citizen", owner_id=uuid.uuid4(), token="", platform="ios"
            )
