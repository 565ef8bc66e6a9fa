"""Couriers' shifts with effective dates (issue 23): schedule a new weekly pattern from a Vietnam day, list a
courier's versions, cancel a scheduled one; every change a ``catalogue_event`` (who, role, when, from where),
a version applied on its day too (``courier_shifts_applied``, actor role ``system``, where: the province).

``courier_profile.shifts`` stays the pattern in force today (what the profile API shows and writes). A version
from today is written into it at once; a later one waits as scheduled and ``apply_due`` writes it on its day
(in the next change, the profile's next write, or the catalogue sweep ``editing_changes.run``). Until then
booking and planning read it for the days it covers through ``pending`` and ``shift_rules.shifts_on``, so the
slots of next week follow a change effective next week, not today's. After a change every cache of this process
drops the rosters (``editing_store.changed``); other processes by NOTIFY (migration 0028's trigger).

Who: admins (a provincial admin within its province) and the dispatchers of the courier's post office; the
courier reads its own. Anyone else gets the 404 of an unknown courier.
"""

import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue import editing_store
from backend.catalogue.editing import event, require_province
from backend.catalogue.shift_rules import Pending, check_shifts
from backend.lib.auth import Principal
from backend.lib.dates import check_days
from backend.lib.problems import Problem, not_found
from schemas.accounts import CourierProfile, StaffUser, spans_of
from schemas.base import utcnow
from schemas.catalogue_edits import CatalogueEvent
from schemas.courier_shifts import CourierShiftVersion, CourierShiftVersionIn, CourierShiftVersionPublic
from schemas.enums import Role
from schemas.orgs import Organisation
from schemas.vntime import vn_date

MAX_AHEAD = timedelta(days=3 * 366)  # a roster is planned months ahead, not decades
SYSTEM_ACTOR = "system"  # ``catalogue_event.actor_role`` of what the service does by itself (the sweep)


def today() -> date:
    return vn_date(utcnow())


def status_of(v: CourierShiftVersion) -> str:
    if v.cancelled_at is not None:
        return "cancelled"
    return "applied" if v.applied_at is not None else "scheduled"


def public(v: CourierShiftVersion) -> CourierShiftVersionPublic:
    return CourierShiftVersionPublic.model_validate(
        {**v.model_dump(), "shifts": spans_of(v.shifts), "status": status_of(v)}
    )


def _scheduled() -> Any:
    return select(CourierShiftVersion).where(
        col(CourierShiftVersion.applied_at).is_(None), col(CourierShiftVersion.cancelled_at).is_(None)
    )


async def pending(session: AsyncSession, courier_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Pending]:
    """Each courier's scheduled versions, oldest first (a courier with none is absent)."""
    ids = list(courier_ids)
    if not ids:
        return {}
    rows = (
        await session.exec(
            _scheduled()
            .where(col(CourierShiftVersion.courier_id).in_(ids))
            .order_by(col(CourierShiftVersion.effective_from))
        )
    ).all()
    out: dict[uuid.UUID, list[tuple[date, dict[str, Any]]]] = {}
    for v in rows:
        out.setdefault(v.courier_id, []).append((v.effective_from, dict(v.shifts or {})))
    return dict(out)


async def apply_due(session: AsyncSession, courier_id: uuid.UUID | None = None) -> int:
    """Write every scheduled version whose day has come into its courier's profile (the latest wins), in the
    caller's transaction; how many. ``courier_id``: that courier's only."""
    stmt = _scheduled().where(col(CourierShiftVersion.effective_from) <= today())
    if courier_id is not None:
        stmt = stmt.where(CourierShiftVersion.courier_id == courier_id)
    due = (
        await session.exec(
            stmt.order_by(col(CourierShiftVersion.effective_from), col(CourierShiftVersion.created_at))
        )
    ).all()
    now = utcnow()
    for v in due:
        profile = await session.get(CourierProfile, v.courier_id) or CourierProfile(user_id=v.courier_id)
        profile.shifts = dict(v.shifts or {})
        session.add(profile)
        v.applied_at = now
        session.add(v)
        session.add(await _applied_event(session, v, now))
    if due:
        await session.flush()
    return len(due)


async def _applied_event(session: AsyncSession, v: CourierShiftVersion, now: datetime) -> CatalogueEvent:
    """The version became the profile's shifts because its day came: the system did it, not whoever's request
    happened to run the check (the person who scheduled it is in its ``courier_shifts_scheduled`` event).
    Where: the courier's province (no client address: no request asked for it)."""
    user = await session.get(StaffUser, v.courier_id)
    office = await session.get(Organisation, user.organisation_id) if user and user.organisation_id else None
    return CatalogueEvent(
        type="courier_shifts_applied",
        subject=((user.username if user else None) or str(v.courier_id))[:64],
        province_code=office.province_code if office else None,
        at=now,
        actor_id=None,
        actor_role=SYSTEM_ACTOR,
        client_ip=None,
        data={"courier_id": str(v.courier_id), "from": v.effective_from.isoformat(), "version": str(v.id)},
    )


