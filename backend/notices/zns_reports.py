"""HTTP for Zalo's ZNS webhook events (issue 22): delivery (``user_received_message``) and, where Zalo sends it,
``user_seen_message``, signed with ``X-ZEvent-Signature`` (``notifications/zns/webhook.py`` names the
documents). An event is about a ZNS message the service recorded (``zns_message``) or a notice sent by ZNS
(``channel_delivery``, found by Zalo's msg_id or our tracking_id, the delivery's id); either moves only forward,
so duplicates (Zalo posts an event again until it gets 200) and events out of order change nothing."""

from typing import Any

from litestar import Request, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.openapi import PARTNERS, problems
from backend.lib.problems import Problem, not_found
from backend.settings import Settings
from notifications.channels import store
from notifications.zns import records, webhook
from schemas.base import utcnow
from schemas.channels import DeliveryStatus
from schemas.zns import ZnsEventAck, ZnsStatus, ZnsWebhookEvent

# A notice's delivery has no "seen": the furthest it goes is delivered.
_DELIVERY = {ZnsStatus.delivered: DeliveryStatus.delivered, ZnsStatus.seen: DeliveryStatus.delivered}
_ACK = {
    DeliveryStatus.pending: ZnsStatus.queued,
    DeliveryStatus.sending: ZnsStatus.queued,
    DeliveryStatus.sent: ZnsStatus.sent,
    DeliveryStatus.delivered: ZnsStatus.delivered,
    DeliveryStatus.failed: ZnsStatus.failed,
    DeliveryStatus.skipped: ZnsStatus.failed,
    DeliveryStatus.suppressed: ZnsStatus.failed,
}


def _refused() -> Problem:
    return Problem(403, "Sự kiện Zalo không được chấp nhận / Zalo event refused", code="zns_event_refused")


async def _apply(session: AsyncSession, event: webhook.Event, status: ZnsStatus) -> ZnsEventAck:
    detail = f"{event.name} ts={event.timestamp}"
    for msg_id in event.msg_ids or (None,):
        msg = await records.find(session, msg_id, event.tracking_id)
        if msg is not None:
            now, changed = await records.apply_event(
                session, msg.id, status, delivered_at=event.delivered_at, detail=detail
            )
            return ZnsEventAck(event_name=event.name, message_id=msg_id, status=now, changed=changed)
        if msg_id is None:
            continue
        done = await store.apply_report(
            session,
            provider="zns",
            message_id=msg_id,
            request_id=event.tracking_id,
            status=_DELIVERY[status],
            cost_vnd=None,
            detail=detail,
            now=utcnow(),
        )
        if done is not None:
            await session.commit()
            return ZnsEventAck(
                event_name=event.name, message_id=msg_id, status=_ACK[done.status], changed=done.changed
            )
    raise not_found("ZNS message", ",".join(event.msg_ids) or str(event.tracking_id))


@post(
    "/zns/events",
    tags=[PARTNERS],
    status_code=200,
    summary="Receive a Zalo ZNS webhook event",
    description="Called by Zalo, not by apps: the webhook URL set for the Zalo app in Zalo for Developers "
    "(`PUBLIC_BASE_URL/api/v1/zns/events`). The body is Zalo's event JSON, signed by the header "
    "`X-ZEvent-Signature: mac=<SHA-256 of app_id + body + timestamp + the OA's secret key>` (`ZNS_OA_SECRET_KEY`);"
    " a missing or wrong signature, another app's event, or ZNS not configured is 403. `user_received_message` "
    "moves the message (found by `message.msg_id` or our `message.tracking_id`) to delivered, "
    "`user_seen_message` to seen; idempotent and order-proof: a repeated or late event changes nothing and "
    "answers `changed: false`. 404 for a message the service did not send; other events Zalo sends to the "
    "same URL are acknowledged with `changed: false` (Zalo keeps posting an event that does not get a 200). "
    "No bearer token.",
    responses=problems(400, 403, 404),
)
async def receive_zns_event(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    data: JSONBody[ZnsWebhookEvent],
) -> ZnsEventAck:
    settings: Settings = request.app.state.settings
    body = await request.body()  # the signature covers the raw bytes
    try:
        event = webhook.parse(body)
    except webhook.BadEvent:
        raise Problem(
            400, "Sự kiện Zalo không đọc được / Unreadable Zalo event", code="zns_event_invalid"
        ) from None
    header = request.headers.get(webhook.SIGNATURE_HEADER)
    if (
        not settings.zns_enabled
        or event.app_id != settings.zns_app_id
        or not webhook.verify(header, event, body, settings.zns_oa_secret_key)
    ):
        raise _refused()
    status = webhook.STATUS_OF.get(event.name)
    if status is None:
        return ZnsEventAck(event_name=event.name, changed=False)
    return await _apply(db_session, event, status)


ROUTES: list[Any] = [receive_zns_event]
