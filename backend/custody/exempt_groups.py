"""A citizen's exempt groups (issue 21), recorded by a desk clerk after checking the papers at the counter.

Exemptions from the fee (phí) and charge (lệ phí) by citizen group are set by the provincial council's
resolution (Circular 85/2019/TT-BTC art. 5; ``backend/catalogue/tariff_pricing.py``). Least personal data
(Decree 13/2023/NĐ-CP art. 3): only the group codes are stored, with who recorded them and when; never the
papers. A desk clerk may record them only for a citizen their desk has a task for (as the national id's check
in ``recipients.py``); an admin for anyone. Every change is an ``account_event`` of the citizen naming the
codes, who, when and from where.
"""

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts import citizen_access, events
from backend.lib.auth import Principal
from backend.lib.problems import not_found
from schemas.accounts import Citizen
from schemas.base import utcnow
from schemas.enums import Role
from schemas.identity import ExemptGroupsSet, ExemptGroupsView

EXEMPT_GROUPS_SET = "exempt_groups_set"


def view_of(citizen: Citizen) -> ExemptGroupsView:
    return ExemptGroupsView(
        citizen_id=citizen.id,
        groups=list(citizen.exempt_groups or []),
        verified_at=citizen.exempt_groups_verified_at,
        verified_by=citizen.exempt_groups_verified_by,
    )


async def _may(session: AsyncSession, principal: Principal, citizen_id: uuid.UUID) -> bool:
    if principal.role == Role.admin:
        return True
    return principal.role == Role.desk and bool(
        await citizen_access.fields_for(session, principal, citizen_id)
    )


async def set_groups(
    session: AsyncSession,
    principal: Principal,
    citizen_id: uuid.UUID,
    data: ExemptGroupsSet,
    *,
    client_ip: str | None,
) -> ExemptGroupsView:
    """Replace the citizen's exempt groups with those given (sorted, without repeats), who and when, and one
    account event in the same transaction."""
    if not await _may(session, principal, citizen_id):
        raise not_found("công dân / citizen", citizen_id)
    citizen = await session.get(Citizen, citizen_id, with_for_update=True)
    if citizen is None:
        raise not_found("công dân / citizen", citizen_id)
    groups = sorted(set(data.groups))
    citizen.exempt_groups = groups
    citizen.exempt_groups_verified_at, citizen.exempt_groups_verified_by = utcnow(), principal.id
    session.add(citizen)
    events.record_account_event(
        session,
        account_id=citizen.id,
        account_role=Role.citizen,
        code=EXEMPT_GROUPS_SET,
        actor=principal,
        client_ip=client_ip,
        data={"groups": groups, "org_id": str(principal.org_id) if principal.org_id else None},
    )
    await session.commit()
    return view_of(citizen)
