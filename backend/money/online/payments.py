"""Online payments: start one for what a citizen owes on an appointment, and take the gateway's IPN.

The amount is what the ledger says is outstanding on the appointment (its lines on the citizen's receivable),
never what a client sends. The payment's state changes only from a signed IPN (``handle_ipn``), in one
transaction with its ``online_payment_event`` row and, for a success, the ledger's ``paid_online`` entry
(Dr ``clearing:{provider}`` / Cr ``receivable:citizen:{id}``, key ``{provider}:{ref}:{provider txn}``).

Rules of the IPN (VNPay's guide, backend/money/online/vnpay.py): the signature first (97), then the payment
(01), the amount (04), then whether it is already decided (02). A success is final: a later failure, or the
same success again, changes nothing (02, and the notification is kept as an event). Money that arrives for a
cancelled visit or beyond what is owed is still posted (the gateway holds it) and the payment becomes
``refund_due``: the citizen's receivable shows the credit until a refund is posted. Concurrent IPNs of one
payment are serialised on its row (``FOR UPDATE`` on PostgreSQL; SQLite's single writer), and the ledger's
idempotency key stops a second posting even so.
"""

import logging
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal
from backend.lib.problems import Problem, not_found
from backend.money import accounts, dues, exemptions, ledger, receipts
from backend.money.online.base import (
    InvalidSignature,
    MalformedNotification,
    Notification,
    PaymentOutcome,
    PaymentProvider,
    PaymentRequest,
)
from backend.money.online.vnpay import VnpayProvider
from backend.settings import Settings
from notifications import outbox
from schemas.base import utcnow
from schemas.booking import Appointment, AppointmentStatus
from schemas.enums import Role
from schemas.money import LedgerLine, LedgerTxn, PaymentMethod, TxnKind
from schemas.payments import (
    STATUS_TEXTS,
    OnlinePayment,
    OnlinePaymentEvent,
    OnlinePaymentStatus,
    PaymentPublic,
    PaymentStart,
)

log = logging.getLogger(__name__)
IPN_PATH = "/api/v1/payments/vnpay/ipn"
RETURN_PATH = "/api/v1/payments/vnpay/return"
SETTLED = frozenset({OnlinePaymentStatus.succeeded, OnlinePaymentStatus.refund_due})


def provider(settings: Settings) -> VnpayProvider:
    if not (settings.vnpay_tmn_code and settings.vnpay_hash_secret):
        raise Problem(
            503,
            "Thanh toán trực tuyến chưa được cấu hình / Online payment is not configured",
            code="payments_unconfigured",
        )
    return VnpayProvider(settings.vnpay_tmn_code, settings.vnpay_hash_secret, settings.vnpay_payment_url)


async def lock_appointment(session: AsyncSession, appointment_id: uuid.UUID) -> Appointment | None:
    """The appointment, its row locked on PostgreSQL: collections and IPNs of one visit take turns."""
    stmt = select(Appointment).where(Appointment.id == appointment_id).with_for_update()
    return (await session.exec(stmt)).first()


async def owed(session: AsyncSession, appt: Appointment) -> int:
    """What the citizen owes on this appointment without writing anything: the booking's quote until money
    first touches the visit (then ``dues.post_due`` posts it), the ledger afterwards."""
    if await ledger.find(session, f"due:{appt.id}") is None:
        agency, postal = dues.quote_parts(appt)
        waived = exemptions.applied(appt)
        return agency + postal - (int(waived["amount_vnd"]) if waived else 0)
    return await outstanding(session, appt)


async def outstanding(session: AsyncSession, appt: Appointment) -> int:
    """What the citizen still owes on this appointment in the ledger: its lines on the citizen's receivable."""
    stmt = (
        select(func.coalesce(func.sum(LedgerLine.amount_vnd), 0))
        .join(LedgerTxn, col(LedgerTxn.id) == col(LedgerLine.txn_id))
        .where(LedgerLine.account == accounts.receivable(appt.citizen_id))
        .where(LedgerTxn.appointment_id == appt.id)
    )
    return int((await session.exec(stmt)).one())


def _event(
    session: AsyncSession,
    payment: OnlinePayment,
    type_: str,
    *,
    actor_role: str,
    actor_id: uuid.UUID | None,
    place: str,
    data: dict[str, Any],
) -> OnlinePaymentEvent:
    payment.version += 1
    payment.updated_at = utcnow()
    event = OnlinePaymentEvent(
        payment_id=payment.id,
        seq=payment.version,
        type=type_,
        actor_role=actor_role,
        actor_id=actor_id,
        place=place[:60],
        data=data,
    )
    session.add(payment)
    session.add(event)
    return event


