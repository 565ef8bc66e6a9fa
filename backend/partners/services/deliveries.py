"""Reading an endpoint's recent deliveries with each attempt's outcome."""

import uuid
from collections import defaultdict

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal
from backend.lib.paging import Paging
from backend.partners.services.access import load_endpoint
from schemas.webhooks import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookAttemptPublic,
    WebhookDelivery,
    WebhookDeliveryPublic,
)


def public(delivery: WebhookDelivery, history: list[WebhookAttempt]) -> WebhookDeliveryPublic:
    waiting = delivery.status in (DeliveryStatus.pending, DeliveryStatus.sending)
    return WebhookDeliveryPublic(
        id=delivery.id,
        event_id=delivery.event_id,
        type=delivery.kind,
        status=delivery.status,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at if waiting else None,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
        delivered_at=delivery.delivered_at,
        history=[
            WebhookAttemptPublic(
                attempt=a.attempt,
                at=a.at,
                status_code=a.status_code,
                error=a.error,
                duration_ms=a.duration_ms,
                outcome=a.outcome,
            )
            for a in history
        ],
    )


async def list_deliveries(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: uuid.UUID,
    paging: Paging,
    status: DeliveryStatus | None,
) -> tuple[list[WebhookDeliveryPublic], int]:
    endpoint = await load_endpoint(session, principal, endpoint_id)
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    rows = (
        await session.exec(
            query.order_by(col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.id))
            .limit(paging.limit)
            .offset(paging.offset)
        )
    ).all()
    history: dict[uuid.UUID, list[WebhookAttempt]] = defaultdict(list)
    if rows:
        attempts = await session.exec(
            select(WebhookAttempt)
            .where(col(WebhookAttempt.delivery_id).in_([d.id for d in rows]))
            .order_by(col(WebhookAttempt.attempt), col(WebhookAttempt.at))
        )
        for a in attempts:
            history[a.delivery_id].append(a)
    return [public(d, history[d.id]) for d in rows], int(total)
