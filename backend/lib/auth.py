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

from backend.lib import pgnotify
from backend.lib.problems import Problem, forbidden
from backend.lib.ttlcache import TtlCache
from backend.settings import get_settings
from schemas.accounts import StaffUser
from schemas.base import utcnow
from schemas.enums import STAFF_ROLES, Role

ALGORITHM = "HS256"
ISSUER = "hoso-buudien"


@dataclass(frozen=True)
class Principal:
    id: uuid.UUID
    role: Role
    org_id: uuid.UUID | None = None

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
            options={"require": ["exp", "sub"]},
        )
        principal = Principal(
            id=uuid.UUID(claims["sub"]),
            role=Role(claims["role"]),
            org_id=uuid.UUID(claims["org"]) if claims.get("org") else None,
        )
        return principal, float(claims["exp"])
    except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
        raise Problem(
            401,
            "Phiên đăng nhập không hợp lệ hoặc đã hết hạn / Invalid or expired token",
            code="invalid_token",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from exc


# A staff token stays valid until it expires (TOKEN_TTL_S), but a disabled account, or one moved to another
# role or organisation, must lose access sooner: each staff request checks the account, through a short
# per-process cache (an admin's change applies at once in its own process, within STAFF_CHECK_TTL_S elsewhere).
STAFF_CHECK_TTL_S = 30.0
_staff_seen: TtlCache[uuid.UUID, bool] = TtlCache(STAFF_CHECK_TTL_S, max_entries=100_000)
_STAFF = StaffUser.__table__  # type: ignore[attr-defined]


def forget_staff(user_id: uuid.UUID) -> None:
    _staff_seen.forget(user_id)


# Another process changed an account (PostgreSQL trigger on staff_user): check again at once.
pgnotify.subscribe(pgnotify.REFERENCE, lambda table: _staff_seen.clear() if table == "staff_user" else None)
pgnotify.on_reset(lambda _db: _staff_seen.clear())


async def _staff_current(scope: Scope, principal: Principal) -> bool:
    hit = _staff_seen.get(principal.id)
    if hit is not None:
        return hit
    engine = getattr(scope["app"].state, "engine", None)
    if engine is None:  # an app without a database (never in this service)
        return True
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(_STAFF.c.active, _STAFF.c.role, _STAFF.c.organisation_id).where(
                    _STAFF.c.id == principal.id
                )
            )
        ).first()
    ok = (
        row is not None
        and row.active
        and row.role == principal.role
        and row.organisation_id == principal.org_id
    )
    return _staff_seen.put(principal.id, bool(ok))


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
                    if principal.role != Role.citizen and not await _staff_current(scope, principal):
                        raise Problem(
                            401,
                            "Tài khoản đã bị khóa hoặc thay đổi; hãy đăng nhập lại / "
                            "The account was disabled or changed; sign in again",
                            code="account_changed",
                            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                        )
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


def requires(*roles: Role) -> Any:
    """A guard admitting only the given roles (any signed-in caller when none are given)."""
    allowed = frozenset(roles)

    # async: Litestar runs a plain function guard in a worker thread, a thread hop on every request.
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = caller(connection)
        if allowed and principal.role not in allowed:
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
