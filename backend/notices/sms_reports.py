"""HTTP for SMS providers' delivery reports (issue 22): eSMS.vn calls its CallbackUrl by GET when a message
reaches a status (https://developers.esms.vn/en/esms-api/callback-url). eSMS signs nothing, so the URL we give
it carries ``SMS_CALLBACK_TOKEN``, compared in constant time. A report is about a sign-in code (``sms_message``) or a
notice sent by SMS (``channel_delivery``, found by eSMS's SMSID or our RequestId, the delivery's id); either moves
only forward, so reports out of order or repeated change nothing after a final status."""

import hmac
from typing import Annotated, Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib import sms_records as records
from backend.lib.openapi import PARTNERS, problems
from backend.lib.problems import Problem, not_found
from backend.settings import Settings
from notifications.channels import store
from notifications.sms.esms import ReportStatus, parse_report
from schemas.base import utcnow
from schemas.channels import DeliveryStatus
from schemas.sms import SmsReportAck, SmsStatus

_DELIVERY = {
    ReportStatus.pending: DeliveryStatus.sent,
    ReportStatus.delivered: DeliveryStatus.delivered,
    ReportStatus.failed: DeliveryStatus.failed,
}
# A notice's delivery status as the report's answer names it (sending/pending: not yet taken, so "queued").
_ACK = {
    DeliveryStatus.pending: SmsStatus.queued,
    DeliveryStatus.sending: SmsStatus.queued,
    DeliveryStatus.sent: SmsStatus.sent,
    DeliveryStatus.delivered: SmsStatus.delivered,
    DeliveryStatus.failed: SmsStatus.failed,
    DeliveryStatus.skipped: SmsStatus.failed,
    DeliveryStatus.suppressed: SmsStatus.failed,
}
_STATUS = {
    ReportStatus.pending: SmsStatus.sent,
    ReportStatus.delivered: SmsStatus.delivered,
    ReportStatus.failed: SmsStatus.failed,
}


@get(
    "/sms/reports/esms/{token:str}",
    tags=[PARTNERS],
    summary="Receive an eSMS delivery report",
    description="Called by eSMS.vn, not by apps: the CallbackUrl the service gives eSMS with each SMS "
    "(`PUBLIC_BASE_URL/api/v1/sms/reports/esms/<SMS_CALLBACK_TOKEN>`); a wrong token is 403. Query fields as "
    "eSMS documents them: `SMSID`, `RequestId`, `SendStatus` (4 rejected, 5 sent, 1/2/7 interim), "
    "`SendSuccess`, `SendFailed`, `Totalprice`. Moves the message to delivered or failed (final) and records "
    "the cost, for a sign-in code or a notice sent by SMS; idempotent: a repeated or late report (an interim status after a final one) changes nothing "
    "and answers `changed: false`. 404 for a message the service did not send. No bearer token.",
    responses=problems(403, 404),
)
async def receive_esms_report(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    token: FromPath[str],
    sms_id: Annotated[str, QueryParameter(name="SMSID", min_length=1, max_length=64)],
    request_id: Annotated[str | None, QueryParameter(name="RequestId", max_length=64)] = None,
    send_status: Annotated[str | None, QueryParameter(name="SendStatus", max_length=4)] = None,
    send_success: Annotated[str | None, QueryParameter(name="SendSuccess", max_length=12)] = None,
    send_failed: Annotated[str | None, QueryParameter(name="SendFailed", max_length=12)] = None,
    total_price: Annotated[str | None, QueryParameter(name="Totalprice", max_length=20)] = None,
) -> SmsReportAck:
    settings: Settings = request.app.state.settings
    expected = settings.sms_callback_token
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Problem(
            403,
            "Báo cáo gửi tin không được chấp nhận / Delivery report refused",
            code="sms_report_refused",
        )
    fields = {
        "SMSID": sms_id,
        "RequestId": request_id or "",
        "SendStatus": send_status or "",
        "SendSuccess": send_success or "",
        "SendFailed": send_failed or "",
        "Totalprice": total_price or "",
    }
    report = parse_report(fields)
    if report is None:
        raise not_found("SMS", sms_id)
    msg = await records.find(db_session, "esms", sms_id, report.request_id)
    if msg is None:  # not a sign-in code: a notice's SMS (a channel delivery)
        done = await store.apply_report(
            db_session,
            provider="esms",
            message_id=sms_id,
            request_id=report.request_id,
            status=_DELIVERY[report.status],
            cost_vnd=report.cost_vnd,
            detail=f"esms SendStatus={report.send_status}",
            now=utcnow(),
        )
        if done is None:
            raise not_found("SMS", sms_id)
        await db_session.commit()
        return SmsReportAck(message_id=report.message_id, status=_ACK[done.status], changed=done.changed)
    status, changed = await records.apply_report(
        db_session,
        msg,
        _STATUS[report.status],
        cost_vnd=report.cost_vnd,
        detail=f"esms SendStatus={report.send_status}",
    )
    return SmsReportAck(message_id=report.message_id, status=status, changed=changed)


ROUTES: list[Any] = [receive_esms_report]
