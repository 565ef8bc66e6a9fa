"""Staff accounts and courier profiles: admins manage accounts; an office's dispatchers set its couriers'
shifts, vehicles and skills (the shifts are what booking capacity and routing count)."""

import logging
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts import events
from backend.accounts.passwords import hash_password
from backend.accounts.phones import normalise_phone
from backend.accounts.services import bump_token_version, staff_public
from backend.catalogue import courier_shifts as courier_versions
from backend.catalogue.services import organisation_by_key
from backend.catalogue.shift_rules import check_shifts
from backend.lib.auth import Principal, forget_account
from backend.lib.paging import Paging, fetch_page
from backend.lib.problems import Problem, forbidden, not_found
from schemas.accounts import (
    CourierProfile,
    CourierProfileIn,
    StaffCreate,
    StaffPublic,
    StaffUpdate,
    StaffUser,
    spans_of,
)
from schemas.enums import OrgKind, Role
from schemas.orgs import Organisation

log = logging.getLogger("backend.accounts")
_roster_listeners: list[Callable[[], None]] = []

SKILLS = frozenset({"fees", "assisted"})  # what planning asks of a courier (cash handling, assisted filing)
# Which kind of organisation each staff role belongs to.
ROLE_ORG = {
    Role.courier: OrgKind.post_office,
    Role.dispatcher: OrgKind.post_office,
    Role.desk: OrgKind.desk,
    Role.agency: OrgKind.agency,
    # issue 23: province leadership belongs to the provincial People's Committee (an agency); its reports
    # cover that organisation's province
    Role.leadership: OrgKind.agency,
}


async def organisation(session: AsyncSession, key: str) -> Organisation:
    org = await organisation_by_key(session, key)
    if org is None:
        raise Problem(422, f"Không có tổ chức '{key}' / Unknown organisation '{key}'", code="unknown_org")
    return org


def _public(user: StaffUser, org: Organisation | None) -> StaffPublic:
    return StaffPublic(**staff_public(user, org).model_dump(), active=user.active, created_at=user.created_at)


async def _check_org(session: AsyncSession, role: Role, key: str | None) -> Organisation | None:
    if role == Role.citizen:
        raise Problem(422, "Công dân không là nhân viên / Citizens are not staff", code="invalid_role")
    if role == Role.admin:
        return await organisation(session, key) if key else None
    if not key:
        raise Problem(422, "Cần tổ chức / An organisation is required for this role", code="org_required")
    org = await organisation(session, key)
    if org.kind != ROLE_ORG[role]:
        raise Problem(
            422,
            f"Vai trò {role.value} thuộc {ROLE_ORG[role].value}, không thuộc {org.kind} / "
            f"role {role.value} belongs to a {ROLE_ORG[role].value}, not a {org.kind}",
            code="role_org_mismatch",
        )
    return org


async def list_staff(
    session: AsyncSession,
    principal: Principal,
    paging: Paging,
    role: Role | None = None,
    org_key: str | None = None,
    active: bool | None = None,
) -> tuple[list[StaffPublic], int]:
    """Admins see everyone; a dispatcher, desk or agency officer sees the staff of their own organisation."""
    stmt = select(StaffUser)
    if principal.role != Role.admin:
        if principal.org_id is None or principal.role == Role.courier:
            raise forbidden("Chỉ quản trị hoặc cán bộ của tổ chức / Admins and an organisation's staff only")
        stmt = stmt.where(StaffUser.organisation_id == principal.org_id)
    if org_key:
        stmt = stmt.where(StaffUser.organisation_id == (await organisation(session, org_key)).id)
    if role is not None:
        stmt = stmt.where(StaffUser.role == role)
    if active is not None:
        stmt = stmt.where(col(StaffUser.active).is_(active))
    stmt = stmt.order_by(col(StaffUser.username))
    users, total = await fetch_page(session, stmt, paging)  # type: ignore[arg-type]
    ids = {u.organisation_id for u in users if u.organisation_id}
    orgs = {o.id: o for o in (await session.exec(select(Organisation).where(col(Organisation.id).in_(ids))))}
    return [_public(u, orgs.get(u.organisation_id) if u.organisation_id else None) for u in users], total


