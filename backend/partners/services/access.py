"""Who manages which organisation's webhook endpoints.

Least privilege: an endpoint sends an organisation's dossier and appointment events to an outside system, so
only admins register them (desk clerks, agency officers and dispatchers do not). An admin attached to an
organisation manages that organisation's endpoints only; an admin of the whole service (no organisation)
manages any, naming the organisation when registering one. Someone else's endpoint is a 404 (not disclosed).
"""

import uuid

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal
from backend.lib.problems import Problem, not_found
from schemas.orgs import Organisation
from schemas.webhooks import WebhookEndpoint


async def owning_org(session: AsyncSession, principal: Principal, code: str | None) -> Organisation:
    """The organisation a new endpoint belongs to: the admin's own, else the one named by ``code``."""
    if principal.org_id is not None:
        org = await session.get(Organisation, principal.org_id)
        if org is None or (code is not None and code != org.code):
            raise Problem(
                422, "Chỉ đăng ký cho đơn vị của mình / Only for your own organisation", code="unknown_org"
            )
        return org
    if not code:
        raise Problem(422, "Cần mã đơn vị / The organisation's code is needed", code="org_required")
    org = (await session.exec(select(Organisation).where(Organisation.code == code))).first()
    if org is None:
        raise Problem(422, f"Không có đơn vị '{code}' / No organisation '{code}'", code="unknown_org")
    return org


async def load_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, *, for_update: bool = False
) -> WebhookEndpoint:
    query = select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
    if principal.org_id is not None:
        query = query.where(WebhookEndpoint.org_id == principal.org_id)
    if for_update:
        query = query.with_for_update()
    endpoint = (await session.exec(query)).first()
    if endpoint is None:
        raise not_found("webhook", endpoint_id)
    return endpoint
