"""HTTP for sign-in and ``/me``."""

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, delete, get, patch, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts import citizen_access, events, firebase, otp, services, staff
from backend.accounts.phones import normalise_phone
from backend.audit.services import access_of
from backend.lib import ratelimit
from backend.lib.auth import Principal, provide_principal, requires, signed_in
from backend.lib.paging import Paging, page, provide_paging
from backend.settings import get_settings
from schemas.account_events import AccountEventPage
from schemas.accounts import (
    AddressCreate,
    AddressPublic,
    CourierProfileIn,
    FirebaseExchange,
    MePublic,
    OtpRequest,
    OtpVerify,
    StaffCreate,
    StaffLogin,
    StaffPublic,
    StaffUpdate,
    TokenResponse,
)
from schemas.audit import CitizenRecord
from schemas.enums import Role


def provide_otp_sender(request: Request[Any, Any, Any]) -> otp.OtpSender:
    sender: otp.OtpSender = getattr(request.app.state, "otp_sender", None) or otp.LogOtpSender()
    return sender


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]

    @post("/staff/login", status_code=200)
    async def staff_login(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: JSONBody[StaffLogin],
    ) -> TokenResponse:
        await ratelimit.limit_account(request.app, "login", data.username.strip().lower())
        return await services.staff_login(db_session, data.username.strip(), data.password)

    @post(
        "/citizen/otp",
        status_code=202,
        dependencies={"sender": Provide(provide_otp_sender, sync_to_thread=False)},
    )
    async def citizen_otp(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: JSONBody[OtpRequest],
        sender: NamedDependency[otp.OtpSender],
    ) -> dict[str, Any]:
        phone = normalise_phone(data.phone)
        await ratelimit.limit_account(request.app, "otp_send", phone)
        settings = get_settings()
        await otp.request_code(db_session, settings, sender, phone)
        return {"phone": phone, "expires_in": settings.otp_ttl_s}

    @post("/citizen/verify", status_code=200)
    async def citizen_verify(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: JSONBody[OtpVerify],
    ) -> TokenResponse:
        phone = normalise_phone(data.phone)
        await ratelimit.limit_account(request.app, "otp_verify", phone)
        await otp.check_code(db_session, get_settings(), phone, data.code.strip())
        return await services.citizen_token(db_session, phone, client_ip=events.client_ip_of(request))

    @post("/firebase", status_code=200)
    async def firebase_exchange(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: JSONBody[FirebaseExchange],
    ) -> TokenResponse:
        phone = normalise_phone(await firebase.verified_phone(get_settings(), data.id_token))
        return await services.citizen_token(db_session, phone, client_ip=events.client_ip_of(request))

    @post(
        "/logout-all",
        status_code=204,
        guards=[signed_in],
        dependencies={"principal": Provide(provide_principal)},
    )
    async def logout_all(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> None:
        """Sign out everywhere: every token of the caller's account stops working, this one included."""
        await services.sign_out_everywhere(db_session, principal, client_ip=events.client_ip_of(request))


@get("/me", guards=[signed_in], tags=["auth"], dependencies={"principal": Provide(provide_principal)})
async def me(db_session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]) -> MePublic:
    return await services.me(db_session, principal)


@get(
    "/citizens/{citizen_id:uuid}",
    guards=[signed_in],
    tags=["auth"],
    dependencies={"principal": Provide(provide_principal)},
)
async def citizen(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    citizen_id: FromPath[UUID],
) -> CitizenRecord:
    """A citizen's record: their own for a citizen; for staff only the fields their organisation's current
    task for this citizen needs (``backend/accounts/citizen_access.py``), else 404; every staff read is
    audited (Decree 13/2023/NĐ-CP). ``X-Purpose`` (or ``?purpose=``) says why, for the audit."""
    return await citizen_access.citizen_record(db_session, principal, citizen_id, access_of(request))


@post(
    "/me/addresses", guards=[signed_in], tags=["auth"], dependencies={"principal": Provide(provide_principal)}
)
async def add_address(
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    data: JSONBody[AddressCreate],
) -> AddressPublic:
    return await services.add_address(db_session, principal, data)


