"""VNPay payment gateway adapter (Cổng thanh toán VNPAY), API version 2.1.0.

Follows VNPay's integration guide "Hướng dẫn tích hợp Cổng thanh toán VNPAY" and "Chuyển đổi phiên bản và
thuật toán mã hóa" (https://sandbox.vnpayment.vn/apis/docs/huong-dan-tich-hop/ and
https://sandbox.vnpayment.vn/apis/docs/chuyen-doi-thuat-toan/changeTypeHash.html):

* Payment URL: ``{base}?{query}&vnp_SecureHash={hash}`` (sandbox base
  ``https://sandbox.vnpayment.vn/paymentv2/vpcpay.html``, GET). Parameters vnp_Version=2.1.0, vnp_Command=pay,
  vnp_TmnCode, vnp_Amount (VND × 100, no separators), vnp_CurrCode=VND, vnp_TxnRef, vnp_OrderInfo (no
  accents), vnp_OrderType, vnp_Locale, vnp_ReturnUrl, vnp_IpAddr, vnp_CreateDate and vnp_ExpireDate
  (yyyyMMddHHmmss in GMT+7). The query is the parameters sorted by name, each name and value URL-encoded as
  a form value (space as ``+``, as the guide's examples' ``urlencode``/``quote_plus``); vnp_SecureHash is the
  lower-case hex HMAC-SHA512 of exactly that query string with the merchant's hash secret. Version 2.1.0
  sends no vnp_SecureHashType.
* IPN (and the browser return): the same hash over every ``vnp_`` parameter except vnp_SecureHash and
  vnp_SecureHashType, sorted and encoded the same way. The merchant answers with JSON
  ``{"RspCode": ..., "Message": ...}``: 00 Confirm Success, 01 Order not found, 02 Order already confirmed,
  04 invalid amount, 97 Invalid signature, 99 Unknow error (VNPay's spelling).
* The result is a success only when vnp_ResponseCode = 00 and vnp_TransactionStatus = 00. The guide's table
  of vnp_TransactionStatus: 00 success, 01 not finished, 02 error, 04 reversed (charged at the bank, not
  completed at VNPAY), 05 refund in progress, 06 refund sent to the bank, 07 suspected fraud, 09 refund
  refused. The mapping to our outcome is the data table ``STATUS_OUTCOMES``; an unknown code is ``pending``
  (fail closed: never paid on a code we do not know).
"""

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import quote_plus

from backend.money.online.base import (
    InvalidSignature,
    MalformedNotification,
    Notification,
    PaymentOutcome,
    PaymentRequest,
)

VERSION = "2.1.0"
SANDBOX_URL = "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html"
GMT7 = timezone(timedelta(hours=7))
HASH_FIELDS_EXCLUDED = frozenset({"vnp_SecureHash", "vnp_SecureHashType"})
MAX_AMOUNT_VND = 1_000_000_000  # the ledger's bound; vnp_Amount is Numeric[1,12] after ×100

# vnp_TransactionStatus -> our outcome (the guide's table). Anything else: pending.
STATUS_OUTCOMES: Mapping[str, PaymentOutcome] = {
    "00": PaymentOutcome.succeeded,
    "01": PaymentOutcome.pending,
    "02": PaymentOutcome.failed,
    "04": PaymentOutcome.pending,  # reversed: charged at the bank, not completed; VNPay settles it
    "05": PaymentOutcome.pending,
    "06": PaymentOutcome.pending,
    "07": PaymentOutcome.pending,  # suspected fraud: held, never counted as paid
    "09": PaymentOutcome.pending,
}

# Our answer codes for the IPN, exactly as the guide writes them.
IPN_ANSWERS: Mapping[str, str] = {
    "00": "Confirm Success",
    "01": "Order not found",
    "02": "Order already confirmed",
    "04": "invalid amount",
    "97": "Invalid signature",
    "99": "Unknow error",
}


def gmt7(at: datetime) -> str:
    """yyyyMMddHHmmss in GMT+7, as vnp_CreateDate and vnp_ExpireDate want."""
    if at.tzinfo is None:
        raise ValueError("an aware datetime is needed")
    return at.astimezone(GMT7).strftime("%Y%m%d%H%M%S")


