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
from backend.lib.auth import LEADERSHIP_OPT, Principal, provide_principal, requires, signed_in
from backend.lib.openapi import AUTH, CITIZEN_APP, CONSOLE, problems
from backend.lib.paging import Paging, provide_paging
from backend.settings import get_settings
from schemas.account_events import AccountEventPage
from schemas.accounts import (
    AddressCreate,
    AddressPublic,
    CourierProfileIn,
    CourierProfilePublic,
    FirebaseExchange,
    MePublic,
    OtpRequest,
    OtpSent,
    OtpVerify,
    StaffCreate,
    StaffLogin,
    StaffPage,
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
    tags = [AUTH]

    @post(
        "/staff/login",
        status_code=200,
        summary="Sign in as staff",
        description="Staff (couriers, dispatchers, desk clerks, agency officers, admins) sign in with username "
        "and password and get a bearer token carrying their role and organisation, with the account. No "
        "sign-in needed. Limited per username and per client IP (429 with Retry-After). Wrong username, "
        "password or a disabled account all answer the same 401. The right password of an account whose "
        "organisation was deactivated: 403 `organisation_inactive` (its tokens already issued are refused the "
        "same way from the next request).",
    )
    async def sign_in_staff(
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
        summary="Send a citizen a sign-in code",
        description="A citizen's first step of signing in: a one-time code is sent by SMS to the phone number "
        "(local `09…` or `+84…`; answered normalised to `+84…`), valid `expires_in` seconds. No sign-in needed. "
        "Limited per number and per client IP (429 with Retry-After). A new request sends a new code. Mobile "
        "numbers only (a landline or a number outside the mobile ranges: 422 `phone_not_mobile`); when the SMS "
        "provider does not take the message, 503 `sms_unavailable` with Retry-After, and that code is void.",
        responses=problems(422),
    )
    async def send_citizen_code(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: JSONBody[OtpRequest],
        sender: NamedDependency[otp.OtpSender],
    ) -> OtpSent:
        phone = normalise_phone(data.phone)
        await ratelimit.limit_account(request.app, "otp_send", phone)
        settings = get_settings()
        await otp.request_code(db_session, settings, sender, phone)
        return OtpSent(phone=phone, expires_in=settings.otp_ttl_s)

    @post(
        "/citizen/verify",
        status_code=200,
        summary="Sign in a citizen with the code",
        description="Checks the one-time code sent to the phone (single use; wrong, expired or used codes are "
        "401) and answers a bearer token with the citizen's account. The first sign-in of a number creates the "
        "citizen's account (an account event `created`). No sign-in needed; limited per number and client IP.",
        responses=problems(422),
    )
    async def verify_citizen_code(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: JSONBody[OtpVerify],
    ) -> TokenResponse:
        phone = normalise_phone(data.phone)
        await ratelimit.limit_account(request.app, "otp_verify", phone)
        await otp.check_code(db_session, get_settings(), phone, data.code.strip())
        return await services.citizen_token(db_session, phone, client_ip=events.client_ip_of(request))

    @post(
        "/firebase",
        status_code=200,
        summary="Sign in a citizen with Firebase",
        description="Exchanges a Firebase Authentication ID token (phone sign-in done in the app) for this "
        "service's bearer token. The token must carry a phone number (else 422); the first sign-in of a number "
        "creates the citizen's account. 503 when Firebase sign-in is not configured or Google's keys cannot be "
        "read (retry later).",
        responses=problems(422, 503),
    )
    async def exchange_firebase_token(
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
        opt={LEADERSHIP_OPT: True},
        dependencies={"principal": Provide(provide_principal)},
        summary="Sign out everywhere",
        description="Any signed-in account: every token of the caller's account stops working, this one "
        "included (at once in every process on PostgreSQL, else within 30 s). Recorded as an account event. "
        "Calling it again only ends the sessions opened since.",
    )
    async def sign_out_everywhere(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> None:
        await services.sign_out_everywhere(db_session, principal, client_ip=events.client_ip_of(request))


@get(
    "/me",
    guards=[signed_in],
    opt={LEADERSHIP_OPT: True},
    tags=[AUTH],
    dependencies={"principal": Provide(provide_principal)},
    summary="Get my account",
    description="Any signed-in account: the caller's own account; a citizen's saved addresses, a courier's "
    "vehicle, load limits, weekly shifts and skills, staff's organisation. Read-only.",
)
async def get_me(
    db_session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
) -> MePublic:
    return await services.me(db_session, principal)


@get(
    "/citizens/{citizen_id:uuid}",
    guards=[signed_in],
    tags=[CONSOLE],
    dependencies={"principal": Provide(provide_principal)},
    summary="Get a citizen's record",
    description="A citizen's record: their own for a citizen; for staff only the fields (`fields`) their "
    "organisation's current task for this citizen needs (a dossier or appointment it handles), else 404 "
    "(Decree 13/2023/NĐ-CP art. 3: least data for the purpose). Every staff read is written to the "
    "personal-data audit; `X-Purpose` (percent-encoded) or `?purpose=` says why.",
    responses=problems(404),
)
async def get_citizen(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    citizen_id: FromPath[UUID],
) -> CitizenRecord:
    return await citizen_access.citizen_record(db_session, principal, citizen_id, access_of(request))


@post(
    "/me/addresses",
    guards=[signed_in],
    tags=[CITIZEN_APP],
    dependencies={"principal": Provide(provide_principal)},
    summary="Save an address",
    description="Citizens only: saves a home address (map pin or GPS) for bookings. It must lie in a commune "
    "the service covers (else 422); `is_default` makes it the default and the others not. Not idempotent: "
    "each call saves a new address.",
    responses=problems(422),
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
    tags=[CITIZEN_APP],
    dependencies={"principal": Provide(provide_principal)},
    status_code=204,
    summary="Remove a saved address",
    description="Citizens only, their own addresses (another's is a 404). Booked appointments keep their "
    "own copy of the address.",
    responses=problems(404),
)
async def remove_address(
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    address_id: FromPath[UUID],
) -> None:
    await services.remove_address(db_session, principal, address_id)


class StaffController(Controller):
    path = "/staff"
    tags = [CONSOLE]
    dependencies = {
        "principal": Provide(provide_principal),
        "paging": Provide(provide_paging, sync_to_thread=False),
    }

    @get(
        "/",
        guards=[requires(Role.admin, Role.dispatcher, Role.desk, Role.agency)],
        summary="List staff accounts",
        description="Admins see every staff account; dispatchers, desk clerks and agency officers their own "
        "organisation's. Filter by `role`, `org` (code or id; unknown is 422) and `active`; by username. "
        "Paged (`limit`, `offset`).",
        responses=problems(422),
    )
    async def list_staff(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        paging: NamedDependency[Paging],
        role: FromQuery[Role | None] = None,
        org: Annotated[str | None, QueryParameter(max_length=64)] = None,
        active: FromQuery[bool | None] = None,
    ) -> StaffPage:
        items, total = await staff.list_staff(db_session, principal, paging, role, org, active)
        return StaffPage(items=items, total=total, limit=paging.limit, offset=paging.offset)

    @post(
        "/",
        guards=[requires(Role.admin)],
        summary="Create a staff account",
        description="Admin only. A new staff account with a role and (except admins) an organisation of the "
        "right kind (422 otherwise); a courier gets a default profile to adjust. A taken username is 409. "
        "Recorded as an account event `created`.",
        responses=problems(409, 422),
    )
    async def create_staff(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[StaffCreate],
    ) -> StaffPublic:
        return await staff.create_staff(db_session, principal, data, client_ip=events.client_ip_of(request))

    @patch(
        "/{user_id:uuid}",
        guards=[requires(Role.admin)],
        summary="Change a staff account",
        description="Admin only. Changes name, phone, role, organisation or password, or disables or enables "
        "the account; absent fields stay. A new role, organisation or password, or disabling, ends the "
        "account's sessions. Each kind of change is an account event (`GET /staff/{id}/events`). An admin "
        "cannot disable or re-role themselves (422).",
        responses=problems(404, 409, 422),
    )
    async def update_staff(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        user_id: FromPath[UUID],
        data: JSONBody[StaffUpdate],
    ) -> StaffPublic:
        return await staff.update_staff(
            db_session, principal, user_id, data, client_ip=events.client_ip_of(request)
        )

    @post(
        "/{user_id:uuid}/revoke-sessions",
        guards=[requires(Role.admin)],
        status_code=204,
        summary="End a staff account's sessions",
        description="Admin only. Every token of the account stops working (at once in every process on "
        "PostgreSQL, else within 30 s); open desk feeds end. Recorded as an account event.",
        responses=problems(404),
    )
    async def revoke_staff_sessions(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        user_id: FromPath[UUID],
    ) -> None:
        await staff.revoke_sessions(db_session, principal, user_id, client_ip=events.client_ip_of(request))

    @get(
        "/{user_id:uuid}/events",
        guards=[requires(Role.admin)],
        summary="List a staff account's events",
        description="Admin only. What happened to a staff account: created, role, organisation or password "
        "changed, disabled or enabled, sessions ended, courier profile changed; who did it, when and from "
        "where; newest first. No password, hash or token is ever recorded. Paged (`limit`, `offset`).",
        responses=problems(404),
    )
    async def list_staff_events(
        self,
        db_session: NamedDependency[AsyncSession],
        paging: NamedDependency[Paging],
        user_id: FromPath[UUID],
    ) -> AccountEventPage:
        items, total = await events.list_staff_events(db_session, user_id, paging)
        return AccountEventPage(items=items, total=total, limit=paging.limit, offset=paging.offset)


class CourierProfileController(Controller):
    path = "/couriers/{user_id:uuid}/profile"
    tags = [CONSOLE]
    dependencies = {"principal": Provide(provide_principal)}
    guards = [requires(Role.admin, Role.dispatcher, Role.courier)]

    @get(
        "/",
        summary="Get a courier's profile",
        description="Vehicle, load limits, weekly shifts (ISO weekday -> [start, end] spans in Vietnam time) "
        "and skills. Admins, the dispatchers of the courier's post office, and the courier. The answer can be "
        "written back as it is.",
        responses=problems(404),
    )
    async def get_courier_profile(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        user_id: FromPath[UUID],
    ) -> CourierProfilePublic:
        return CourierProfilePublic.model_validate(await staff.get_profile(db_session, principal, user_id))

    @put(
        "/",
        guards=[requires(Role.admin, Role.dispatcher)],
        summary="Replace a courier's profile",
        description="Admins and the dispatchers of the courier's post office. Replaces the whole profile "
        "(idempotent); shifts count at once in new bookings and route plans, booked appointments keep their "
        "windows. Unknown skills or malformed shifts are 422. Recorded as an account event.",
        responses=problems(404, 422),
    )
    async def replace_courier_profile(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        user_id: FromPath[UUID],
        data: JSONBody[CourierProfileIn],
    ) -> CourierProfilePublic:
        answer = await staff.put_profile(
            db_session, principal, user_id, data, client_ip=events.client_ip_of(request)
        )
        return CourierProfilePublic.model_validate(answer)


ROUTES: list[Any] = [
    AuthController,
    get_me,
    get_citizen,
    add_address,
    remove_address,
    StaffController,
    CourierProfileController,
]
