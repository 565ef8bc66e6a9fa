"""The VNPay 2.1.0 adapter: payment URL, secure hash, IPN verification and the result-code table."""

import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import pytest

from backend.money.online.base import InvalidSignature, MalformedNotification, PaymentOutcome, PaymentRequest
from backend.money.online.vnpay import IPN_ANSWERS, VnpayProvider, encode, outcome_of

SECRET = "SECRETKEYSECRETKEYSECRETKEY12345"
P = VnpayProvider(tmn_code="DEMOV210", hash_secret=SECRET)


def request(amount: int = 18060) -> PaymentRequest:
    return PaymentRequest(
        amount_vnd=amount,
        reference="5",
        order_info="Thanh toan don hang :5",
        return_url="https://domainmerchant.vn/ReturnUrl",
        client_ip="127.0.0.1",
        created_at=datetime(2021, 8, 1, 8, 33, 33, tzinfo=UTC),
        expires_at=datetime(2021, 8, 1, 8, 48, 33, tzinfo=UTC),
    )


def test_payment_url_matches_the_guides_example_query() -> None:
    url = P.payment_url(request())
    base, query = url.split("?", 1)
    assert base == "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html"
    unsigned, _, signature = query.rpartition("&vnp_SecureHash=")
    # the guide's example URL, same parameters (plus the expiry), sorted and form-encoded
    assert unsigned == (
        "vnp_Amount=1806000&vnp_Command=pay&vnp_CreateDate=20210801153333&vnp_CurrCode=VND"
        "&vnp_ExpireDate=20210801154833&vnp_IpAddr=127.0.0.1&vnp_Locale=vn"
        "&vnp_OrderInfo=Thanh+toan+don+hang+%3A5&vnp_OrderType=other"
        "&vnp_ReturnUrl=https%3A%2F%2Fdomainmerchant.vn%2FReturnUrl&vnp_TmnCode=DEMOV210&vnp_TxnRef=5"
        "&vnp_Version=2.1.0"
    )
    assert signature == hmac.new(SECRET.encode(), unsigned.encode(), hashlib.sha512).hexdigest()
    assert len(signature) == 128


def ipn(**over: str) -> dict[str, str]:
    params = {
        "vnp_Amount": "1806000",
        "vnp_BankCode": "NCB",
        "vnp_BankTranNo": "VNP13559912",
        "vnp_CardType": "ATM",
        "vnp_OrderInfo": "Thanh toan don hang :5",
        "vnp_PayDate": "20210801153800",
        "vnp_ResponseCode": "00",
        "vnp_TmnCode": "DEMOV210",
        "vnp_TransactionNo": "13559912",
        "vnp_TransactionStatus": "00",
        "vnp_TxnRef": "5",
    }
    params.update(over)
    return P.sign(params)


def test_verify_success() -> None:
    n = P.verify(ipn())
    assert (n.reference, n.amount_vnd, n.outcome, n.provider_txn) == (
        "5",
        18060,
        PaymentOutcome.succeeded,
        "13559912",
    )


def test_hash_type_is_not_hashed() -> None:
    assert P.verify({**ipn(), "vnp_SecureHashType": "HmacSHA512"}).outcome is PaymentOutcome.succeeded


def test_the_hash_is_over_the_encoded_sorted_query() -> None:
    params = ipn()
    given = params.pop("vnp_SecureHash")
    assert given == hmac.new(SECRET.encode(), encode(params).encode(), hashlib.sha512).hexdigest()
    assert encode({"b": "x y", "a": "đ"}) == "a=%C4%91&b=x+y"


@pytest.mark.parametrize("field", ["vnp_Amount", "vnp_TxnRef", "vnp_ResponseCode", "vnp_TransactionStatus"])
def test_tampered_field_fails(field: str) -> None:
    params = ipn()
    params[field] = params[field] + "1"
    with pytest.raises(InvalidSignature):
        P.verify(params)


def test_other_secret_and_missing_hash_fail() -> None:
    other = VnpayProvider(tmn_code="DEMOV210", hash_secret="another")
    with pytest.raises(InvalidSignature):
        other.verify(ipn())
    params = ipn()
    del params["vnp_SecureHash"]
    with pytest.raises(InvalidSignature):
        P.verify(params)


def test_signed_but_malformed() -> None:
    with pytest.raises(MalformedNotification):
        P.verify(ipn(vnp_Amount="1806050"))  # not whole VND
    with pytest.raises(MalformedNotification):
        P.verify(ipn(vnp_TmnCode="OTHER001"))
    params = ipn()
    del params["vnp_TxnRef"]
    with pytest.raises(MalformedNotification):
        P.verify(P.sign({k: v for k, v in params.items() if k != "vnp_SecureHash"}))


@pytest.mark.parametrize(
    ("response", "status", "outcome"),
    [
        ("00", "00", PaymentOutcome.succeeded),
        ("24", "02", PaymentOutcome.failed),
        ("51", "02", PaymentOutcome.failed),
        ("07", "07", PaymentOutcome.pending),
        ("99", "01", PaymentOutcome.pending),
        ("24", "00", PaymentOutcome.pending),  # disagreeing codes: never paid
        ("00", "42", PaymentOutcome.pending),  # unknown code: never paid
    ],
)
def test_outcome_table(response: str, status: str, outcome: PaymentOutcome) -> None:
    assert outcome_of(response, status) is outcome


def test_ipn_answers_as_documented() -> None:
    assert P.ipn_answer("00") == {"RspCode": "00", "Message": "Confirm Success"}
    assert set(IPN_ANSWERS) == {"00", "01", "02", "04", "97", "99"}


@pytest.mark.parametrize("amount", [0, -1, 1_000_000_001])
def test_amount_bounds(amount: int) -> None:
    with pytest.raises(ValueError):
        P.payment_url(request(amount))


def test_dates_in_gmt7() -> None:
    q = dict(parse_qsl(urlsplit(P.payment_url(request())).query))
    assert q["vnp_CreateDate"] == "20210801153333"