def encode(params: Mapping[str, str]) -> str:
    """The guide's query string: sorted by name, names and values form-encoded."""
    return "&".join(f"{quote_plus(k)}={quote_plus(str(params[k]))}" for k in sorted(params))


def secure_hash(secret: str, params: Mapping[str, str]) -> str:
    data = encode({k: v for k, v in params.items() if k not in HASH_FIELDS_EXCLUDED and v != ""})
    return hmac.new(secret.encode(), data.encode(), hashlib.sha512).hexdigest()


def outcome_of(response_code: str, transaction_status: str) -> PaymentOutcome:
    outcome = STATUS_OUTCOMES.get(transaction_status, PaymentOutcome.pending)
    if outcome is PaymentOutcome.succeeded and response_code != "00":
        return PaymentOutcome.pending  # the two codes disagree: hold, never paid
    return outcome


@dataclass(frozen=True)
class VnpayProvider:
    tmn_code: str
    hash_secret: str
    base_url: str = SANDBOX_URL
    name: str = "vnpay"

    def payment_params(self, request: PaymentRequest) -> dict[str, str]:
        if isinstance(request.amount_vnd, bool) or not 0 < request.amount_vnd <= MAX_AMOUNT_VND:
            raise ValueError(f"amount must be 1..{MAX_AMOUNT_VND} VND, got {request.amount_vnd!r}")
        return {
            "vnp_Version": VERSION,
            "vnp_Command": "pay",
            "vnp_TmnCode": self.tmn_code,
            "vnp_Amount": str(request.amount_vnd * 100),
            "vnp_CurrCode": "VND",
            "vnp_TxnRef": request.reference,
            "vnp_OrderInfo": request.order_info,
            "vnp_OrderType": "other",
            "vnp_Locale": request.locale,
            "vnp_ReturnUrl": request.return_url,
            "vnp_IpAddr": request.client_ip,
            "vnp_CreateDate": gmt7(request.created_at),
            "vnp_ExpireDate": gmt7(request.expires_at),
        }

    def payment_url(self, request: PaymentRequest) -> str:
        params = self.payment_params(request)
        return f"{self.base_url}?{encode(params)}&vnp_SecureHash={secure_hash(self.hash_secret, params)}"

    def sign(self, params: Mapping[str, str]) -> dict[str, str]:
        """``params`` with its vnp_SecureHash (what the gateway does to what it sends; used by the fake)."""
        return {**params, "vnp_SecureHash": secure_hash(self.hash_secret, params)}

    def verify(self, params: Mapping[str, str]) -> Notification:
        given = params.get("vnp_SecureHash", "")
        fields = {k: v for k, v in params.items() if k.startswith("vnp_")}
        expected = secure_hash(self.hash_secret, fields)
        if not given or not hmac.compare_digest(given.lower(), expected):
            raise InvalidSignature
        try:
            raw_amount = params["vnp_Amount"]
            reference = params["vnp_TxnRef"]
            response_code = params["vnp_ResponseCode"]
            status = params.get("vnp_TransactionStatus", response_code)
        except KeyError as e:
            raise MalformedNotification(f"missing {e.args[0]}") from None
        if params.get("vnp_TmnCode", self.tmn_code) != self.tmn_code:
            raise MalformedNotification("another merchant's notification")
        if not raw_amount.isdigit() or len(raw_amount) > 15 or int(raw_amount) % 100:
            raise MalformedNotification("vnp_Amount is not a whole VND amount × 100")
        return Notification(
            reference=reference,
            amount_vnd=int(raw_amount) // 100,
            outcome=outcome_of(response_code, status),
            provider_txn=params.get("vnp_TransactionNo") or None,
            provider_code=f"{response_code}/{status}",
            bank_code=params.get("vnp_BankCode") or None,
            paid_at=params.get("vnp_PayDate") or None,
        )

    def ipn_answer(self, code: str) -> dict[str, str]:
        return {"RspCode": code, "Message": IPN_ANSWERS[code]}
