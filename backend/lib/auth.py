"""Bearer tokens, the caller (``Principal``) and role guards.

Every request carries at most one bearer JWT. The middleware decodes it into ``request.user`` (``None`` when
anonymous); a present but invalid token is a 401, never silently anonymous. Guards check roles; services
scope queries to the caller's organisation or own records (Decree 13/2023/NĐ-CP: least data per purpose).
"""

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from litestar.connection import ASGIConnection, Request
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.lib import pgnotify
from backend.lib.problems import Problem, forbidden
from backend.lib.ttlcache import TtlCache
from backend.settings import get_settings
from schemas.accounts import Citizen, StaffUser
from schemas.base import utcnow
from schemas.enums import STAFF_ROLES, Role
from schemas.orgs import Organisation

ALGORITHM = "HS256"
ISSUER = "hoso-buudien"


@dataclass(frozen=True)
class Principal:
    id: uuid.UUID
    role: Role
    org_id: uuid.UUID | None = None
    ver: int = 0  # the account's token version the token was issued under (claim ``ver``)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_citizen(self) -> bool:
        return self.role == Role.citizen


def issue_token(principal: Principal, *, ttl_s: int | None = None) -> tuple[str, int]:
    settings = get_settings()
    ttl = ttl_s or settings.token_ttl_s
    now = utcnow()
    claims: dict[str, Any] = {
        "sub": str(principal.id),
        "role": principal.role.value,
        "org": str(principal.org_id) if principal.org_id else None,
        "iat": now,
        "exp": now + timedelta(seconds=ttl),
        "iss": ISSUER,
        "jti": uuid.uuid4().hex,
        "ver": principal.ver,
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM), ttl


# Verified tokens, so a client's every request does not pay the signature check again (HMAC and claim
# parsing cost ~0.1 ms): key (secret, token), value (caller, the token's expiry, still checked on each hit).
_verified: TtlCache[tuple[str, str], tuple[Principal, float]] = TtlCache(300.0, max_entries=50_000)


def decode_token(token: str) -> Principal:
    secret = get_settings().secret_key
    hit = _verified.get((secret, token))
    if hit is not None and time.time() < hit[1]:
        return hit[0]
    principal, exp = _decode(token, secret)
    _verified.put((secret, token), (principal, exp))
    return principal


