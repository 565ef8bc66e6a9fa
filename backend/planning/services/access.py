"""Who may see which plan: a post office's dispatchers see and plan only their own office's days; admins see
all. A plan of another office answers 404, like an unknown id, so nothing is learned about other offices."""

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue.services import organisation_by_key
from backend.lib.auth import Principal
from backend.lib.problems import not_found
from schemas.enums import OrgKind, Role
from schemas.orgs import Organisation
from schemas.planning import Plan


async def post_office(session: AsyncSession, key: str) -> Organisation:
    """A post office by UUID or code."""
    org = await organisation_by_key(session, key)
    if org is None or org.kind != OrgKind.post_office:
        raise not_found("bưu cục / post office", key)
    return org


async def visible_plan(session: AsyncSession, principal: Principal, plan_id: uuid.UUID) -> Plan:
    plan = await session.get(Plan, plan_id)
    if plan is None or not (
        principal.role == Role.admin
        or (principal.role == Role.dispatcher and principal.org_id == plan.post_office_id)
    ):
        raise not_found("kế hoạch / plan", plan_id)
    return plan