def public(payment: OnlinePayment, receipt_no: str | None = None) -> PaymentPublic:
    vi, en = STATUS_TEXTS[payment.status]
    return PaymentPublic(
        id=payment.id,
        provider=payment.provider,
        appointment_id=payment.appointment_id,
        amount_vnd=payment.amount_vnd,
        status=OnlinePaymentStatus(payment.status),
        status_vi=vi,
        status_en=en,
        receipt_no=receipt_no,
        created_at=payment.created_at,
        updated_at=payment.updated_at,
    )


async def start(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    appointment_id: uuid.UUID,
    *,
    client_ip: str,
    base_url: str,
) -> PaymentStart:
    """A payment of what is outstanding on the citizen's own appointment, and the gateway's URL for it."""
    appt = await lock_appointment(session, appointment_id)
    if appt is None or principal.role != Role.citizen or appt.citizen_id != principal.id:
        raise not_found("lịch hẹn / appointment", appointment_id)
    if appt.status == AppointmentStatus.cancelled:
        raise Problem(409, "Lịch hẹn đã hủy / The appointment is cancelled", code="appointment_cancelled")
    if await owed(session, appt) <= 0:
        raise Problem(409, "Không còn khoản nào phải trả / Nothing is owed", code="nothing_due")
    gateway = provider(settings)  # after the access checks: an unconfigured service hides no record
    await dues.post_due(session, appt, actor_id=principal.id, actor_role="citizen")  # money touches the visit
    amount = await outstanding(session, appt)
    now = utcnow()
    payment = OnlinePayment(
        provider=gateway.name,
        reference="",
        citizen_id=appt.citizen_id,
        appointment_id=appt.id,
        amount_vnd=amount,
        status=OnlinePaymentStatus.created,
        expires_at=now + timedelta(minutes=settings.vnpay_expire_min),
        version=0,
    )
    payment.reference = payment.id.hex
    request = PaymentRequest(
        amount_vnd=amount,
        reference=payment.reference,
        order_info=f"Thanh toan phi ho so lich hen {str(appt.id)[:8]}",
        return_url=base_url + RETURN_PATH,
        client_ip=client_ip,
        created_at=now,
        expires_at=payment.expires_at,
    )
    url = gateway.payment_url(request)
    data = {"amount_vnd": amount, "ip": client_ip}
    _event(
        session, payment, "created", actor_role="citizen", actor_id=principal.id, place="online", data=data
    )
    await session.commit()
    return PaymentStart(
        id=payment.id,
        provider=payment.provider,
        amount_vnd=amount,
        status=OnlinePaymentStatus.created,
        redirect_url=url,
        expires_at=payment.expires_at,
    )


async def get(session: AsyncSession, principal: Principal, payment_id: uuid.UUID) -> PaymentPublic:
    payment = await session.get(OnlinePayment, payment_id)
    if payment is None or principal.role != Role.citizen or payment.citizen_id != principal.id:
        raise not_found("thanh toán / payment", payment_id)
    txn = await session.get(LedgerTxn, payment.ledger_txn_id) if payment.ledger_txn_id else None
    return public(payment, txn.receipt_no if txn is not None else None)


def _record(notification: Notification) -> dict[str, Any]:
    return {
        "outcome": notification.outcome.value,
        "amount_vnd": notification.amount_vnd,
        "provider_txn": notification.provider_txn,
        "provider_code": notification.provider_code,
        "bank_code": notification.bank_code,
        "paid_at": notification.paid_at,
    }


async def handle_ipn(
    session: AsyncSession, gateway: PaymentProvider, params: Mapping[str, str], place: str
) -> dict[str, str]:
    """Take one IPN; the answer code as the provider's guide wants it. Commits what it records."""
    try:
        n = gateway.verify(params)
    except InvalidSignature:
        log.warning("%s IPN with a bad signature from %s", gateway.name, place)
        return gateway.ipn_answer("97")
    except MalformedNotification as e:
        log.warning("%s IPN malformed from %s: %s", gateway.name, place, e)
        return gateway.ipn_answer("99")
    stmt = select(OnlinePayment).where(OnlinePayment.reference == n.reference).with_for_update()
    payment = (await session.exec(stmt)).first()
    if payment is None or payment.provider != gateway.name:
        return gateway.ipn_answer("01")
    code = await _apply(session, gateway.name, payment, n, place)
    await session.commit()
    return gateway.ipn_answer(code)


