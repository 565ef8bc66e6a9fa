"""The money API's request bodies and answers (issue 21): collections at the door, receipts, cash-ups,
remittances and the reports. Amounts are integer VND; instants are shown in Vietnam time (+07:00)."""

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PField

from schemas.base import Instant

VND = PField(description="VND (integer đồng)", examples=[35000])
RECEIPT_NO = PField(
    description="receipt number: the office's code, the year and a gapless sequence of that office and year",
    examples=["82-BD-01-2026-000123"],
)
OFFICE = PField(description="post office code", examples=["82-BD-01"])


class CollectIn(BaseModel):
    """Money taken by the courier at a visit (pickup: fee + lệ phí + postal charge; result delivery: what is
    still due). ``client_event_id`` is the device's id of the action: a replay never collects twice."""

    client_event_id: str = PField(min_length=1, max_length=64, examples=["dev-7f3a-0101"])
    appointment_id: uuid.UUID
    amount_vnd: int = PField(
        description="VND; 1 … 1,000,000,000 and at most what is still due", examples=[35000]
    )
    method: str = PField(
        max_length=20,
        description="cash_door (cash), bank_transfer (e.g. a VietQR shown at the door) or online_vnpay "
        "(already paid online: nothing is collected, the answer says what is still due)",
        examples=["cash_door"],
    )
    client_at: Instant | None = PField(default=None, description="the device's time of the collection")


class CollectionOut(BaseModel):
    client_event_id: str = PField(examples=["dev-7f3a-0101"])
    appointment_id: uuid.UUID
    accepted: bool = PField(examples=[True])
    duplicate: bool = PField(description="a replay of an earlier collection: nothing new", examples=[False])
    receipt_no: str | None = RECEIPT_NO
    amount_vnd: int = VND
    method: str = PField(examples=["cash_door"])
    due_vnd: int = PField(
        description="everything due for the visit (and its dossier's earlier visit)", examples=[35000]
    )
    paid_vnd: int = PField(description="paid so far, this collection included", examples=[35000])
    outstanding_vnd: int = PField(description="still due after it", examples=[0])
    at: datetime | None = PField(default=None, examples=["2026-12-06T09:30:00+07:00"])


class ReceiptLine(BaseModel):
    label_vi: str = PField(examples=["Cước bưu chính"])
    label_en: str = PField(examples=["Postal charge"])
    amount_vnd: int = VND


class ReceiptOut(BaseModel):
    """A receipt (biên lai) as the citizen and the office see it; no phone, no address."""

    receipt_no: str = RECEIPT_NO
    at: datetime = PField(examples=["2026-12-06T09:30:00+07:00"])
    office: str = OFFICE
    office_name: str = PField(examples=["Bưu cục Cao Lãnh"])
    amount_vnd: int = VND
    method: str = PField(examples=["cash_door"])
    appointment_id: uuid.UUID | None = None
    item_id: str | None = PField(
        default=None, description="the dossier's S10 id, if known", examples=["HS123456785VN"]
    )
    collected_by_role: str = PField(examples=["courier"])
    lines: list[ReceiptLine] = PField(description="what the visit's dues were made of")
    print_url: str = PField(
        description="the printable page (HTML, with the QR code of this URL, which also verifies the receipt)",
        examples=["https://hoso.example.vn/receipts/82-BD-01-2026-000123?v=3f9a0c1d2e4b5a69"],
    )


class CashupIn(BaseModel):
    """A courier's declaration at the end of the day: what was counted, by method."""

    day: date | None = PField(
        default=None, description="Vietnam date; default today", examples=["2026-12-06"]
    )
    counted_cash_vnd: int = PField(ge=0, le=1_000_000_000, examples=[350000])
    counted_transfer_vnd: int = PField(default=0, ge=0, le=1_000_000_000, examples=[0])
    note: str | None = PField(default=None, max_length=300, examples=["Thiếu 10.000đ tiền lẻ / 10,000 short"])


class CashupConfirmIn(BaseModel):
    note: str | None = PField(default=None, max_length=300, examples=["Đã kiểm đếm lại / recounted"])


class CashupOut(BaseModel):
    id: uuid.UUID
    office: str = OFFICE
    courier_id: uuid.UUID
    courier_name: str | None = PField(default=None, examples=["Nguyễn Văn An"])
    day: date
    status: str = PField(
        description="pending (courier signed) or confirmed (both signed)", examples=["pending"]
    )
    expected_cash_vnd: int = VND
    expected_transfer_vnd: int = VND
    counted_cash_vnd: int = VND
    counted_transfer_vnd: int = VND
    discrepancy_vnd: int = PField(description="counted − expected cash (negative: short)", examples=[0])
    note: str | None = None
    courier_signed_at: datetime
    dispatcher_id: uuid.UUID | None = None
    dispatcher_signed_at: datetime | None = None


class CourierDay(BaseModel):
    courier_id: uuid.UUID
    courier_name: str | None = PField(default=None, examples=["Nguyễn Văn An"])
    cash_held_vnd: int = PField(
        description="cash in the courier's hands now (from the ledger)", examples=[350000]
    )
    collected_vnd: int = PField(description="collected on the day", examples=[350000])
    cashup: CashupOut | None = None


