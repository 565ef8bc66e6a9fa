"""HTTP for sign-in and ``/me``."""

from typing import Any
from uuid import UUID

from litestar import Controller, Request, delete, get, post
from litestar.di import Provide
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts import firebase, otp, services
from backend.accounts.phones import normalise_phone
from backend.lib.auth import Principal, provide_principal, signed_in
from backend.settings import get_settings
from schemas.accounts import (
    AddressCreate,
    AddressPublic,
    FirebaseExchange,
    MePublic,
    OtpRequest,
    OtpVerify,
    StaffLogin,
    TokenResponse,
)


def provide_otp_sender(request: Request[Any, Any, Any]) -> otp.OtpSender:
    sender: otp.OtpSender = getattr(request.app.state, "otp_sender", None) or otp.LogOtpSender()
    return sender


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]

    @post("/staff/login", status_code=200)
    async def staff_login(self, db_session: AsyncSession, data: StaffLogin) -> TokenResponse:
        return await services.staff_login(db_session, data.username.strip(), data.password)

    @post(
        "/citizen/otp",
        status_code=202,
        dependencies={"sender": Provide(provide_otp_sender, sync_to_thread=False)},
    )
    async def citizen_otp(
        self, db_session: AsyncSession, data: OtpRequest, sender: otp.OtpSender
    ) -> dict[str, Any]:
        phone = normalise_phone(data.phone)
        settings = get_settings()
        await otp.request_code(db_session, settings, sender, phone)
        return {"phone": phone, "expires_in": settings.otp_ttl_s}

    @post("/citizen/verify", status_code=200)
    async def citizen_verify(self, db_session: AsyncSession, data: OtpVerify) -> TokenResponse:
        phone = normalise_phone(data.phone)
        await otp.check_code(db_session, get_settings(), phone, data.code.strip())
        return await services.citizen_token(db_session, phone)

    @post("/firebase", status_code=200)
    async def firebase_exchange(self, db_session: AsyncSession, data: FirebaseExchange) -> TokenResponse:
        phone = normalise_phone(await firebase.verified_phone(get_settings(), data.id_token))
        return await services.citizen_token(db_session, phone)


@get("/me", guards=[signed_in], tags=["auth"], dependencies={"principal": Provide(provide_principal)})
async def me(db_session: AsyncSession, principal: Principal) -> MePublic:
    return await services.me(db_session, principal)


@get(
    "/citizens/{citizen_id:uuid}",
    guards=[signed_in],
    tags=["auth"],
    dependencies={"principal": Provide(provide_principal)},
)
async def citizen(db_session: AsyncSession, principal: Principal, citizen_id: UUID) -> MePublic:
    return await services.citizen_record(db_session, principal, citizen_id)


@post(
    "/me/addresses", guards=[signed_in], tags=["auth"], dependencies={"principal": Provide(provide_principal)}
)
async def add_address(db_session: AsyncSession, principal: Principal, data: AddressCreate) -> AddressPublic:
    return await services.add_address(db_session, principal, data)


@delete(
    "/me/addresses/{address_id:uuid}",
    guards=[signed_in],
    tags=["auth"],
    dependencies={"principal": Provide(provide_principal)},
    status_code=204,
)
async def remove_address(db_session: AsyncSession, principal: Principal, address_id: UUID) -> None:
    await services.remove_address(db_session, principal, address_id)


ROUTES: list[Any] = [AuthController, me, citizen, add_address, remove_address]
