"""A fake VNPay payment gateway on 127.0.0.1 for tests and benchmarks, speaking VNPay 2.1.0 as its guide
documents it (https://sandbox.vnpayment.vn/apis/docs/huong-dan-tich-hop/).

``GET /paymentv2/vpcpay.html?...`` is the payment page a payer's browser is sent to: it checks what VNPay checks
(the HMAC-SHA512 ``vnp_SecureHash`` over the sorted, form-encoded parameters without the hash fields, version
2.1.0, command ``pay``, our terminal code, currency VND, a whole amount × 100, the dates as yyyyMMddHHmmss) and
keeps the order; a bad request gets a 400 page naming the failed check (``last_error``). The gateway's side
of the IPN is ``ipn(...)``: the signed parameters VNPay would send for an order (success, failure, another
amount, a tampered copy), computed here from the guide, not by the service's adapter; a test sends them with
``send_ipn`` to the service's IPN URL and reads the JSON answer.
"""

import hashlib
import hmac
import itertools
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlsplit

import httpx

PATH = "/paymentv2/vpcpay.html"
IPN_PATH = "/api/v1/payments/vnpay/ipn"
DATE = re.compile(r"^\d{14}$")


def _hash(secret: str, params: dict[str, str]) -> str:
    fields = sorted(
        (k, v) for k, v in params.items() if k not in ("vnp_SecureHash", "vnp_SecureHashType") and v
    )
    data = "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in fields)
    return hmac.new(secret.encode(), data.encode(), hashlib.sha512).hexdigest()


@dataclass
class FakeVnpay:
    tmn_code: str = "HOSOTEST"
    hash_secret: str = "fake-vnpay-hash-secret-0123456789ABCDEF"
    orders: dict[str, dict[str, str]] = field(default_factory=dict)  # vnp_TxnRef -> the payment URL's params
    last_error: str | None = None
    _txn_numbers: "itertools.count[int]" = field(default_factory=lambda: itertools.count(14_000_001))
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}{PATH}"

    def check(self, params: dict[str, str]) -> str | None:
        """The first check a payment URL fails, or None."""
        if not hmac.compare_digest(params.get("vnp_SecureHash", ""), _hash(self.hash_secret, params)):
            return "Sai chữ ký (97)"
        wanted = {
            "vnp_Version": "2.1.0",
            "vnp_Command": "pay",
            "vnp_TmnCode": self.tmn_code,
            "vnp_CurrCode": "VND",
        }
        for key, value in wanted.items():
            if params.get(key) != value:
                return f"{key} must be {value}"
        amount = params.get("vnp_Amount", "")
        if not amount.isdigit() or int(amount) <= 0 or int(amount) % 100 or len(amount) > 12:
            return "vnp_Amount must be a whole VND amount × 100"
        for key in ("vnp_CreateDate", "vnp_ExpireDate"):
            if not DATE.match(params.get(key, "")):
                return f"{key} must be yyyyMMddHHmmss"
        for key in ("vnp_TxnRef", "vnp_OrderInfo", "vnp_ReturnUrl", "vnp_IpAddr"):
            if not params.get(key):
                return f"{key} is required"
        return None

    def ipn(
        self,
        ref: str,
        *,
        success: bool = True,
        amount_vnd: int | None = None,
        response_code: str | None = None,
        txn_no: str | None = None,
    ) -> dict[str, str]:
        """The signed parameters of VNPay's IPN for the order ``ref`` (its amount unless ``amount_vnd``)."""
        order = self.orders[ref]
        code = response_code or ("00" if success else "24")
        params = {
            "vnp_Amount": str(amount_vnd * 100) if amount_vnd is not None else order["vnp_Amount"],
            "vnp_BankCode": "NCB",
            "vnp_CardType": "ATM",
            "vnp_OrderInfo": order["vnp_OrderInfo"],
            "vnp_PayDate": order["vnp_CreateDate"],
            "vnp_ResponseCode": code,
            "vnp_TmnCode": self.tmn_code,
            "vnp_TransactionNo": txn_no or str(next(self._txn_numbers)),
            "vnp_TransactionStatus": "00" if code == "00" else "02",
            "vnp_TxnRef": ref,
        }
        if code == "00":
            params["vnp_BankTranNo"] = "VNP" + params["vnp_TransactionNo"]
        params["vnp_SecureHash"] = _hash(self.hash_secret, params)
        return params

    def sign(self, params: dict[str, str]) -> dict[str, str]:
        """Any parameters, signed as the gateway signs (for notifications no order of ours matches)."""
        return {**params, "vnp_SecureHash": _hash(self.hash_secret, params)}

    @staticmethod
    def tampered(params: dict[str, str], **changes: str) -> dict[str, str]:
        """A copy with fields changed and the signature left as it was."""
        return {**params, **changes}

    async def send_ipn(self, client: httpx.AsyncClient, params: dict[str, str]) -> dict[str, Any]:
        r = await client.get(IPN_PATH, params=params)
        r.raise_for_status()
        answer: dict[str, Any] = r.json()
        return answer

    def pay(self, url: str) -> str:
        """What the payer's browser does: open the payment URL (over TCP); the order's reference."""
        r = httpx.get(url, timeout=10)
        if r.status_code != 200:
            raise AssertionError(f"the gateway refused the payment URL: {r.text}")
        return dict(parse_qsl(urlsplit(url).query))["vnp_TxnRef"]

    def start(self) -> "FakeVnpay":
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                params = dict(parse_qsl(parts.query, keep_blank_values=True))
                error = "not found" if parts.path != PATH else gateway.check(params)
                with gateway._lock:
                    gateway.last_error = error
                    if error is None:
                        gateway.orders[params["vnp_TxnRef"]] = params
                body = (error or "Cổng thanh toán VNPAY (giả lập): chọn ngân hàng").encode()
                self.send_response(400 if error else 200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