@delete(
    "/me/addresses/{address_id:uuid}",
    guards=[signed_in],
    tags=["auth"],
    dependencies={"principal": Provide(provide_principal)},
    status_code=204,
)
async def remove_address(
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    address_id: FromPath[UUID],
) -> None:
    await services.remove_address(db_session, principal, address_id)


class StaffController(Controller):
    path = "/staff"
    tags = ["accounts"]
    dependencies = {
        "principal": Provide(provide_principal),
        "paging": Provide(provide_paging, sync_to_thread=False),
    }

    @get("/", guards=[requires(Role.admin, Role.dispatcher, Role.desk, Role.agency)])
    async def list_staff(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        paging: NamedDependency[Paging],
        role: FromQuery[Role | None] = None,
        org: Annotated[str | None, QueryParameter(max_length=64)] = None,
        active: FromQuery[bool | None] = None,
    ) -> dict[str, Any]:
        """Staff accounts: every one for an admin, one's own organisation's for its staff."""
        items, total = await staff.list_staff(db_session, principal, paging, role, org, active)
        return page(items, total, paging)

    @post("/", guards=[requires(Role.admin)])
    async def create(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[StaffCreate],
    ) -> StaffPublic:
        """A new account (admin); a courier gets a default profile to adjust."""
        return await staff.create_staff(db_session, principal, data, client_ip=events.client_ip_of(request))

    @patch("/{user_id:uuid}", guards=[requires(Role.admin)])
    async def update(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        user_id: FromPath[UUID],
        data: JSONBody[StaffUpdate],
    ) -> StaffPublic:
        """Change name, phone, role, organisation, password, or disable an account (admin). A new role,
        organisation or password, or disabling, ends the account's sessions. Each kind of change is an
        account event (``GET /staff/{id}/events``)."""
        return await staff.update_staff(
            db_session, principal, user_id, data, client_ip=events.client_ip_of(request)
        )

    @post("/{user_id:uuid}/revoke-sessions", guards=[requires(Role.admin)], status_code=204)
    async def revoke_sessions(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        user_id: FromPath[UUID],
    ) -> None:
        """End every session of a staff account (admin): its tokens stop working at once."""
        await staff.revoke_sessions(db_session, principal, user_id, client_ip=events.client_ip_of(request))

    @get("/{user_id:uuid}/events", guards=[requires(Role.admin)])
    async def account_events(
        self,
        db_session: NamedDependency[AsyncSession],
        paging: NamedDependency[Paging],
        user_id: FromPath[UUID],
    ) -> AccountEventPage:
        """What happened to a staff account (admin): created, role, organisation or password changed,
        disabled or enabled, sessions ended, courier profile changed; who did it, when and from where;
        newest first. No password, hash or token is ever recorded."""
        items, total = await events.list_staff_events(db_session, user_id, paging)
        return AccountEventPage(items=items, total=total, limit=paging.limit, offset=paging.offset)


class CourierProfileController(Controller):
    path = "/couriers/{user_id:uuid}/profile"
    tags = ["accounts"]
    dependencies = {"principal": Provide(provide_principal)}
    guards = [requires(Role.admin, Role.dispatcher, Role.courier)]

    @get("/")
    async def show(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        user_id: FromPath[UUID],
    ) -> dict[str, Any]:
        """Vehicle, load limits, weekly shifts and skills (admin, the office's dispatchers, the courier)."""
        return await staff.get_profile(db_session, principal, user_id)

    @put("/", guards=[requires(Role.admin, Role.dispatcher)])
    async def replace(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        user_id: FromPath[UUID],
        data: JSONBody[CourierProfileIn],
    ) -> dict[str, Any]:
        """Replace the profile; shifts count at once in new bookings and plans."""
        return await staff.put_profile(
            db_session, principal, user_id, data, client_ip=events.client_ip_of(request)
        )


ROUTES: list[Any] = [
    AuthController,
    me,
    citizen,
    add_address,
    remove_address,
    StaffController,
    CourierProfileController,
]