def _decode(token: str, secret: str) -> tuple[Principal, float]:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "sub", "ver"]},  # a token without a version cannot be revoked
        )
        ver = claims["ver"]
        if type(ver) is not int or ver < 0:
            raise ValueError("ver")
        principal = Principal(
            id=uuid.UUID(claims["sub"]),
            role=Role(claims["role"]),
            org_id=uuid.UUID(claims["org"]) if claims.get("org") else None,
            ver=ver,
        )
        return principal, float(claims["exp"])
    except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
        raise Problem(
            401,
            "Phiên đăng nhập không hợp lệ hoặc đã hết hạn / Invalid or expired token",
            code="invalid_token",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from exc


# A token stays valid until it expires (TOKEN_TTL_S), but a disabled account, one moved to another role or
# organisation, one whose tokens were revoked (its ``token_version`` bumped: password change, "sign out
# everywhere") or one whose organisation was deactivated (issue 23) must lose access sooner: each request checks
# the account -- staff and citizens -- through a short per-process cache. A change applies at once in the
# process that made it (``forget_account``, ``forget_accounts``); on PostgreSQL other processes are told at once
# (triggers of migrations 0002 and 0005 on ``staff_user``, ``organisation`` and ``citizen``, ``pgnotify``), else
# they see it within STAFF_CHECK_TTL_S.
STAFF_CHECK_TTL_S = 30.0


@dataclass(frozen=True)
class AccountState:
    active: bool
    role: Role
    org_id: uuid.UUID | None
    version: int
    org_active: bool = True  # the account's organisation is in service (none: true)

    def matches(self, principal: Principal) -> bool:
        """The account exists, is active and is still what the token says (role, organisation, version)."""
        return (
            self.active
            and self.role == principal.role
            and self.org_id == principal.org_id
            and self.version == principal.ver
        )

    def admits(self, principal: Principal) -> bool:
        return self.matches(principal) and self.org_active


_GONE = AccountState(active=False, role=Role.citizen, org_id=None, version=-1)  # no such account
_accounts: TtlCache[uuid.UUID, AccountState] = TtlCache(STAFF_CHECK_TTL_S, max_entries=100_000)
_STAFF = StaffUser.__table__  # type: ignore[attr-defined]
_CITIZEN = Citizen.__table__  # type: ignore[attr-defined]
_ORG = Organisation.__table__  # type: ignore[attr-defined]


def forget_account(user_id: uuid.UUID) -> None:
    """Check this account against the database on its next request (call after committing a change)."""
    _accounts.forget(user_id)


def forget_accounts() -> None:
    """Check every account against the database on its next request: after an organisation's deactivation (or
    any catalogue edit) committed in this process, its staff's next request is refused; after another process
    changed staff or organisations, or the listener reconnected. Rare, so dropping all is cheaper than knowing
    whose account changed."""
    _accounts.clear()


def _changed_elsewhere(payload: str) -> None:
    if payload in ("staff_user", "organisation"):
        # statement-level triggers of migration 0002: any staff account, or any account's organisation
        # (deactivated: its staff are out), may have changed
        forget_accounts()
    elif payload.startswith("citizen:"):  # row-level trigger of migration 0005: one citizen's version
        try:
            forget_account(uuid.UUID(payload.removeprefix("citizen:")))
        except ValueError:
            forget_accounts()


def _listener_reset(_db: str) -> None:
    forget_accounts()


def install() -> None:
    """Drop cached accounts when another process changes them (PostgreSQL NOTIFY) or the listener reconnects.
    Called once by ``backend.app.create_app``; calling it again changes nothing."""
    pgnotify.subscribe(pgnotify.REFERENCE, _changed_elsewhere)
    pgnotify.on_reset(_listener_reset)


async def load_account(engine: AsyncEngine, principal: Principal) -> AccountState:
    """The account's current state, read from the database (and cached for the next requests)."""
    since = _accounts.generation  # a state read before an invalidation is not kept after it
    async with engine.connect() as conn:
        if principal.role == Role.citizen:
            version = (
                await conn.execute(select(_CITIZEN.c.token_version).where(_CITIZEN.c.id == principal.id))
            ).scalar_one_or_none()
            state = _GONE if version is None else AccountState(True, Role.citizen, None, int(version))
        else:
            row = (
                await conn.execute(
                    select(
                        _STAFF.c.active,
                        _STAFF.c.role,
                        _STAFF.c.organisation_id,
                        _STAFF.c.token_version,
                        _ORG.c.active.label("org_active"),
                    )
                    .select_from(_STAFF.outerjoin(_ORG, _ORG.c.id == _STAFF.c.organisation_id))
                    .where(_STAFF.c.id == principal.id)
                )
            ).first()
            state = (
                _GONE
                if row is None
                else AccountState(
                    bool(row.active),
                    Role(row.role),
                    row.organisation_id,
                    int(row.token_version),
                    row.organisation_id is None or bool(row.org_active),  # an unknown one: not in service
                )
            )
    return _accounts.put(principal.id, state, since=since)


async def _state(app: Any, principal: Principal, fresh: bool) -> AccountState | None:
    state = None if fresh else _accounts.get(principal.id)
    if state is None:
        engine = getattr(app.state, "engine", None)
        if engine is None:  # an app without a database (never in this service)
            return None
        state = await load_account(engine, principal)
    return state


async def account_current(app: Any, principal: Principal, *, fresh: bool = False) -> bool:
    """Whether the caller's account still admits this token: it exists, is active, has the token's role and
    organisation and the token's version, and its organisation is in service. ``fresh`` reads the database
    instead of the cache."""
    state = await _state(app, principal, fresh)
    return state is None or state.admits(principal)


async def account_refusal(app: Any, principal: Principal) -> Problem | None:
    """Why this token no longer admits its caller (None: it does): the account changed (401, sign in again) or
    its organisation was deactivated (403 ``organisation_inactive``: signing in again will not help)."""
    state = await _state(app, principal, False)
    if state is None or state.admits(principal):
        return None
    if state.active and not state.org_active and state.org_id == principal.org_id:
        # Said before a revocation: deactivating an organisation also revokes its staff's tokens, and "sign in
        # again" would not help them.
        return organisation_inactive()
    return account_changed()


ACCOUNT_CHANGED = (
    "Phiên đăng nhập đã bị thu hồi hoặc tài khoản đã thay đổi; hãy đăng nhập lại / "
    "The session was revoked or the account was disabled or changed; sign in again"
)


def account_changed() -> Problem:
    return Problem(
        401,
        ACCOUNT_CHANGED,
        code="account_changed",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


ORGANISATION_INACTIVE = (
    "Đơn vị của tài khoản đã ngừng hoạt động; không thể đăng nhập / "
    "The account's organisation has been deactivated; its staff cannot sign in"
)


def organisation_inactive() -> Problem:
    """Staff of a deactivated organisation (issue 23): refused at sign-in and on every request after."""
    return Problem(403, ORGANISATION_INACTIVE, code="organisation_inactive")


class BearerAuthMiddleware(ASGIMiddleware):
    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        scope["user"] = None
        scope["auth"] = None
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer" and token.strip():
                    principal = decode_token(token.strip())
                    refusal = await account_refusal(scope["app"], principal)
                    if refusal is not None:
                        raise refusal
                    scope["user"] = principal
                    scope["auth"] = token.strip()
                break
        await next_app(scope, receive, send)


def caller(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        raise Problem(
            401,
            "Cần đăng nhập / Sign-in required",
            code="not_authenticated",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


# Province leadership is read-only (issue 23): an operation open to any signed-in caller admits it only when its
# handler says so with ``opt={LEADERSHIP_OPT: True}`` (one's own account, sign-out); default deny.
LEADERSHIP_OPT = "leadership"


def requires(*roles: Role) -> Any:
    """A guard admitting only the given roles (any signed-in caller when none are given, except province
    leadership unless the handler opts in with ``LEADERSHIP_OPT``)."""
    allowed = frozenset(roles)

    # async: Litestar runs a plain function guard in a worker thread, a thread hop on every request.
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        principal = caller(connection)
        fenced = principal.role == Role.leadership and not handler.opt.get(LEADERSHIP_OPT)
        if (allowed and principal.role not in allowed) or (not allowed and fenced):
            raise Problem(
                403,
                f"Vai trò '{principal.role.value}' không được phép / Role '{principal.role.value}' not allowed",
                code="forbidden_role",
            )

    guard.__name__ = "requires_" + "_".join(sorted(r.value for r in allowed) or ["signed_in"])
    return guard


def staff_roles(exclude: Iterable[Role] = ()) -> tuple[Role, ...]:
    return tuple(r for r in STAFF_ROLES if r not in set(exclude))


signed_in = requires()
staff_only = requires(*STAFF_ROLES)


def check_office(principal: Principal, post_office_id: uuid.UUID) -> None:
    """A post office's plans, couriers' positions and booking rules: its own dispatchers' and admins' (403)."""
    if principal.role == Role.admin:
        return
    if principal.role != Role.dispatcher or principal.org_id != post_office_id:
        raise forbidden("Chỉ điều phối viên của bưu cục này / Only this post office's dispatchers")


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    return caller(request)


async def provide_optional_principal(request: Request[Any, Any, Any]) -> Principal | None:
    user = request.scope.get("user")
    return user if isinstance(user, Principal) else None