async def create_staff(
    session: AsyncSession, principal: Principal, data: StaffCreate, *, client_ip: str | None = None
) -> StaffPublic:
    org = await _check_org(session, data.role, data.organisation)
    taken = (await session.exec(select(func.count()).where(StaffUser.username == data.username))).one()
    if taken:
        raise Problem(409, f"Tên đăng nhập '{data.username}' đã có / username taken", code="username_taken")
    user = StaffUser(
        username=data.username,
        password_hash=hash_password(data.password),
        role=data.role,
        organisation_id=org.id if org else None,
        full_name=data.full_name,
        phone=normalise_phone(data.phone) if data.phone else None,
    )
    session.add(user)
    if data.role == Role.courier:
        await session.flush()
        session.add(CourierProfile(user_id=user.id))
    events.record_account_event(
        session,
        account_id=user.id,
        account_role=user.role,
        code=events.CREATED,
        actor=principal,
        client_ip=client_ip,
        data={"role": user.role.value, "organisation_id": str(org.id) if org else None},
    )
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Problem(
            409, f"Tên đăng nhập '{data.username}' đã có / username taken", code="username_taken"
        ) from None
    _roster_changed()
    log.info("staff %s (%s) created by %s", user.username, user.role.value, principal.id)
    return _public(user, org)


async def update_staff(
    session: AsyncSession,
    principal: Principal,
    user_id: uuid.UUID,
    data: StaffUpdate,
    *,
    client_ip: str | None = None,
) -> StaffPublic:
    user = await session.get(StaffUser, user_id)
    if user is None:
        raise not_found("nhân viên / staff", user_id)
    if user.id == principal.id and data.active is False:
        raise Problem(422, "Không tự khóa tài khoản mình / You cannot disable yourself", code="self_disable")
    fields = data.model_dump(exclude_unset=True)
    before = (user.role, user.organisation_id, user.active, user.password_hash)
    named = (user.full_name, user.phone)
    if data.role is not None and data.role != user.role:
        if user.id == principal.id:
            raise Problem(
                422, "Không tự đổi vai trò của mình / You cannot change your own role", code="self_role"
            )
        key = data.organisation if "organisation" in fields else user.organisation_id
        org = await _check_org(session, data.role, str(key) if key else None)
        user.role = data.role
        user.organisation_id = org.id if org else None
        if data.role == Role.courier and await session.get(CourierProfile, user.id) is None:
            session.add(CourierProfile(user_id=user.id))
    elif "organisation" in fields:
        org = await _check_org(session, user.role, data.organisation)
        user.organisation_id = org.id if org else None
    if data.full_name is not None:
        user.full_name = data.full_name
    if "phone" in fields:
        user.phone = normalise_phone(data.phone) if data.phone else None
    if data.active is not None:
        user.active = data.active
    if data.password is not None:
        user.password_hash = hash_password(data.password)
    after = (user.role, user.organisation_id, user.active, user.password_hash)
    revoked = _revokes(before, after)
    if revoked:
        await bump_token_version(session, user.role, user.id)
    _record_update(session, principal, client_ip, user, before, after, named)
    await session.commit()
    forget_account(user.id)
    _roster_changed()
    log.info(
        "staff %s updated by %s: %s%s",
        user.username,
        principal.id,
        sorted(fields.keys() - {"password"}),
        "; its tokens revoked" if revoked else "",
    )
    org = await session.get(Organisation, user.organisation_id) if user.organisation_id else None
    return _public(user, org)


def _record_update(
    session: AsyncSession,
    principal: Principal,
    client_ip: str | None,
    user: StaffUser,
    before: tuple[Any, ...],
    after: tuple[Any, ...],
    named: tuple[str, str | None],
) -> None:
    """One event per kind of change an update made (none when nothing changed), then ``sessions_revoked``
    naming the changes that ended the sessions. Ids and role names only: no password or hash, and a new name
    or phone is named, not copied."""
    (role, org, active, password), (role2, org2, active2, password2) = before, after
    changes: list[tuple[str, dict[str, Any]]] = []
    if role != role2:
        changes.append((events.ROLE_CHANGED, {"from": role.value, "to": role2.value}))
    if org != org2:
        changes.append(
            (
                events.ORGANISATION_CHANGED,
                {"from": str(org) if org else None, "to": str(org2) if org2 else None},
            )
        )
    if active != active2:
        changes.append((events.ENABLED if active2 else events.DISABLED, {}))
    if password != password2:
        changes.append((events.PASSWORD_CHANGED, {}))
    now = (user.full_name, user.phone)
    fields = [f for f, old, new in zip(("full_name", "phone"), named, now, strict=True) if old != new]
    if fields:
        changes.append((events.UPDATED, {"fields": fields}))
    if _revokes(before, after):
        because = [code for code, _ in changes if code not in (events.UPDATED, events.ENABLED)]
        changes.append((events.SESSIONS_REVOKED, {"because": because}))
    for code, data in changes:
        events.record_account_event(
            session,
            account_id=user.id,
            account_role=user.role,
            code=code,
            actor=principal,
            client_ip=client_ip,
            data=data,
        )


def _revokes(before: tuple[Any, ...], after: tuple[Any, ...]) -> bool:
    """A new password, role or organisation, or disabling, ends every session the account has: a token
    issued before must not outlive what it was issued for (issue 17, item 11)."""
    (role, org, active, password), (role2, org2, active2, password2) = before, after
    return role != role2 or org != org2 or (active and not active2) or password != password2


