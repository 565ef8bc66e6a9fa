"""The embedded default: writes each message to the service log instead of sending it (no gateway offline).
Production refuses to start with it for sign-in codes (``backend/settings.py``)."""

import logging

from notifications.sms.base import Outcome, SendResult

log = logging.getLogger("notifications.sms")


class LogSmsSender:
    name = "log"

    async def send(self, phone: str, text: str, *, request_id: str, unicode: bool) -> SendResult:
        log.warning("SMS to %s: %s (log sender; configure SMS_PROVIDER in production)", phone, text)
        return SendResult(Outcome.sent, self.name, message_id=f"log-{request_id}")

    async def aclose(self) -> None:
        return None
