"""HTTP for online payments (VNPay) and VietQR codes (issue 21)."""

import html
import uuid
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal, provide_principal, requires
from backend.lib.clientip import caller_ip
from backend.lib.openapi import CITIZEN_APP, PARTNERS, problems
from backend.lib.problems import Problem, base_url
from backend.money.online import payments
from backend.money.online.vietqr_service import vietqr_for
from backend.settings import Settings
from schemas.enums import Role
from schemas.payments import STATUS_TEXTS, PaymentPublic, PaymentStart, VietQrAnswer, VnpayIpnAnswer


def _settings(request: Request[Any, Any, Any]) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


class PaymentsController(Controller):
    path = "/"
    dependencies = {"principal": Provide(provide_principal)}

    @post(
        "/appointments/{appointment_id:uuid}/payments",
        guards=[requires(Role.citizen)],
        tags=[CITIZEN_APP],
        summary="Start an online payment",
        description="Citizen only, for their own appointment. Creates a VNPay payment of what is outstanding on "
        "the appointment in the ledger (the amount is never taken from the client) and answers the gateway "
        "URL to send the citizen to. The payment's state changes only when VNPay's IPN arrives; poll "
        "`GET /payments/{id}`. 409 `appointment_cancelled` or `nothing_due`; 503 `payments_unconfigured`.",
        responses=problems(404, 409, 503),
        status_code=201,
    )
    async def start_payment(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        appointment_id: FromPath[uuid.UUID],
    ) -> PaymentStart:
        return await payments.start(
            db_session,
            _settings(request),
            principal,
            appointment_id,
            client_ip=caller_ip(request),
            base_url=base_url(request),
        )

    @get(
        "/payments/{payment_id:uuid}",
        guards=[requires(Role.citizen)],
        tags=[CITIZEN_APP],
        summary="Get an online payment",
        description="Citizen only, their own payment: amount and state (created, pending, succeeded, failed, "
        "refund_due), as the gateway's notifications set it.",
        responses=problems(404),
    )
    async def get_payment(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        payment_id: FromPath[uuid.UUID],
    ) -> PaymentPublic:
        return await payments.get(db_session, principal, payment_id)

    @get(
        "/appointments/{appointment_id:uuid}/vietqr",
        guards=[requires(Role.citizen, Role.courier, Role.dispatcher, Role.desk, Role.admin)],
        tags=[CITIZEN_APP],
        summary="Get a VietQR transfer code",
        description="A VietQR (NAPAS 247) bank-transfer code for what is outstanding on the appointment, as the "
        "EMVCo payload and an SVG, for the app or the courier at the door; whoever may see the appointment may "
        "ask. It carries no personal data. Staff confirm the transfer when it arrives (a bank_transfer "
        "collection). 409 `appointment_cancelled` or `nothing_due`; 503 `payments_unconfigured`.",
        responses=problems(404, 409, 503),
    )
    async def get_vietqr(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        appointment_id: FromPath[uuid.UUID],
    ) -> VietQrAnswer:
        return await vietqr_for(db_session, _settings(request), principal, appointment_id)


class VnpayController(Controller):
    path = "/payments/vnpay"

    @get(
        "/ipn",
        exclude_from_auth=True,
        tags=[PARTNERS],
        summary="VNPay IPN",
        description="Called by VNPay (Instant Payment Notification), public and checked by its HMAC-SHA512 "
        "`vnp_SecureHash`. Answers 200 with `RspCode`/`Message` as VNPay's guide documents: 00 Confirm "
        "Success, 01 Order not found, 02 Order already confirmed, 04 invalid amount, 97 Invalid signature, "
        "99 Unknow error. Idempotent: a repeated or late notification changes nothing and answers 02.",
    )
    async def vnpay_ipn(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> VnpayIpnAnswer:
        params = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
        try:
            gateway = payments.provider(_settings(request))
        except Problem:  # unconfigured: VNPay cannot have signed anything for us
            return VnpayIpnAnswer(RspCode="99", Message="Unknow error")
        answer = await payments.handle_ipn(db_session, gateway, params, caller_ip(request))
        return VnpayIpnAnswer(**answer)

    @get(
        "/return",
        exclude_from_auth=True,
        media_type=MediaType.HTML,
        tags=[CITIZEN_APP],
        summary="VNPay return page",
        description="Where VNPay sends the payer's browser after paying. Checks the signature, then shows the "
        "payment's state as VNPay's IPN recorded it (never the browser's parameters), Vietnamese then English; "
        "no personal data. 400 `payment_bad_signature`.",
        responses=problems(400, 404, 503),
    )
    async def vnpay_return(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Response[str]:
        params = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
        payment = await payments.for_return(db_session, _settings(request), params)
        vi, en = STATUS_TEXTS[payment.status]
        amount = f"{payment.amount_vnd:,}".replace(",", ".")
        page = (
            '<!doctype html><html lang="vi"><meta charset="utf-8"><title>Thanh toán / Payment</title>'
            f"<h1>{html.escape(vi)} / {html.escape(en)}</h1><p>Số tiền / Amount: {amount} đ</p>"
            "<p>Trạng thái theo thông báo của cổng thanh toán / State as the gateway notified it.</p></html>"
        )
        return Response(page, media_type=MediaType.HTML, headers={"Cache-Control": "no-store"})


ROUTES = [PaymentsController, VnpayController]