async def _courier(
    session: AsyncSession, principal: Principal, user_id: uuid.UUID, *, write: bool
) -> tuple[StaffUser, Organisation | None]:
    user = await session.get(StaffUser, user_id)
    if user is None or user.role != Role.courier:
        raise not_found("bưu tá / courier", user_id)
    office = await session.get(Organisation, user.organisation_id) if user.organisation_id else None
    if principal.role == Role.admin:
        if office is not None:
            await require_province(session, principal, office.province_code)
        return user, office
    if (
        principal.role == Role.dispatcher
        and user.organisation_id
        and principal.org_id == user.organisation_id
    ):
        return user, office
    if not write and principal.role == Role.courier and principal.id == user.id:
        return user, office
    raise not_found("bưu tá / courier", user_id)  # the same answer as for an unknown id


def _event(
    principal: Principal,
    client_ip: str | None,
    type_: str,
    user: StaffUser,
    office: Organisation | None,
    data: dict[str, Any],
) -> Any:
    subject = (user.username or str(user.id))[:64]
    return event(principal, client_ip, type_, subject, data, office.province_code if office else None)


async def schedule(
    session: AsyncSession,
    principal: Principal,
    client_ip: str | None,
    user_id: uuid.UUID,
    data: CourierShiftVersionIn,
) -> CourierShiftVersionPublic:
    user, office = await _courier(session, principal, user_id, write=True)
    check_days(effective_from=data.effective_from)
    first = today()
    if data.effective_from < first:
        raise Problem(
            422,
            "Lịch ca không được bắt đầu trong quá khứ / Shifts cannot start in the past",
            code="catalogue_version_in_past",
        )
    if data.effective_from > first + MAX_AHEAD:
        raise Problem(
            422,
            "Lịch ca bắt đầu quá xa / Shifts start too far ahead (3 years at most)",
            code="date_out_of_range",
        )
    shifts = check_shifts(data.shifts)
    taken = (
        await session.exec(
            _scheduled().where(
                CourierShiftVersion.courier_id == user.id,
                CourierShiftVersion.effective_from == data.effective_from,
            )
        )
    ).first()
    if taken is not None:
        raise Problem(
            409,
            f"Đã có lịch ca từ {data.effective_from} (hủy trước) / Shifts from {data.effective_from} are "
            "scheduled already: cancel them first",
            code="catalogue_version_overlap",
        )
    await apply_due(session, user.id)  # what came due before this one is history first
    row = CourierShiftVersion(
        courier_id=user.id,
        effective_from=data.effective_from,
        shifts=shifts,
        basis=data.basis,
        created_by=principal.id,
    )
    session.add(row)
    session.add(
        _event(
            principal,
            client_ip,
            "courier_shifts_scheduled",
            user,
            office,
            {"courier_id": str(user.id), "from": data.effective_from.isoformat(), "shifts": shifts},
        )
    )
    await session.flush()
    await apply_due(session, user.id)  # from today: the profile's shifts at once
    await session.commit()
    editing_store.changed()
    await session.refresh(row)
    return public(row)


async def list_versions(
    session: AsyncSession, principal: Principal, user_id: uuid.UUID
) -> list[CourierShiftVersionPublic]:
    user, _ = await _courier(session, principal, user_id, write=False)
    rows = (
        await session.exec(
            select(CourierShiftVersion)
            .where(CourierShiftVersion.courier_id == user.id)
            .order_by(col(CourierShiftVersion.effective_from), col(CourierShiftVersion.created_at))
        )
    ).all()
    return [public(v) for v in rows]


async def cancel(
    session: AsyncSession, principal: Principal, client_ip: str | None, user_id: uuid.UUID, day: date
) -> None:
    """Cancel the change scheduled from ``day``; none scheduled then: nothing to do (idempotent). One that
    has started (applied) is history: 422 ``catalogue_version_in_past`` (schedule the pattern anew instead)."""
    user, office = await _courier(session, principal, user_id, write=True)
    check_days(day=day)
    await apply_due(session, user.id)
    rows = (
        await session.exec(
            select(CourierShiftVersion).where(
                CourierShiftVersion.courier_id == user.id,
                CourierShiftVersion.effective_from == day,
                col(CourierShiftVersion.cancelled_at).is_(None),
            )
        )
    ).all()
    if any(v.applied_at is not None for v in rows):
        await session.commit()
        raise Problem(
            422,
            f"Lịch ca từ {day} đã áp dụng / The shifts from {day} have started: schedule new ones instead",
            code="catalogue_version_in_past",
        )
    now = utcnow()
    for v in rows:
        v.cancelled_at, v.cancelled_by = now, principal.id
        session.add(v)
        session.add(
            _event(
                principal,
                client_ip,
                "courier_shifts_cancelled",
                user,
                office,
                {"courier_id": str(user.id), "from": day.isoformat(), "version": str(v.id)},
            )
        )
    await session.commit()
    if rows:
        editing_store.changed()