class OfficeDayOut(BaseModel):
    office: str = OFFICE
    day: date
    couriers: list[CourierDay]
    closable: bool = PField(
        description="every courier holding money or collecting that day has cashed up, "
        "confirmed by the office",
        examples=[False],
    )
    office_cash_vnd: int = PField(description="cash in the office's safe (ledger)", examples=[1200000])
    closed_at: datetime | None = PField(
        default=None, description="when the office's day was closed (Vietnam time); null while open"
    )
    closed_by: uuid.UUID | None = PField(default=None, description="the staff member who closed the day")


class RemittanceCreate(BaseModel):
    agency: str = PField(
        min_length=1, max_length=32, description="the agency's organisation code", examples=["82-SOTP"]
    )
    until: Instant | None = PField(
        default=None, description="money collected before this instant; default now"
    )


class RemittanceItemOut(BaseModel):
    dossier_id: uuid.UUID
    item_id: str | None = PField(default=None, examples=["HS123456785VN"])
    amount_vnd: int = VND


class RemittanceOut(BaseModel):
    id: uuid.UUID
    agency: str = PField(examples=["82-SOTP"])
    office: str | None = PField(
        default=None, description="the office whose money it is; none: all", examples=["82-BD-01"]
    )
    status: str = PField(description="awaiting (sent, not yet confirmed) or confirmed", examples=["awaiting"])
    total_vnd: int = VND
    until: datetime
    created_at: datetime
    confirmed_at: datetime | None = None
    items: list[RemittanceItemOut]


class ReconciliationRow(BaseModel):
    dossier_id: uuid.UUID
    item_id: str | None = None
    collected_vnd: int = VND
    remitted_vnd: int = PField(description="in remittances the agency confirmed", examples=[0])
    awaiting_vnd: int = PField(description="in remittances not yet confirmed", examples=[0])
    held_vnd: int = PField(description="collected and not yet in any remittance", examples=[35000])


class ReconciliationOut(BaseModel):
    """Per agency and period (money collected in it): collected = remitted + awaiting + held, to the đồng."""

    agency: str = PField(examples=["82-SOTP"])
    period_from: date
    period_to: date
    collected_vnd: int = VND
    remitted_vnd: int = VND
    awaiting_vnd: int = VND
    held_vnd: int = VND
    rows: list[ReconciliationRow]


class CashReportRow(BaseModel):
    office: str = OFFICE
    courier_id: uuid.UUID | None = None
    courier_name: str | None = None
    cash_vnd: int = VND
    transfer_vnd: int = VND
    receipts: int = PField(examples=[3])


class CashReportOut(BaseModel):
    day: date
    rows: list[CashReportRow]
    total_cash_vnd: int = VND
    total_transfer_vnd: int = VND


class OutstandingRow(BaseModel):
    appointment_id: uuid.UUID
    office: str = OFFICE
    kind: str = PField(examples=["delivery"])
    start: datetime
    due_vnd: int = VND
    paid_vnd: int = VND
    outstanding_vnd: int = VND


class OutstandingOut(BaseModel):
    rows: list[OutstandingRow]
    total_vnd: int = VND


class RemittanceDueRow(BaseModel):
    agency: str = PField(examples=["82-SOTP"])
    held_vnd: int = VND
    awaiting_vnd: int = VND
    dossiers: int = PField(examples=[4])


class RemittancesDueOut(BaseModel):
    rows: list[RemittanceDueRow]


class CollectionSyncResult(BaseModel):
    """One collection of an offline batch (``/events/batch``): accepted with its receipt, a ``duplicate``
    replay, or rejected with its problem's ``error`` code, ``detail`` and extra fields."""

    model_config = ConfigDict(extra="allow")

    client_event_id: str = PField(examples=["dev-7f3a-0101"])
    accepted: bool
    appointment_id: uuid.UUID | None = None
    duplicate: bool | None = None
    receipt_no: str | None = PField(default=None, examples=["82-BD-01-2026-000123"])
    amount_vnd: int | None = None
    outstanding_vnd: int | None = None
    error: str | None = PField(default=None, examples=["more_than_due"])
    detail: str | None = None


class RefundPayIn(BaseModel):
    """A refund paid out at the office (issue 21: refunded, cancelled visit or refused dossier): what the post
    owes a citizen back (``refund:pending``) handed over in cash at the counter or sent by bank transfer."""

    client_event_id: str = PField(min_length=1, max_length=64, examples=["refund-7f3a-0101"])
    citizen_id: uuid.UUID
    amount_vnd: int = PField(
        description="VND; 1 … 1,000,000,000 and at most what is owed back at this office", examples=[52000]
    )
    method: str = PField(
        max_length=20,
        description="cash_counter (cash at the counter) or bank_transfer",
        examples=["cash_counter"],
    )
    note: str | None = PField(default=None, max_length=200, examples=["Hoàn tiền lịch hẹn đã hủy"])


class RefundPaidOut(BaseModel):
    client_event_id: str = PField(examples=["refund-7f3a-0101"])
    duplicate: bool = PField(description="a replay of an earlier refund: nothing new", examples=[False])
    office: str = OFFICE
    citizen_id: uuid.UUID
    amount_vnd: int = VND
    method: str = PField(examples=["cash_counter"])
    receipt_no: str | None = RECEIPT_NO
    pending_after_vnd: int = PField(description="still owed back to the citizen at this office", examples=[0])
