"""A citizen's own profile: name, preferred language and national id (CCCD), and the desk's check of the number
against the card at the counter.

The number is checked against its structure (``identity_cccd``: Circular 59/2021/TT-BCA art. 7, province codes
of Circular 07/2016/TT-BCA) before it is stored. It is the citizen's; staff are never shown it whole
(Decree 13/2023/NĐ-CP art. 3): a desk clerk types the number off the card and the server compares
(``backend/custody/recipients.py``, attempts limited by ``codeguard``); a courier at a delivery does the same.
A new number drops the earlier verification. Every change is an ``account_event`` of the citizen naming the
fields that changed, never a value.
"""

import hmac
import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts import events
from backend.accounts.authorisations import checked_number
from backend.accounts.identity_cccd import mask
from backend.lib.auth import Principal
from backend.lib.problems import Problem
from schemas.accounts import Citizen
from schemas.base import utcnow
from schemas.enums import Role
from schemas.identity import CitizenIdentityView, CitizenProfile, CitizenProfileUpdate

NATIONAL_ID_VERIFIED = "national_id_verified"


async def _citizen(session: AsyncSession, principal: Principal, *, for_update: bool = False) -> Citizen:
    if not principal.is_citizen:
        raise Problem(403, "Chỉ công dân có hồ sơ cá nhân / Only citizens have a profile", code="forbidden")
    citizen = await session.get(Citizen, principal.id, with_for_update=for_update)
    if citizen is None:
        raise Problem(401, "Tài khoản không còn tồn tại / Account no longer exists", code="unknown_account")
    return citizen


def profile_of(citizen: Citizen) -> CitizenProfile:
    return CitizenProfile(
        id=citizen.id,
        phone=citizen.phone,
        full_name=citizen.full_name,
        preferred_language="en" if citizen.preferred_language == "en" else "vi",
        national_id=citizen.national_id,
        national_id_verified_at=citizen.national_id_verified_at,
        exempt_groups=list(citizen.exempt_groups or []),
    )


async def profile(session: AsyncSession, principal: Principal) -> CitizenProfile:
    return profile_of(await _citizen(session, principal))


async def update_profile(
    session: AsyncSession, principal: Principal, data: CitizenProfileUpdate, *, client_ip: str | None
) -> CitizenProfile:
    """Apply the fields the body names (``null`` clears a name or a number); one ``updated`` event naming
    them. Nothing is written when nothing changes."""
    citizen = await _citizen(session, principal, for_update=True)
    given = data.model_fields_set
    changed: list[str] = []
    if "full_name" in given:
        name = data.full_name.strip() if data.full_name else None
        if name != citizen.full_name:
            citizen.full_name = name or None
            changed.append("full_name")
    if (
        "preferred_language" in given
        and data.preferred_language
        and data.preferred_language != citizen.preferred_language
    ):
        citizen.preferred_language = data.preferred_language
        changed.append("preferred_language")
    if "national_id" in given:
        number = checked_number(data.national_id) if data.national_id is not None else None
        if number != citizen.national_id:
            citizen.national_id = number
            citizen.national_id_verified_at = citizen.national_id_verified_by = None
            changed.append("national_id")
    if changed:
        events.record_account_event(
            session,
            account_id=citizen.id,
            account_role=Role.citizen,
            code=events.UPDATED,
            actor=principal,
            client_ip=client_ip,
            data={"fields": changed},
        )
        await session.commit()
    return profile_of(citizen)


def number_matches(typed: str, on_file: str | None) -> bool:
    """Whether all 12 digits typed off a card are the number on file (constant-time)."""
    digits = "".join(ch for ch in typed if ch not in " .-")
    if not on_file or not (digits.isascii() and digits.isdigit()):
        return False
    return hmac.compare_digest(digits.encode(), on_file.encode())


def require_number(citizen: Citizen) -> str:
    if not citizen.national_id:
        raise Problem(
            422,
            "Công dân chưa khai báo số CCCD / The citizen has no national id on file",
            code="national_id_missing",
        )
    return citizen.national_id


def mark_verified(session: AsyncSession, actor: Principal, citizen: Citizen, client_ip: str | None) -> None:
    """Record the desk's check (the caller compared the number): who, when, and an event."""
    citizen.national_id_verified_at, citizen.national_id_verified_by = utcnow(), actor.id
    events.record_account_event(
        session,
        account_id=citizen.id,
        account_role=Role.citizen,
        code=NATIONAL_ID_VERIFIED,
        actor=actor,
        client_ip=client_ip,
        data={"org_id": str(actor.org_id) if actor.org_id else None},
    )


def staff_view(citizen_id: uuid.UUID, citizen: Citizen) -> CitizenIdentityView:
    return CitizenIdentityView(
        citizen_id=citizen_id,
        national_id_masked=mask(citizen.national_id),
        national_id_verified_at=citizen.national_id_verified_at,
    )