async def revoke_sessions(
    session: AsyncSession, principal: Principal, user_id: uuid.UUID, *, client_ip: str | None = None
) -> None:
    """An admin ends every session of a staff account (a lost device, a suspected leak); its password and
    status stay as they are."""
    user = await session.get(StaffUser, user_id)
    if user is None:
        raise not_found("nhân viên / staff", user_id)
    await bump_token_version(session, user.role, user.id)
    events.record_account_event(
        session,
        account_id=user.id,
        account_role=user.role,
        code=events.SESSIONS_REVOKED,
        actor=principal,
        client_ip=client_ip,
        data={"because": ["admin"]},
    )
    await session.commit()
    forget_account(user.id)
    log.info("sessions of staff %s revoked by %s", user.username, principal.id)


def on_roster_change(listener: Callable[[], None]) -> None:
    """Call ``listener()`` after each staff account or courier profile change committed in this process.
    Booking lists windows from cached courier shifts and sits above accounts, so it is told through this hook
    (``backend.app.wire_subscriptions``); other processes hear of it by NOTIFY or within the cache's TTL.
    Registering the same listener again changes nothing."""
    if listener not in _roster_listeners:
        _roster_listeners.append(listener)


def roster_listeners() -> list[Callable[[], None]]:
    """What ``on_roster_change`` registered (a copy)."""
    return list(_roster_listeners)


def _roster_changed() -> None:
    for listener in _roster_listeners:
        listener()


async def _courier(session: AsyncSession, principal: Principal, user_id: uuid.UUID) -> StaffUser:
    user = await session.get(StaffUser, user_id)
    if user is None or user.role != Role.courier:
        raise not_found("bưu tá / courier", user_id)
    if principal.role == Role.admin:
        return user
    if principal.role == Role.dispatcher and principal.org_id == user.organisation_id:
        return user
    if principal.role == Role.courier and principal.id == user.id:
        return user
    raise not_found("bưu tá / courier", user_id)  # the same answer as for an unknown id


def listed_shifts(shifts: dict[str, Any]) -> dict[str, list[list[str]]]:
    """Shifts as the API writes them, whichever form is stored (``schemas.accounts.spans_of``)."""
    return spans_of(shifts)


def _profile_answer(user: StaffUser, profile: CourierProfile) -> dict[str, Any]:
    data = profile.model_dump(exclude={"user_id"})
    data["shifts"] = listed_shifts(data.get("shifts") or {})
    return {"user_id": user.id, "username": user.username, **data}


async def get_profile(session: AsyncSession, principal: Principal, user_id: uuid.UUID) -> dict[str, Any]:
    user = await _courier(session, principal, user_id)
    profile = await session.get(CourierProfile, user.id) or CourierProfile(user_id=user.id)
    return _profile_answer(user, profile)


async def put_profile(
    session: AsyncSession,
    principal: Principal,
    user_id: uuid.UUID,
    data: CourierProfileIn,
    *,
    client_ip: str | None = None,
) -> dict[str, Any]:
    """Replace a courier's profile (admin or the dispatchers of the courier's office). A shift change
    counts at once in new bookings and plans; appointments already booked keep their windows."""
    if principal.role not in (Role.admin, Role.dispatcher):
        raise forbidden("Chỉ quản trị hoặc điều phối viên / Admins and dispatchers only")
    user = await _courier(session, principal, user_id)
    unknown = set(data.skills) - SKILLS
    if unknown:
        raise Problem(
            422,
            f"Kỹ năng không hợp lệ: {sorted(unknown)} / unknown skills",
            code="invalid_skills",
            extra={"allowed": sorted(SKILLS)},
        )
    row = CourierProfile(
        user_id=user.id,
        vehicle=data.vehicle,
        capacity_items=data.capacity_items,
        capacity_kg=data.capacity_kg,
        shifts=check_shifts(data.shifts),
        skills=sorted(set(data.skills)),
        home_lat=data.home_lat,
        home_lon=data.home_lon,
    )
    await courier_versions.apply_due(session, user.id)  # shifts scheduled up to today are the old ones
    old = await session.get(CourierProfile, user.id)
    was = _profile_answer(user, old) if old is not None else {}
    fresh = _profile_answer(user, row)
    changed = sorted(k for k in fresh if k not in ("user_id", "username") and was.get(k) != fresh[k])
    row = await session.merge(row)
    if changed:
        events.record_account_event(
            session,
            account_id=user.id,
            account_role=user.role,
            code=events.COURIER_PROFILE_CHANGED,
            actor=principal,
            client_ip=client_ip,
            data={"fields": changed},
        )
    await session.commit()
    _roster_changed()
    log.info("courier profile of %s set by %s", user.username, principal.id)
    return _profile_answer(user, row)
