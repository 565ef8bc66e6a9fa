"""Registering, changing, rotating, pinging and removing partner webhook endpoints. Each change writes a
``webhook_endpoint_event`` row (who, when, what) in the same transaction; the secret is never recorded there."""

import uuid
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal
from backend.lib.paging import Paging
from backend.lib.problems import Problem
from backend.partners import payloads, signing
from backend.partners.services.access import load_endpoint, owning_org
from backend.partners.urls import RefusedUrl, check_url
from schemas.base import utcnow
from schemas.orgs import Organisation
from schemas.webhooks import (
    PING,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEndpointCreate,
    WebhookEndpointEvent,
    WebhookEndpointPublic,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
    WebhookKind,
)


def checked_url(url: str, production: bool) -> str:
    try:
        return check_url(url, production=production)
    except RefusedUrl as exc:
        raise Problem(422, str(exc), code="webhook_url_refused") from None


def _kinds(kinds: list[WebhookKind]) -> list[str]:
    return sorted({WebhookKind(k).value for k in kinds})


def public(endpoint: WebhookEndpoint, org_code: str) -> WebhookEndpointPublic:
    return WebhookEndpointPublic(
        id=endpoint.id,
        organisation=org_code,
        url=endpoint.url,
        kinds=[WebhookKind(k) for k in endpoint.kinds],
        description=endpoint.description,
        active=endpoint.active,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
        secret_rotated_at=endpoint.secret_rotated_at,
    )


def with_secret(endpoint: WebhookEndpoint, org_code: str) -> WebhookEndpointWithSecret:
    return WebhookEndpointWithSecret(**public(endpoint, org_code).model_dump(), secret=endpoint.secret)


def _event(endpoint: WebhookEndpoint, principal: Principal, code: str, **data: Any) -> WebhookEndpointEvent:
    return WebhookEndpointEvent(
        endpoint_id=endpoint.id, org_id=endpoint.org_id, code=code, actor_id=principal.id, data=data
    )


async def _code(session: AsyncSession, org_id: uuid.UUID) -> str:
    org = await session.get(Organisation, org_id)
    return org.code if org else ""


async def create(
    session: AsyncSession, principal: Principal, body: WebhookEndpointCreate, *, production: bool
) -> WebhookEndpointWithSecret:
    url = checked_url(body.url, production)
    org = await owning_org(session, principal, body.organisation)
    endpoint = WebhookEndpoint(
        org_id=org.id,
        url=url,
        kinds=_kinds(body.kinds),
        description=body.description,
        secret=signing.new_secret(),
        created_by=principal.id,
    )
    session.add(endpoint)
    session.add(_event(endpoint, principal, "created", url=url, kinds=endpoint.kinds))
    await session.commit()
    return with_secret(endpoint, org.code)


async def list_endpoints(
    session: AsyncSession, principal: Principal, paging: Paging, organisation: str | None
) -> tuple[list[WebhookEndpointPublic], int]:
    query = select(WebhookEndpoint, Organisation.code).join(
        Organisation, col(Organisation.id) == WebhookEndpoint.org_id
    )
    if principal.org_id is not None:
        query = query.where(WebhookEndpoint.org_id == principal.org_id)
    if organisation:
        query = query.where(Organisation.code == organisation)
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    rows = (
        await session.exec(
            query.order_by(col(WebhookEndpoint.created_at).desc(), col(WebhookEndpoint.id))
            .limit(paging.limit)
            .offset(paging.offset)
        )
    ).all()
    return [public(e, code) for e, code in rows], int(total)


async def get(session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID) -> WebhookEndpointPublic:
    endpoint = await load_endpoint(session, principal, endpoint_id)
    return public(endpoint, await _code(session, endpoint.org_id))


async def update(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: uuid.UUID,
    body: WebhookEndpointUpdate,
    *,
    production: bool,
) -> WebhookEndpointPublic:
    endpoint = await load_endpoint(session, principal, endpoint_id, for_update=True)
    changed: dict[str, Any] = {}
    if body.url is not None and body.url != endpoint.url:
        endpoint.url = changed["url"] = checked_url(body.url, production)
    if body.kinds is not None and _kinds(body.kinds) != endpoint.kinds:
        endpoint.kinds = changed["kinds"] = _kinds(body.kinds)
    if body.active is not None and body.active != endpoint.active:
        endpoint.active = changed["active"] = body.active
    if "description" in body.model_fields_set and body.description != endpoint.description:
        endpoint.description = changed["description"] = body.description
    if changed:
        endpoint.updated_at = utcnow()
        session.add(endpoint)
        session.add(_event(endpoint, principal, "updated", **changed))
        await session.commit()
    return public(endpoint, await _code(session, endpoint.org_id))


async def rotate(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID
) -> WebhookEndpointWithSecret:
    """A new secret, effective for every request from now on (pending retries included); the old one stops."""
    endpoint = await load_endpoint(session, principal, endpoint_id, for_update=True)
    endpoint.secret = signing.new_secret()
    endpoint.secret_rotated_at = endpoint.updated_at = utcnow()
    session.add(endpoint)
    session.add(_event(endpoint, principal, "secret_rotated"))
    await session.commit()
    return with_secret(endpoint, await _code(session, endpoint.org_id))


async def remove(session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID) -> None:
    """Delete the endpoint and its deliveries (pending ones are not sent); its change records stay."""
    endpoint = await load_endpoint(session, principal, endpoint_id, for_update=True)
    session.add(_event(endpoint, principal, "deleted", url=endpoint.url))
    deliveries = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint.id)
    await session.exec(delete(WebhookAttempt).where(col(WebhookAttempt.delivery_id).in_(deliveries)))  # type: ignore[call-overload]
    await session.exec(delete(WebhookDelivery).where(col(WebhookDelivery.endpoint_id) == endpoint.id))  # type: ignore[call-overload]
    await session.delete(endpoint)
    await session.commit()


async def ping(session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID) -> WebhookDelivery:
    """Queue a ``webhook.ping`` delivery, sent and retried like any event (the endpoint must be active)."""
    endpoint = await load_endpoint(session, principal, endpoint_id)
    if not endpoint.active:
        raise Problem(409, "Webhook đang tắt / The webhook is inactive", code="conflict")
    now = utcnow()
    event_id = uuid.uuid4()
    data = {"message": "Thử kết nối / Connection test", "endpoint_id": str(endpoint.id)}
    delivery = WebhookDelivery(
        endpoint_id=endpoint.id,
        event_id=event_id,
        kind=PING,
        payload=payloads.body(event_id, PING, now, data),
        status=DeliveryStatus.pending,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    session.add(_event(endpoint, principal, "pinged", event_id=str(event_id)))
    await session.commit()
    return delivery
