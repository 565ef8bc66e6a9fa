"""The payment-provider interface: what the service needs from any online gateway, as plain data.

An adapter turns our request (an amount in whole VND and our reference) into the provider's redirect URL,
checks a notification the provider sends (its signature), and maps the provider's result codes onto our
normalised ``PaymentOutcome``, karrio-style: the mapping is a data table per adapter, never logic spread over
the service. The service (``backend/money/online/payments.py``) knows only this module.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class PaymentOutcome(StrEnum):
    """A provider's result, normalised."""

    succeeded = "succeeded"
    failed = "failed"  # refused, cancelled by the payer, timed out: nothing was taken
    pending = "pending"  # the provider has not decided (or its code is one we do not know)


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    amount_vnd: int
    reference: str  # our reference, unique per attempt (vnp_TxnRef)
    order_info: str  # what the payer sees; ASCII, no accents (VNPay's rule)
    return_url: str
    client_ip: str
    created_at: datetime  # UTC
    expires_at: datetime  # UTC
    locale: str = "vn"


@dataclass(frozen=True, slots=True)
class Notification:
    """A provider's notification (IPN) or browser return, checked and parsed."""

    reference: str
    amount_vnd: int
    outcome: PaymentOutcome
    provider_txn: str | None  # the provider's transaction number
    provider_code: str  # the provider's raw result code, kept for the record
    bank_code: str | None
    paid_at: str | None  # the provider's own timestamp text, as sent


class InvalidSignature(Exception):
    """The notification's signature does not match: it did not come from the provider (or was altered)."""


class MalformedNotification(Exception):
    """A signed notification that lacks a field we need or carries one we cannot read."""


class PaymentProvider(Protocol):
    @property
    def name(self) -> str:
        """e.g. "vnpay": the ledger's clearing account is ``clearing:{name}``."""
        ...

    def payment_url(self, request: PaymentRequest) -> str: ...

    def verify(self, params: Mapping[str, str]) -> Notification:
        """Check the signature (``InvalidSignature``) and parse (``MalformedNotification``)."""
        ...

    def ipn_answer(self, code: str) -> dict[str, str]:
        """The body the provider expects back for one of our answer codes."""
        ...
