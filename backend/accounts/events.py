"""Account events: one row per change to an account, added to the caller's transaction (the developer guide:
every state change is an event row written in the same transaction, with who, when and where).

``data`` says what changed and never carries a password, its hash or a token; a changed name or phone is
named, not copied (Decree 13/2023/NĐ-CP art. 3: no more personal data than the purpose needs).
"""

import uuid
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal
from backend.lib.clientip import caller_ip
from backend.lib.paging import Paging, fetch_page
from backend.lib.problems import not_found
from schemas.account_events import AccountEvent, AccountEventPublic
from schemas.accounts import StaffUser
from schemas.enums import Role

# What the code can change about an account (schemas.account_events.AccountEvent.code).
CREATED = "created"
UPDATED = "updated"  # name or phone
PASSWORD_CHANGED = "password_changed"
ROLE_CHANGED = "role_changed"
ORGANISATION_CHANGED = "organisation_changed"
DISABLED = "disabled"
ENABLED = "enabled"
SESSIONS_REVOKED = "sessions_revoked"  # by an admin, or as the consequence of a change (data.because)
SIGNED_OUT_EVERYWHERE = "signed_out_everywhere"  # by the account itself
COURIER_PROFILE_CHANGED = "courier_profile_changed"

# Never written to ``data``, whatever a caller passes.
_SECRETS = frozenset({"password", "password_hash", "token", "access_token", "token_version"})


def client_ip_of(request: Any) -> str:
    """The caller's address as the rate limiter sees it (``X-Forwarded-For`` only from ``TRUSTED_PROXIES``)."""
    return caller_ip(request)


def record_account_event(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    account_role: Role,
    code: str,
    actor: Principal | None,
    client_ip: str | None,
    data: dict[str, Any] | None = None,
) -> AccountEvent:
    """Add one event row to the session; it commits (or rolls back) with the change it records."""
    clean = {k: v for k, v in (data or {}).items() if k not in _SECRETS}
    event = AccountEvent(
        account_kind="citizen" if account_role == Role.citizen else "staff",
        account_id=account_id,
        code=code,
        actor_id=actor.id if actor else None,
        actor_role=actor.role.value if actor else None,
        client_ip=client_ip[:45] if client_ip else None,
        data=clean,
    )
    session.add(event)
    return event


async def list_staff_events(
    session: AsyncSession, user_id: uuid.UUID, paging: Paging
) -> tuple[list[AccountEventPublic], int]:
    """A staff account's events, newest first; 404 for an unknown account."""
    if await session.get(StaffUser, user_id) is None:
        raise not_found("nhân viên / staff", user_id)
    stmt = (
        select(AccountEvent)
        .where(AccountEvent.account_kind == "staff", AccountEvent.account_id == user_id)
        .order_by(col(AccountEvent.at).desc(), col(AccountEvent.id))
    )
    rows, total = await fetch_page(session, stmt, paging)  # type: ignore[arg-type]
    return [AccountEventPublic.model_validate(r, from_attributes=True) for r in rows], total
