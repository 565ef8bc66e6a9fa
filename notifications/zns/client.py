"""Zalo Notification Service: one template message to one phone number, through Zalo's ZNS OpenAPI.

As documented ("Gửi ZNS", https://developers.zalo.me/docs/zalo-notification-service/gui-tin-zns/gui-zns;
the same shapes in the ZNS SDK at https://app.unpkg.com/@warriorteam/redai-zalo-sdk/files/docs/ZNS_SERVICE.md):
``POST https://business.openapi.zalo.me/message/template`` with the header ``access_token: <OA access token>``
and a JSON body ``{"phone": "84912345678", "template_id": "...", "template_data": {name: value, ...},
"tracking_id": "..."}`` (``"mode": "development"`` to send a template not yet approved to the OA's admins). The
answer is ``{"error": 0, "message": "Success", "data": {"msg_id": "...", "sent_time": "...", "quota": {...}}}``;
any other ``error`` is a code of ``notifications/zns/codes.py``. ``msg_id`` is what the delivery webhook
(``user_received_message``) names; ``tracking_id`` is ours (the ``zns_message`` row's id).

The sender never stores or logs ``template_data``. An invalid access token (-124) is refreshed
(``tokens.TokenStore``) and the message sent once more; Zalo's docs are silent on HTTP 429 and ``Retry-After``,
so an HTTP 429 or 5xx, a timeout or a refused connection is retried after ``Retry-After`` or 30 s.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from notifications.sms.base import Outcome, SendResult
from notifications.zns import codes
from notifications.zns.codes import Action
from notifications.zns.tokens import OAuthConfig, Token, TokenError, TokenStore
from schemas.base import utcnow

PATH = "/message/template"


class TokenSource(Protocol):
    async def current(self) -> Token: ...

    async def refresh(self, stale: Token) -> Token: ...


@dataclass(frozen=True, slots=True)
class ZnsConfig:
    base_url: str = "https://business.openapi.zalo.me"
    timeout_s: float = 10.0
    development: bool = False  # "mode": "development": unapproved templates, to the OA's admins only


def zalo_phone(phone: str) -> str:
    """E.164 (+84…) or national (0…) → Zalo's 84xxxxxxxxx."""
    digits = phone.strip().lstrip("+")
    return "84" + digits[1:] if digits.startswith("0") else digits


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(1.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return codes.DEFAULT_RETRY_S


class ZnsSender:
    name = "zns"

    def __init__(
        self,
        config: ZnsConfig,
        tokens: TokenSource,
        client: httpx.AsyncClient | None = None,
        *,
        clock: Any = utcnow,
    ) -> None:
        self.config, self.tokens, self.clock = config, tokens, clock
        self._client = client or httpx.AsyncClient(timeout=config.timeout_s)
        self._owned: TokenStore | None = None  # closed with the sender (``with_store``)

    @classmethod
    def with_store(
        cls, engine: AsyncEngine, oauth: OAuthConfig, refresh_token: str, config: ZnsConfig
    ) -> "ZnsSender":
        """The production sender: tokens from ``zns_token`` through ``engine`` (seeded from ``refresh_token``,
        ``ZNS_REFRESH_TOKEN``, the first time), closed together by ``aclose``."""
        store = TokenStore(engine, oauth, refresh_token)
        sender = cls(config, store)
        sender._owned = store
        return sender

    def body(
        self, phone: str, template_id: str, params: dict[str, str], *, request_id: str
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "phone": zalo_phone(phone),
            "template_id": template_id,
            "template_data": dict(params),
            "tracking_id": request_id,
        }
        if self.config.development:
            body["mode"] = "development"
        return body

    def _retry(self, error: str, wait: float = codes.DEFAULT_RETRY_S) -> SendResult:
        return SendResult(Outcome.retry, self.name, retry_after_s=wait, error=error[:200])

    async def send(
        self, phone: str, template_id: str, params: dict[str, str], *, request_id: str
    ) -> SendResult:
        """Send one template message. ``request_id`` (ours, unique per message) goes as ``tracking_id``."""
        body = self.body(phone, template_id, params, request_id=request_id)
        try:
            token = await self.tokens.current()
        except TokenError as exc:
            return self._token_failure(exc)
        for attempt in range(2):
            result, code = await self._post(token.access_token, body)
            if result is not None:
                return result
            if attempt == 0:
                try:
                    token = await self.tokens.refresh(token)
                except TokenError as exc:
                    return self._token_failure(exc)
        # A token refreshed a moment ago refused as well: the app's access was revoked or is misconfigured.
        return self._retry(f"{code}: access token refused after a refresh")

    def _token_failure(self, exc: TokenError) -> SendResult:
        if exc.retry:
            return self._retry(f"token: {exc}")
        return SendResult(Outcome.fatal, self.name, error=f"token: {exc}"[:200])

    async def _post(self, access_token: str, body: dict[str, Any]) -> tuple[SendResult | None, int]:
        """The answer to one request, or (None, code) when the access token was refused."""
        url = self.config.base_url.rstrip("/") + PATH
        try:
            r = await self._client.post(url, json=body, headers={"access_token": access_token})
        except httpx.TransportError as exc:
            return self._retry(type(exc).__name__), 0
        if r.status_code == 429 or r.status_code >= 500:
            return self._retry(f"HTTP {r.status_code}", _retry_after(r)), 0
        if r.status_code >= 400:
            return SendResult(Outcome.fatal, self.name, error=f"HTTP {r.status_code}"), 0
        try:
            answer = r.json()
            code = int(answer.get("error"))
            data = answer.get("data") or {}
        except (ValueError, TypeError, AttributeError):
            return self._retry("unreadable answer"), 0
        message = str(answer.get("message") or "")
        if code == codes.SUCCESS and isinstance(data, dict) and data.get("msg_id"):
            return SendResult(Outcome.sent, self.name, message_id=str(data["msg_id"])), code
        if code == codes.SUCCESS:
            return self._retry("success without msg_id"), code
        return self._classify(code, message), code

    def _classify(self, code: int, message: str) -> SendResult | None:
        rule = codes.rule(code)
        error = f"{code}: {message or rule.meaning}"
        if rule.action is Action.refresh:
            return None
        if rule.action is Action.fatal:
            return SendResult(Outcome.fatal, self.name, error=error[:200])
        now: datetime = self.clock()
        return self._retry(error, codes.wait_for(code, now))

    async def aclose(self) -> None:
        await self._client.aclose()
        if self._owned is not None:
            await self._owned.aclose()
