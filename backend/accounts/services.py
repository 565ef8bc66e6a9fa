"""Sign-in and the caller's own record."""

import logging
import uuid

from sqlalchemy import update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts import events
from backend.accounts.passwords import verify_password
from backend.catalogue import places
from backend.lib.auth import Principal, forget_account, issue_token, organisation_inactive
from backend.lib.problems import Problem
from schemas.accounts import (
    AddressCreate,
    AddressPublic,
    Citizen,
    CitizenAddress,
    CourierProfile,
    CourierSettings,
    MePublic,
    StaffUser,
    TokenResponse,
    UserPublic,
)
from schemas.enums import Role
from schemas.orgs import Organisation

log = logging.getLogger("backend.accounts")


def staff_public(user: StaffUser, org: Organisation | None) -> UserPublic:
    return UserPublic(
        id=user.id,
        role=user.role,
        username=user.username,
        full_name=user.full_name,
        phone=user.phone,
        organisation_id=user.organisation_id,
        organisation_code=org.code if org else None,
        organisation_name=org.name if org else None,
    )


def _citizen_public(citizen: Citizen) -> UserPublic:
    return UserPublic(id=citizen.id, role=Role.citizen, full_name=citizen.full_name, phone=citizen.phone)


async def staff_login(session: AsyncSession, username: str, password: str) -> TokenResponse:
    user = (await session.exec(select(StaffUser).where(StaffUser.username == username))).one_or_none()
    if not verify_password(user.password_hash if user else None, password) or user is None or not user.active:
        raise Problem(
            401, "Sai tên đăng nhập hoặc mật khẩu / Wrong username or password", code="bad_credentials"
        )
    org = await session.get(Organisation, user.organisation_id) if user.organisation_id else None
    if org is not None and not org.active:  # deactivated (issue 23): its staff no longer act for it
        raise organisation_inactive()
    token, ttl = issue_token(
        Principal(id=user.id, role=user.role, org_id=user.organisation_id, ver=user.token_version)
    )
    return TokenResponse(access_token=token, expires_in=ttl, user=staff_public(user, org))


async def citizen_by_phone(session: AsyncSession, phone: str, *, create: bool = True) -> Citizen | None:
    citizen = (await session.exec(select(Citizen).where(Citizen.phone == phone))).one_or_none()
    if citizen is None and create:
        citizen = Citizen(phone=phone)
        session.add(citizen)
        await session.flush()
    return citizen


async def citizen_token(session: AsyncSession, phone: str, *, client_ip: str | None = None) -> TokenResponse:
    citizen = await citizen_by_phone(session, phone, create=False)
    if citizen is None:  # a first sign-in makes the account: its own event
        citizen = await citizen_by_phone(session, phone)
        assert citizen is not None
        events.record_account_event(
            session,
            account_id=citizen.id,
            account_role=Role.citizen,
            code=events.CREATED,
            actor=Principal(id=citizen.id, role=Role.citizen),
            client_ip=client_ip,
            data={"via": "sign-in"},
        )
    await session.commit()
    token, ttl = issue_token(Principal(id=citizen.id, role=Role.citizen, ver=citizen.token_version))
    return TokenResponse(access_token=token, expires_in=ttl, user=_citizen_public(citizen))


async def bump_token_version(session: AsyncSession, principal_role: Role, account_id: uuid.UUID) -> None:
    """Revoke every token the account holds: its version goes up by one in one statement (no lost update
    between two concurrent revocations), in the caller's transaction. After the commit, call
    ``forget_account(account_id)`` so this process checks again at once (others are told by the triggers of
    migrations 0002 and 0005 on PostgreSQL)."""
    model = Citizen if principal_role == Role.citizen else StaffUser
    table = model.__table__  # type: ignore[union-attr]
    await session.execute(
        update(table).where(table.c.id == account_id).values(token_version=table.c.token_version + 1)
    )


async def sign_out_everywhere(
    session: AsyncSession, principal: Principal, *, client_ip: str | None = None
) -> None:
    """The caller's every token stops working, this one included (a lost phone, a shared computer)."""
    await bump_token_version(session, principal.role, principal.id)
    events.record_account_event(
        session,
        account_id=principal.id,
        account_role=principal.role,
        code=events.SIGNED_OUT_EVERYWHERE,
        actor=principal,
        client_ip=client_ip,
    )
    await session.commit()
    forget_account(principal.id)
    log.info("%s %s signed out everywhere", principal.role.value, principal.id)


async def me(session: AsyncSession, principal: Principal) -> MePublic:
    if principal.is_citizen:
        citizen = await session.get(Citizen, principal.id)
        if citizen is None:
            raise Problem(
                401, "Tài khoản không còn tồn tại / Account no longer exists", code="unknown_account"
            )
        addresses = await session.exec(select(CitizenAddress).where(CitizenAddress.citizen_id == citizen.id))
        return MePublic(
            **_citizen_public(citizen).model_dump(),
            addresses=[AddressPublic.model_validate(a, from_attributes=True) for a in addresses],
        )
    user = await session.get(StaffUser, principal.id)
    if user is None or not user.active:
        raise Problem(401, "Tài khoản không còn hoạt động / Account disabled", code="unknown_account")
    org = await session.get(Organisation, user.organisation_id) if user.organisation_id else None
    courier = await session.get(CourierProfile, user.id) if user.role == Role.courier else None
    return MePublic(
        **staff_public(user, org).model_dump(),
        courier=CourierSettings.model_validate(courier.model_dump(exclude={"user_id"})) if courier else None,
    )


async def staff_org(session: AsyncSession, user_id: uuid.UUID) -> Organisation | None:
    user = await session.get(StaffUser, user_id)
    return await session.get(Organisation, user.organisation_id) if user and user.organisation_id else None


async def add_address(session: AsyncSession, principal: Principal, data: AddressCreate) -> AddressPublic:
    """A citizen saves a home address (map pin or GPS); it must lie in a served commune."""
    if not principal.is_citizen:
        raise Problem(403, "Chỉ công dân lưu địa chỉ / Only citizens save addresses", code="forbidden")
    place = places.locate(await places.served_area(session), data.lat, data.lon)
    if data.is_default:
        for other in (
            await session.exec(select(CitizenAddress).where(CitizenAddress.citizen_id == principal.id))
        ).all():
            other.is_default = False
    row = CitizenAddress(citizen_id=principal.id, commune_code=place.commune_code, **data.model_dump())
    session.add(row)
    await session.commit()
    return AddressPublic.model_validate(row, from_attributes=True)


async def remove_address(session: AsyncSession, principal: Principal, address_id: uuid.UUID) -> None:
    row = await session.get(CitizenAddress, address_id)
    if row is None or row.citizen_id != principal.id:
        raise Problem(404, "Không tìm thấy địa chỉ / Address not found", code="not_found")
    await session.delete(row)
    await session.commit()