async def _apply(
    session: AsyncSession, provider_name: str, payment: OnlinePayment, n: Notification, place: str
) -> str:
    seen = _record(n)
    role = provider_name[:20]
    if n.amount_vnd != payment.amount_vnd:
        _event(session, payment, "amount_mismatch", actor_role=role, actor_id=None, place=place, data=seen)
        return "04"
    if payment.status in SETTLED or (
        payment.status == OnlinePaymentStatus.failed and n.outcome is not PaymentOutcome.succeeded
    ):
        kind = "duplicate" if n.outcome is PaymentOutcome.succeeded else "late_notification"
        _event(session, payment, kind, actor_role=role, actor_id=None, place=place, data=seen)
        return "02"
    payment.provider_txn = (n.provider_txn or "")[:40] or None
    payment.provider_code = n.provider_code[:20]
    if n.outcome is PaymentOutcome.failed:
        payment.status = OnlinePaymentStatus.failed
        _event(session, payment, "failed", actor_role=role, actor_id=None, place=place, data=seen)
        return "00"
    if n.outcome is PaymentOutcome.pending:
        payment.status = OnlinePaymentStatus.pending
        _event(session, payment, "pending", actor_role=role, actor_id=None, place=place, data=seen)
        return "00"
    await _paid(session, provider_name, payment, n, place, seen)
    return "00"


async def _paid(
    session: AsyncSession,
    provider_name: str,
    payment: OnlinePayment,
    n: Notification,
    place: str,
    seen: dict[str, Any],
) -> None:
    """A success: post the money in and settle the payment (refund due if the visit no longer wants it)."""
    appt = await lock_appointment(session, payment.appointment_id) if payment.appointment_id else None
    if appt is not None and appt.status not in (AppointmentStatus.cancelled, AppointmentStatus.no_show):
        # what is owed counts the visit's due: posted at booking, or now for a visit booked before that
        await dues.post_due(session, appt, actor_id=None, actor_role=provider_name[:20])
    left = await outstanding(session, appt) if appt is not None else 0
    cancelled = appt is None or appt.status == AppointmentStatus.cancelled
    refund = payment.amount_vnd if cancelled else max(0, payment.amount_vnd - max(0, left))
    payment.status = OnlinePaymentStatus.refund_due if refund else OnlinePaymentStatus.succeeded
    data = {**seen, "owed_before_vnd": left, "refund_vnd": refund}
    office = await dues.office_code(session, appt) if appt is not None else "online"
    at = utcnow()
    receipt_no = await receipts.allocate(session, office, at)  # in this transaction: no gap if rolled back
    event = _event(
        session, payment, payment.status, actor_role=provider_name[:20], actor_id=None, place=place, data=data
    )
    txn = await ledger.post(
        session,
        ledger.Posting(
            kind=TxnKind.paid_online,
            lines=(
                ledger.Line(accounts.clearing(provider_name), payment.amount_vnd),
                ledger.Line(accounts.receivable(payment.citizen_id), -payment.amount_vnd),
            ),
            idempotency_key=f"{provider_name}:{payment.reference}:{n.provider_txn or '-'}"[:120],
            actor_id=None,
            actor_role=provider_name[:20],
            place="online",
            dossier_id=payment.dossier_id,
            appointment_id=payment.appointment_id,
            payer=str(payment.citizen_id),
            method=PaymentMethod.online_vnpay,
            receipt_no=receipt_no,
            source_event=event.id,
            memo="refund due" if refund else None,
            at=at,
        ),
    )
    payment.ledger_txn_id = txn.id
    # the receipt in the citizen's inbox and as a push, through the outbox in this transaction
    outbox.enqueue(
        session,
        recipient_kind="citizen",
        recipient_id=payment.citizen_id,
        template="money.receipt",
        params={
            "receipt_no": receipt_no,
            "amount": f"{payment.amount_vnd:,}".replace(",", "."),
            "appointment_id": payment.appointment_id,
        },
        dedupe_key=f"receipt:{receipt_no}",
    )


async def for_return(session: AsyncSession, settings: Settings, params: Mapping[str, str]) -> OnlinePayment:
    """The payment a browser return names, if its signature holds; its state is the stored one (from IPNs)."""
    if not params.get("vnp_SecureHash") or not params.get("vnp_TxnRef"):
        raise Problem(400, "Thiếu chữ ký / The return is not signed", code="payment_bad_signature")
    try:
        n = provider(settings).verify(params)
    except (InvalidSignature, MalformedNotification):
        raise Problem(
            400, "Chữ ký không hợp lệ / The return's signature is not valid", code="payment_bad_signature"
        ) from None
    payment = (
        await session.exec(select(OnlinePayment).where(OnlinePayment.reference == n.reference))
    ).first()
    if payment is None:
        raise not_found("thanh toán / payment", n.reference)
    return payment
