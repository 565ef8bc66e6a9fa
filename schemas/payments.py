"""Online payments (issue 21): one row per attempt to pay through a gateway, and its events.

A payment's status changes only from the provider's notification (IPN), never from the browser's return;
every change is an ``online_payment_event`` row written in the same transaction, and a success posts the
ledger's ``collected`` entry in that transaction too.
"""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlalchemy import BigInteger, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from schemas.base import json_field, new_id, utc_field


class OnlinePaymentStatus(StrEnum):
    created = "created"  # the citizen was sent to the gateway
    pending = "pending"  # the gateway has not decided (or held it)
    succeeded = "succeeded"  # paid: the ledger has its collected entry
    failed = "failed"  # nothing was taken
    refund_due = "refund_due"  # paid for a visit that no longer wants it: the money is held to refund


FINAL_PAYMENT_STATUSES = frozenset(
    {OnlinePaymentStatus.succeeded, OnlinePaymentStatus.failed, OnlinePaymentStatus.refund_due}
)


class OnlinePayment(SQLModel, table=True):
    __tablename__ = "online_payment"
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    provider: str = Field(max_length=20)
    reference: str = Field(max_length=40, unique=True, index=True, description="vnp_TxnRef")
    citizen_id: uuid.UUID = Field(foreign_key="citizen.id", index=True)
    appointment_id: uuid.UUID | None = Field(default=None, foreign_key="appointment.id", index=True)
    dossier_id: uuid.UUID | None = Field(default=None, index=True)
    amount_vnd: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: str = Field(default=OnlinePaymentStatus.created, max_length=20)
    provider_txn: str | None = Field(default=None, max_length=40)
    provider_code: str | None = Field(default=None, max_length=20)
    ledger_txn_id: uuid.UUID | None = None
    version: int = 1
    created_at: datetime = utc_field(default_now=True)
    updated_at: datetime = utc_field(default_now=True)
    expires_at: datetime = utc_field()


class OnlinePaymentEvent(SQLModel, table=True):
    """One change of a payment, or one notification that changed nothing (a duplicate, a late failure, a
    wrong amount): ``seq`` is the payment's version after it."""

    __tablename__ = "online_payment_event"
    __table_args__ = (UniqueConstraint("payment_id", "seq", name="uq_online_payment_event_seq"),)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    payment_id: uuid.UUID = Field(foreign_key="online_payment.id", index=True)
    seq: int
    type: str = Field(max_length=30)
    at: datetime = utc_field(default_now=True)
    actor_role: str = Field(max_length=20, description="citizen, or the provider for a notification")
    actor_id: uuid.UUID | None = None
    place: str = Field(max_length=60, description="online, or the address the notification came from")
    data: dict[str, Any] = json_field()


# --- API shapes -----------------------------------------------------------------------------------------------


class PaymentStart(BaseModel):
    """The payment created and where to send the citizen (the gateway's page)."""

    id: uuid.UUID
    provider: str = PydanticField(examples=["vnpay"])
    amount_vnd: int = PydanticField(examples=[52000], description="what is outstanding, from the ledger")
    status: OnlinePaymentStatus
    redirect_url: str = PydanticField(
        examples=["https://sandbox.vnpayment.vn/paymentv2/vpcpay.html?vnp_Amount=..."]
    )
    expires_at: datetime


class PaymentPublic(BaseModel):
    id: uuid.UUID
    provider: str = PydanticField(examples=["vnpay"])
    appointment_id: uuid.UUID | None
    amount_vnd: int = PydanticField(examples=[52000])
    status: OnlinePaymentStatus
    status_vi: str = PydanticField(examples=["Đã thanh toán"])
    status_en: str = PydanticField(examples=["Paid"])
    receipt_no: str | None = PydanticField(
        default=None, examples=["82-BD-01-2026-000042"], description="the receipt of a paid payment"
    )
    created_at: datetime
    updated_at: datetime


class VnpayIpnAnswer(BaseModel):
    """VNPay's expected answer to an IPN, exactly as its integration guide documents it."""

    RspCode: str = PydanticField(examples=["00"])
    Message: str = PydanticField(examples=["Confirm Success"])


class VietQrAnswer(BaseModel):
    """A VietQR bank-transfer code for what is outstanding: the payload to encode and an SVG of it."""

    appointment_id: uuid.UUID
    amount_vnd: int = PydanticField(examples=[52000])
    payload: str = PydanticField(examples=["00020101021238570010A000000727..."])
    svg: str = PydanticField(description="the QR code as an SVG document")
    bank_bin: str = PydanticField(examples=["970405"])
    account_no: str = PydanticField(examples=["1234567890"])
    reference: str = PydanticField(examples=["HS1A2B3C4D"], description="the transfer text to keep")
    note_vi: str
    note_en: str


STATUS_TEXTS: dict[str, tuple[str, str]] = {
    "created": ("Đang chờ thanh toán", "Awaiting payment"),
    "pending": ("Cổng thanh toán đang xử lý", "The gateway is processing it"),
    "succeeded": ("Đã thanh toán", "Paid"),
    "failed": ("Thanh toán không thành công", "Payment failed"),
    "refund_due": ("Đã nhận tiền, sẽ hoàn lại", "Received; to be refunded"),
}
