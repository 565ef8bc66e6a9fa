"""The channels' senders behind one interface: what the channel dispatcher calls for SMS and Zalo ZNS.

Each wraps a provider adapter (``notifications.sms.SmsSender``, a ZNS sender with
``send(phone, template_id, params, *, request_id) -> SendResult``) and first ``prepare``s a delivery: the SMS text
(unaccented unless Unicode is allowed, within the segment limit, ``notifications.sms.text``) or the ZNS template
and its params, with the cost worked out from them. ``request_id`` is the delivery row's id: eSMS refuses a second
message with the same RequestId for 24 h (error 124) and Zalo takes it as ``tracking_id``, so a delivery sent again
after a crash between the provider's answer and our commit is not delivered twice where the provider dedupes.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from notifications.channels.policy import ChannelConfig, sms_cost
from notifications.sms.base import Outcome, SendResult, SmsSender
from notifications.sms.templates import NOTICES, notice_text, shown_params
from notifications.sms.text import TooLongError, fit, segments
from notifications.zns.templates import ZnsTemplate, template_data
from schemas.channels import NoticeChannel

# eSMS's "duplicate RequestId" (https://developers.esms.vn/en/esms-api/table-of-error-codes): our request id is
# the delivery's id, so this answer to a re-sent delivery means eSMS already has the message.
ESMS_DUPLICATE = "124"


class NotSendable(ValueError):
    """This delivery cannot be sent on this channel as configured (no text or template for its kind)."""


@dataclass(frozen=True)
class Prepared:
    body: Any  # the SMS text, or (template id, params) for ZNS
    segments: int | None
    cost_vnd: int
    unicode: bool = False


@runtime_checkable
class ChannelSender(Protocol):
    channel: NoticeChannel
    provider: str

    def prepare(self, kind: str, params: Mapping[str, Any]) -> Prepared: ...

    async def send(self, phone: str, prepared: Prepared, *, request_id: str) -> SendResult: ...

    async def aclose(self) -> None: ...


class ZnsLike(Protocol):
    name: str

    async def send(
        self, phone: str, template_id: str, params: dict[str, str], *, request_id: str
    ) -> SendResult: ...

    async def aclose(self) -> None: ...


class SmsChannel:
    channel = NoticeChannel.sms

    def __init__(
        self, sms: SmsSender, config: ChannelConfig, *, unicode: bool = False, max_segments: int = 2
    ) -> None:
        self.sms = sms
        self.provider = sms.name
        self.config = config
        self.unicode = unicode
        self.max_segments = max_segments

    def prepare(self, kind: str, params: Mapping[str, Any]) -> Prepared:
        if kind not in NOTICES:
            raise NotSendable(f"no SMS text for {kind}")
        try:
            text = fit(
                notice_text(kind, params),
                unicode=self.unicode,
                max_segments=self.max_segments,
                truncate=True,
            )
        except (KeyError, ValueError, TooLongError) as exc:
            raise NotSendable(f"SMS text for {kind}: {exc}") from None
        seg = segments(text)
        return Prepared(
            text, seg.count, sms_cost(self.config, seg.encoding, seg.count), seg.encoding == "ucs2"
        )

    async def send(self, phone: str, prepared: Prepared, *, request_id: str) -> SendResult:
        result = await self.sms.send(phone, prepared.body, request_id=request_id, unicode=prepared.unicode)
        if result.outcome is Outcome.fatal and (result.error or "").startswith(ESMS_DUPLICATE + ":"):
            return SendResult(
                Outcome.sent, result.provider, None, error="duplicate request id: already taken"
            )
        return result

    async def aclose(self) -> None:
        await self.sms.aclose()


class ZnsChannel:
    """ZNS templates are submitted to Zalo and approved beforehand; ``templates`` (``ZNS_TEMPLATES`` read by
    ``notifications.zns.templates.parse``) maps a notification kind to its template id and parameters, filled with
    the notification's params as the push text shows them (times in Vietnam time)."""

    channel = NoticeChannel.zns

    def __init__(self, zns: ZnsLike, config: ChannelConfig, templates: Mapping[str, ZnsTemplate]) -> None:
        self.zns = zns
        self.provider = zns.name
        self.config = config
        self.templates = dict(templates)

    def prepare(self, kind: str, params: Mapping[str, Any]) -> Prepared:
        template = self.templates.get(kind)
        if template is None:
            raise NotSendable(f"no ZNS template for {kind}")
        try:
            data = template_data(template, shown_params(kind, params))
        except (KeyError, ValueError) as exc:
            raise NotSendable(f"ZNS params for {kind}: missing {exc}") from None
        return Prepared((template.template_id, data), None, self.config.zns_cost_vnd)

    async def send(self, phone: str, prepared: Prepared, *, request_id: str) -> SendResult:
        template_id, params = prepared.body
        result: SendResult = await self.zns.send(phone, template_id, params, request_id=request_id)
        return result

    async def aclose(self) -> None:
        await self.zns.aclose()
