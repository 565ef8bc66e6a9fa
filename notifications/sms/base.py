"""The one interface every SMS provider adapter implements."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable


class Outcome(StrEnum):
    sent = "sent"  # the provider took the message; its delivery report says the rest
    retry = "retry"  # not taken, may succeed later (rate limit, provider down): wait ``retry_after_s``
    fatal = "fatal"  # not taken and never will be as configured (credentials, balance, brand name, number)


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    provider: str
    message_id: str | None = None  # the provider's id, which its delivery reports carry
    retry_after_s: float | None = None
    error: str | None = None  # the provider's code and text, for the record (never the message text)


@runtime_checkable
class SmsSender(Protocol):
    name: str

    async def send(self, phone: str, text: str, *, request_id: str, unicode: bool) -> SendResult:
        """Send ``text`` to one number (E.164). ``request_id`` is ours, unique per message: providers that
        support one use it to drop duplicates and echo it in their reports."""
        ...

    async def aclose(self) -> None: ...
