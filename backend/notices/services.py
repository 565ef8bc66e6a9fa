"""The inbox, push targets and the desk's due-soon warnings, over the ``notifications`` package."""

import uuid
from datetime import datetime, time
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue.calendar_service import working_calendar
from backend.custody.transitions import Status
from backend.lib import answer_cache
from backend.lib.auth import Principal
from backend.lib.paging import Paging, fetch_page, page
from backend.lib.problems import Problem
from notifications import devices, inbox, outbox
from schemas.accounts import StaffUser
from schemas.base import utcnow
from schemas.dossiers import Dossier
from schemas.enums import Role
from schemas.notifications import (
    DeviceRegistration,
    DeviceTarget,
    InboxItem,
    Notification,
    NotificationStatus,
)
from schemas.vntime import at_vn, vn_date

OPEN_AT_DESK_OR_AGENCY = (Status.received, Status.processing)


def recipient_kind(principal: Principal) -> str:
    return "citizen" if principal.is_citizen else "staff"


async def register(session: AsyncSession, principal: Principal, data: DeviceRegistration) -> DeviceTarget:
    try:
        row = await devices.register_device(
            session,
            owner_kind=recipient_kind(principal),
            owner_id=principal.id,
            token=data.token,
            platform=data.platform,
            app_version=data.app_version,
        )
    except devices.TokenInUse as exc:
        # Never moved to the caller (notifications/devices.py says why); the same answer whoever owns it.
        raise Problem(
            409,
            "Mã thiết bị đã được đăng ký cho tài khoản khác; tài khoản đó cần đăng xuất trên thiết bị trước / "
            "The device token is registered to another account; sign that account out on the device first",
            code="device_token_in_use",
        ) from exc
    except ValueError as exc:
        raise Problem(422, f"Thiết bị không hợp lệ / Invalid device: {exc}", code="invalid_device") from exc
    await session.commit()
    return row


async def unregister(session: AsyncSession, principal: Principal, token: str) -> None:
    removed = await devices.remove_device(
        session, owner_kind=recipient_kind(principal), owner_id=principal.id, token=token
    )
    if not removed:
        raise Problem(404, "Không có thiết bị này / No such device", code="not_found")
    await session.commit()


async def inbox_page(
    session: AsyncSession, principal: Principal, paging: Paging, unread_only: bool
) -> dict[str, Any]:
    kind = recipient_kind(principal)
    rows, total = await inbox.list_inbox(
        session,
        recipient_kind=kind,
        recipient_id=principal.id,
        limit=paging.limit,
        offset=paging.offset,
        unread_only=unread_only,
    )
    unread = await inbox.unread_count(session, recipient_kind=kind, recipient_id=principal.id)
    return {
        "items": [InboxItem.model_validate(r, from_attributes=True) for r in rows],
        "total": total,
        "limit": paging.limit,
        "offset": paging.offset,
        "unread": unread,
    }


def inbox_tag(kind: str, recipient_id: uuid.UUID) -> str:
    """The answer-cache tag of a recipient's stored inbox pages (``backend/notices/inbox_answer.py``)."""
    return f"inbox:{kind}:{recipient_id}"


async def mark_read(session: AsyncSession, principal: Principal, ids: list[uuid.UUID] | None) -> int:
    kind = recipient_kind(principal)
    count = await inbox.mark_read(session, recipient_kind=kind, recipient_id=principal.id, ids=ids)
    await session.commit()
    answer_cache.invalidate(inbox_tag(kind, principal.id))  # an UPDATE statement: no ORM hook sees it
    return count


async def failed_notifications(session: AsyncSession, paging: Paging) -> dict[str, Any]:
    """Rows the dispatcher gave up on, with the reason (admins only)."""
    stmt = (
        select(Notification)
        .where(Notification.status == NotificationStatus.failed)
        .order_by(col(Notification.created_at).desc())
    )
    items, total = await fetch_page(session, stmt, paging)
    shown = [
        {
            "id": n.id,
            "template": n.template,
            "recipient_kind": n.recipient_kind,
            "recipient_id": n.recipient_id,
            "attempts": n.attempts,
            "last_error": n.last_error,
            "created_at": n.created_at,
        }
        for n in items
    ]
    return page(shown, total, paging)


async def warn_due_soon(session: AsyncSession, *, now: datetime | None = None, working_days: int = 1) -> int:
    """Tell each desk's clerks about open dossiers due within ``working_days`` working days (once per
    dossier and due date: the dedupe key carries the due date, so a resumed clock warns again)."""
    now = now or utcnow()
    cal = await working_calendar(session)
    # Everything due by the end of the n-th working day from today (Vietnam dates).
    horizon_day = cal.add_days(vn_date(now), working_days)
    horizon = at_vn(horizon_day, time(23, 59, 59))
    dossiers = (
        await session.exec(
            select(Dossier).where(
                col(Dossier.status).in_([s.value for s in OPEN_AT_DESK_OR_AGENCY]),
                col(Dossier.due_at).is_not(None),
                col(Dossier.due_at) > now,
                col(Dossier.due_at) <= horizon,
                col(Dossier.desk_id).is_not(None),
            )
        )
    ).all()
    if not dossiers:
        return 0
    desks = {d.desk_id for d in dossiers}
    clerks = (
        await session.exec(
            select(StaffUser).where(
                col(StaffUser.organisation_id).in_(desks), StaffUser.role == Role.desk, col(StaffUser.active)
            )
        )
    ).all()
    by_desk: dict[uuid.UUID, list[StaffUser]] = {}
    for c in clerks:
        assert c.organisation_id is not None
        by_desk.setdefault(c.organisation_id, []).append(c)
    written = 0
    for d in dossiers:
        assert d.due_at is not None and d.desk_id is not None
        for clerk in by_desk.get(d.desk_id, []):
            _, created = await outbox.enqueue_once(
                session,
                recipient_kind="staff",
                recipient_id=clerk.id,
                template="desk.dossier_due_soon",
                params={"item_id": d.item_id, "due_at": d.due_at},
                dedupe_key=f"due-soon:{d.item_id}:{d.due_at.isoformat()}",
            )
            written += int(created)
    await session.commit()
    return written
