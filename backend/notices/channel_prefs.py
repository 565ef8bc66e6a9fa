"""Citizens' channel choices (issue 22): which of push, SMS and Zalo ZNS they accept notices on.

No row means on (``notifications.channels.policy``). Switching a channel off is a STOP: the citizen's deliveries
on it that are not yet sent become ``suppressed`` in the same transaction (``notifications.channels.store.suppress``),
and the next fallback channel is tried. Each change is an ``account_event`` (``channels_changed``, with who, when
and from where; ``data`` names the channels and their new setting). Sign-in codes are not notices: they go by SMS
whatever is chosen here (a citizen who switches SMS off can still sign in).
"""

import uuid
from typing import Any

from sqlalchemy import update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.events import record_account_event
from backend.lib.auth import Principal
from notifications.channels import store
from schemas.base import utcnow
from schemas.channels import (
    ChannelChoice,
    ChannelPreference,
    ChannelSettings,
    ChannelSettingsIn,
    NoticeChannel,
)

CHANNELS_CHANGED = "channels_changed"
NOTE_VI = (
    "Thông báo gửi qua ứng dụng trước; khi không có ứng dụng, gửi thất bại hoặc thông báo quan trọng chưa được "
    "mở, gửi qua Zalo rồi SMS. Không gửi SMS/Zalo từ 21:00 đến 07:00. Mã đăng nhập luôn gửi qua SMS."
)
NOTE_EN = (
    "Notices go to the app first; without the app, when it fails, or when an important notice stays unopened, "
    "by Zalo, then SMS. No SMS/Zalo between 21:00 and 07:00. Sign-in codes always go by SMS."
)


async def current(session: AsyncSession, citizen_id: uuid.UUID) -> ChannelSettings:
    rows = (
        await session.exec(select(ChannelPreference).where(ChannelPreference.citizen_id == citizen_id))
    ).all()
    chosen = {NoticeChannel(r.channel): r.enabled for r in rows}
    return ChannelSettings(
        channels=[ChannelChoice(channel=c, enabled=chosen.get(c, True)) for c in NoticeChannel],
        note_vi=NOTE_VI,
        note_en=NOTE_EN,
    )


async def change(
    session: AsyncSession, principal: Principal, data: ChannelSettingsIn, client_ip: str | None
) -> ChannelSettings:
    """Apply the choices (the last of a channel listed twice wins); suppress what an opt-out stops; one event."""
    wanted = {c.channel: c.enabled for c in data.choices}
    before = {c.channel: c.enabled for c in (await current(session, principal.id)).channels}
    changed = {ch: on for ch, on in wanted.items() if before.get(ch, True) != on}
    now = utcnow()
    suppressed: dict[str, int] = {}
    table: Any = ChannelPreference.__table__  # type: ignore[attr-defined]
    for channel, enabled in changed.items():
        moved = await session.execute(
            update(table)
            .where(table.c.citizen_id == principal.id, table.c.channel == channel.value)
            .values(enabled=enabled, updated_at=now)
            .returning(table.c.id)
        )
        if moved.one_or_none() is None:
            session.add(
                ChannelPreference(citizen_id=principal.id, channel=channel, enabled=enabled, updated_at=now)
            )
        if not enabled:
            suppressed[channel.value] = await store.suppress(
                session, principal.id, channel.value, f"citizen:{principal.id}", now
            )
    if changed:
        record_account_event(
            session,
            account_id=principal.id,
            account_role=principal.role,
            code=CHANNELS_CHANGED,
            actor=principal,
            client_ip=client_ip,
            data={"channels": {ch.value: on for ch, on in changed.items()}, "suppressed": suppressed},
        )
    await session.commit()
    return await current(session, principal.id)
