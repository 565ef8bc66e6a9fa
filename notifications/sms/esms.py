"""eSMS.vn (ViHAT) brand-name SMS: ``SendMultipleMessage_V4_post_json`` and its delivery-report callback.

As documented at https://developers.esms.vn/en/esms-api/send-sms-api/send-otp-customer-care-message:
POST ``{base}/MainService.svc/json/SendMultipleMessage_V4_post_json/`` with a JSON body of strings — ApiKey,
SecretKey, Phone, Content, Brandname (registered beforehand), SmsType "2" (customer care / OTP), IsUnicode
"0"/"1", Sandbox "0"/"1", RequestId (ours, duplicates refused for 24 h) and CallbackUrl — answered with
``{"CodeResult": "100", "SMSID": "..."}``. 100 only means eSMS took the request; the delivery report says
whether the phone got it. Codes (https://developers.esms.vn/en/esms-api/table-of-error-codes): 99 number
blocked, 101 wrong ApiKey/SecretKey, 102 no price list, 103 balance too low, 104 brand name unknown, 108 phone
format, 118 message type, 124 duplicate RequestId, 140 IP not whitelisted, 146 wrong customer-care template,
177 network not registered for the brand name. None of them improves by sending again, so all are fatal; an
HTTP 429 or 5xx, a timeout or a refused connection is retried.

Delivery reports (https://developers.esms.vn/en/esms-api/callback-url) come by HTTP GET to CallbackUrl, retried
up to 5 times, with query fields SMSID, RequestId, SendStatus (1 pending approval, 2 waiting to send, 4
rejected, 5 sent, 7 at the telco awaiting its report), SendSuccess, SendFailed, Totalprice, TotalSent,
TotalReceiver, TypeId, telcoid, phonenumber. eSMS documents no signature on them: the callback URL carries a
secret of ours (``backend/notices/sms_reports.py``).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import httpx

from notifications.sms.base import Outcome, SendResult

PATH = "/MainService.svc/json/SendMultipleMessage_V4_post_json/"
SUCCESS = "100"
DEFAULT_RETRY_S = 30.0


@dataclass(frozen=True, slots=True)
class EsmsConfig:
    api_key: str
    secret_key: str
    brandname: str
    base_url: str = "https://rest.esms.vn"
    callback_url: str = ""  # empty: no delivery reports
    sandbox: bool = False
    timeout_s: float = 10.0


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(1.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return DEFAULT_RETRY_S


class EsmsSender:
    name = "esms"

    def __init__(self, config: EsmsConfig, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self._client = client or httpx.AsyncClient(timeout=config.timeout_s)

    def body(self, phone: str, text: str, *, request_id: str, unicode: bool) -> dict[str, str]:
        c = self.config
        body = {
            "ApiKey": c.api_key,
            "SecretKey": c.secret_key,
            "Phone": "0" + phone[3:] if phone.startswith("+84") else phone,
            "Content": text,
            "Brandname": c.brandname,
            "SmsType": "2",
            "IsUnicode": "1" if unicode else "0",
            "Sandbox": "1" if c.sandbox else "0",
            "RequestId": request_id,
        }
        if c.callback_url:
            body["CallbackUrl"] = c.callback_url
        return body

    async def send(self, phone: str, text: str, *, request_id: str, unicode: bool) -> SendResult:
        url = self.config.base_url.rstrip("/") + PATH
        try:
            r = await self._client.post(
                url, json=self.body(phone, text, request_id=request_id, unicode=unicode)
            )
        except httpx.TransportError as exc:
            return SendResult(
                Outcome.retry, self.name, retry_after_s=DEFAULT_RETRY_S, error=type(exc).__name__
            )
        if r.status_code == 429 or r.status_code >= 500:
            return SendResult(
                Outcome.retry, self.name, retry_after_s=_retry_after(r), error=f"HTTP {r.status_code}"
            )
        if r.status_code >= 400:
            return SendResult(Outcome.fatal, self.name, error=f"HTTP {r.status_code}")
        try:
            answer = r.json()
            code = str(answer.get("CodeResult", ""))
        except (ValueError, AttributeError):
            return SendResult(
                Outcome.retry, self.name, retry_after_s=DEFAULT_RETRY_S, error="unreadable answer"
            )
        if code == SUCCESS and answer.get("SMSID"):
            return SendResult(Outcome.sent, self.name, message_id=str(answer["SMSID"]))
        return SendResult(Outcome.fatal, self.name, error=f"{code}: {answer.get('ErrorMessage') or ''}"[:200])

    async def aclose(self) -> None:
        await self._client.aclose()


class ReportStatus(StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"


@dataclass(frozen=True, slots=True)
class Report:
    message_id: str
    request_id: str | None
    status: ReportStatus
    send_status: str
    cost_vnd: int | None


def _int(raw: str | None) -> int | None:
    try:
        return int(float(raw)) if raw not in (None, "") else None
    except ValueError:
        return None


def parse_report(query: Mapping[str, str]) -> Report | None:
    """One delivery report from its query fields, or None without an SMSID. One message goes to one number
    here, so SendSuccess/SendFailed of 1 are that number's outcome."""
    message_id = (query.get("SMSID") or "").strip()
    if not message_id:
        return None
    send_status = (query.get("SendStatus") or "").strip()
    if send_status == "4" or (
        send_status == "5" and (_int(query.get("SendFailed")) or 0) > 0 and not _int(query.get("SendSuccess"))
    ):
        status = ReportStatus.failed
    elif send_status == "5" and (_int(query.get("SendSuccess")) or 0) > 0:
        status = ReportStatus.delivered
    else:
        status = ReportStatus.pending
    return Report(
        message_id, query.get("RequestId") or None, status, send_status, _int(query.get("Totalprice"))
    )
